#!/usr/bin/python3
"""Validate every *.json profile in a directory against the profile schema.

Usage: validate_schema.py DIR [SCHEMA]

SCHEMA defaults to schema/profile.schema.json of this source tree. Prints
each file as it is checked; exits 1 on the first invalid file, 2 on a usage
problem (no directory, no *.json in it: an empty run proves nothing).
"""
import json
import pathlib
import sys

from jsonschema import Draft202012Validator


def main(argv):
    if len(argv) not in (2, 3):
        print(__doc__.strip(), file=sys.stderr)
        return 2
    directory = pathlib.Path(argv[1])
    if len(argv) == 3:
        schema_path = pathlib.Path(argv[2])
    else:
        root = pathlib.Path(__file__).resolve().parents[2]
        schema_path = root / "schema" / "profile.schema.json"
    schema = json.loads(schema_path.read_text())
    Draft202012Validator.check_schema(schema)
    validator = Draft202012Validator(schema)

    if not directory.is_dir():
        print(f"validate_schema: {directory}: not a directory", file=sys.stderr)
        return 2
    files = sorted(directory.glob("*.json"))
    if not files:
        print(f"validate_schema: no *.json in {directory}", file=sys.stderr)
        return 2
    for path in files:
        try:
            doc = json.loads(path.read_text())
        except json.JSONDecodeError as e:
            print(f"{path}: INVALID JSON: {e}")
            return 1
        errors = sorted(validator.iter_errors(doc), key=lambda e: list(e.path))
        if errors:
            print(f"{path}: INVALID")
            for e in errors:
                where = "/".join(str(p) for p in e.absolute_path) or "(root)"
                print(f"  {where}: {e.message}")
            return 1
        print(f"{path}: ok")
    print(f"validate_schema: {len(files)} profiles valid against {schema_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
