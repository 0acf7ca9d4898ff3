#!/usr/bin/env bash
# check_man_help.sh CAPSCOPE MANDIR: the manual pages (docs/man/*.scd) and
# `--help` agree. Every command listed by `capscope --help` has a page
# capscope-COMMAND.8.scd and is listed in capscope.8.scd (and no page or
# listing names a command that does not exist); each page's OPTIONS section
# names exactly the options (short and long) of `capscope COMMAND --help`,
# in both directions. Reads the scdoc sources, so it needs no scdoc.
set -euo pipefail

bin=$1 mandir=$2
errors=0
err() {
  printf 'check_man_help: %s\n' "$*" >&2
  errors=$((errors + 1))
}

# help_options ARGS...: "-f --format ..." of `capscope ARGS --help`, sorted.
help_options() {
  "$bin" "$@" --help | awk '
    /^Options:/ { on = 1; next }
    /^[A-Za-z]/ { on = 0 }
    on && /^  +-/ {
      s = $1
      n = split(s, parts, ",")
      for (i = 1; i <= n; i++) print parts[i]
    }' | sort -u
}

# man_options PAGE: the options named on the term lines (lines starting
# with "*-") of the page's OPTIONS section, sorted.
man_options() {
  awk '
    /^# / { on = ($0 == "# OPTIONS"); next }
    on && /^\*-/ {
      line = $0
      while (match(line, /\*-[-A-Za-z0-9]+\*/)) {
        print substr(line, RSTART + 1, RLENGTH - 2)
        line = substr(line, RSTART + RLENGTH)
      }
    }' "$1" | sort -u
}

# compare WHAT PAGE ARGS...
compare() {
  local what=$1 page=$2
  shift 2
  local h m
  h=$(help_options "$@")
  m=$(man_options "$page")
  [[ -n "$h" ]] || err "$what: --help lists no options"
  while IFS= read -r o; do
    [[ -n "$o" ]] && err "$what: $o is in --help but not in ${page##*/}"
  done < <(comm -23 <(echo "$h") <(echo "$m"))
  while IFS= read -r o; do
    [[ -n "$o" ]] && err "$what: ${page##*/} documents $o, which --help does not have"
  done < <(comm -13 <(echo "$h") <(echo "$m"))
}

commands=$("$bin" --help | awk '/^Subcommands:/ { on = 1; next } /^[A-Za-z]/ { on = 0 } on && /^  +[a-z]/ { print $1 }' | sort)
[[ -n "$commands" ]] || err "capscope --help lists no commands"

compare "capscope" "$mandir/capscope.8.scd"
listed=$(awk '/^# / { on = ($0 == "# COMMANDS"); next } on && /^\*[a-z]+\*$/ { gsub(/\*/, ""); print }' "$mandir/capscope.8.scd" | sort)
[[ "$listed" == "$commands" ]] ||
  err "capscope.8.scd COMMANDS lists [${listed//$'\n'/ }], --help has [${commands//$'\n'/ }]"

for c in $commands; do
  page="$mandir/capscope-$c.8.scd"
  if [[ ! -f "$page" ]]; then
    err "no manual page for command $c (expected ${page##*/})"
    continue
  fi
  [[ "$(head -n 1 "$page")" == "capscope-$c(8)" ]] || err "${page##*/}: first line is not capscope-$c(8)"
  compare "capscope $c" "$page" "$c"
done
for page in "$mandir"/capscope-*.8.scd; do
  c=${page##*/capscope-}
  c=${c%.8.scd}
  grep -qx "$c" <<<"$commands" || err "${page##*/} documents a command $c that --help does not list"
done

if ((errors)); then
  echo "check_man_help: $errors difference(s) between the manual pages and --help" >&2
  exit 1
fi
echo "check_man_help: $(wc -w <<<"$commands") commands, pages and --help agree"
