#!/usr/bin/env python3
"""kernel-btf.py - copy the kernel's own BTF (.BTF, what the kernel serves as
/sys/kernel/btf/vmlinux) out of a kernel image file, offline.

Debian's arm64 linux-image packages ship /boot/vmlinuz as a plain
(or gzip-compressed) arm64 Image: no ELF sections and a stub System.map, so
the BTF is found by its header (magic 0xeb9f, version 1, 24-byte header,
types then strings back to back) and checked whole before it is written.
The result is a raw BTF file bpftool reads (`bpftool btf dump file OUT`):
scripts/vmtest.sh --arch arm64 compiles the arm64 BPF objects against it.

Usage: kernel-btf.py IMAGE OUT
"""
import gzip
import os
import struct
import sys

HEADER = b"\x9f\xeb\x01\x00\x18\x00\x00\x00"  # magic, version 1, flags, hdr_len 24


def find_btf(data):
    found = []
    i = data.find(HEADER)
    while i >= 0:
        type_off, type_len, str_off, str_len = struct.unpack_from("<4I", data, i + 8)
        end = i + 24 + str_off + str_len
        # vmlinux BTF: types at 0, strings right after, a NUL-led string
        # section, and both fit the file.
        if (type_off == 0 and str_off == type_len and type_len > 0
                and str_len > 0 and end <= len(data)
                and data[i + 24 + str_off] == 0):
            found.append(data[i:end])
        i = data.find(HEADER, i + 1)
    return found


def main(argv):
    if len(argv) != 3:
        sys.stderr.write("usage: kernel-btf.py IMAGE OUT\n")
        return 2
    try:
        with open(argv[1], "rb") as f:
            data = f.read()
    except OSError as e:
        sys.stderr.write(f"kernel-btf: {argv[1]}: {e.strerror}\n")
        return 1
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    blobs = find_btf(data)
    if not blobs:
        sys.stderr.write(f"kernel-btf: no BTF in {argv[1]} (CONFIG_DEBUG_INFO_BTF?)\n")
        return 1
    # vmlinux's BTF is by far the largest blob an image carries.
    blob = max(blobs, key=len)
    with open(argv[2] + ".tmp", "wb") as f:
        f.write(blob)
    os.replace(argv[2] + ".tmp", argv[2])
    print(f"kernel-btf: {len(blob)} bytes of BTF from {argv[1]}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
