#!/usr/bin/env bash
# check_completion.sh CAPSCOPE COMPLETIONS_DIR: the shell completions work
# and agree with --help. The bash one is driven as bash would: the file is
# sourced, COMP_WORDS/COMP_CWORD are set, _capscope is called and COMPREPLY
# is checked (commands, each command's options in both directions against
# --help, formats, attach modes, capability lists, the daemon's containers
# from a stand-in `capscope profiles --json` on a real socket, silence when
# no daemon answers). zsh and fish files get `zsh -n`/`fish -n` and must name
# every long option of --help (skipped with a reason when the shell is not
# installed).
set -euo pipefail

bin=$1 dir=$2
errors=0
err() {
  printf 'check_completion: %s\n' "$*" >&2
  errors=$((errors + 1))
}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# shellcheck source=/dev/null
source "$dir/capscope.bash"
complete -p capscope >/dev/null || err "capscope.bash does not register a completion for capscope"

# comp WORD... : candidates (sorted, one a line) for the command line WORDs,
# the last being the word under the cursor.
comp() {
  COMP_WORDS=("$@")
  COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
  COMP_LINE="$*"
  COMP_POINT=${#COMP_LINE}
  COMPREPLY=()
  _capscope capscope "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]:-}"
  ((${#COMPREPLY[@]})) && printf '%s\n' "${COMPREPLY[@]}" | sort -u
  return 0
}
oneline() { tr '\n' ' ' <<<"$1"; }
# expect WHAT EXPECTED ACTUAL
expect() {
  [[ "$2" == "$3" ]] || err "$1: expected [$(oneline "$2")], got [$(oneline "$3")]"
}
# expect_has WHAT NEEDLE ACTUAL
expect_has() {
  grep -qxF -- "$2" <<<"$3" || err "$1: '$2' not among [$(oneline "$3")]"
}

help_options() {
  "$bin" "$@" --help | awk '/^Options:/ { on = 1; next } /^[A-Za-z]/ { on = 0 }
    on && /^  +-/ { n = split($1, p, ","); for (i = 1; i <= n; i++) print p[i] }' | sort -u
}
commands=$("$bin" --help | awk '/^Subcommands:/ { on = 1; next } /^[A-Za-z]/ { on = 0 } on && /^  +[a-z]/ { print $1 }' | sort)

# Commands and top-level options.
expect "capscope <TAB>" "$commands" "$(comp capscope "")"
expect "capscope re<TAB>" "record" "$(comp capscope re)"
expect "capscope -<TAB>" "$(help_options)" "$(comp capscope -)"
# Each command's options, both directions.
for c in $commands; do
  expect "capscope $c -<TAB>" "$(help_options "$c")" "$(comp capscope "$c" -)"
done

# Values.
formats=$(printf '%s\n' report json docker podman nerdctl compose k8s systemd oci capsh kyverno gatekeeper | sort)
expect "record --format <TAB>" "$formats" "$(comp capscope record --format "")"
expect "show -f <TAB>" "$formats" "$(comp capscope show -f "")"
expect "advise --format=d<TAB>" "docker" "$(comp capscope advise --format = d)"
expect "record --attach <TAB>" "$(printf '%s\n' auto fexit kprobe tracepoint)" "$(comp capscope record --attach "")"
expect "daemon --attach tr<TAB>" "tracepoint" "$(comp capscope daemon --attach tr)"
expect "trace --cap sys_ad<TAB>" "SYS_ADMIN" "$(comp capscope trace --cap sys_ad)"
expect "verify --caps CHOWN,NET_B<TAB>" "$(printf '%s\n' CHOWN,NET_BIND_SERVICE CHOWN,NET_BROADCAST)" \
  "$(comp capscope verify --caps CHOWN,NET_B)"
expect "record --expect SETU<TAB>" "SETUID" "$(comp capscope record --expect SETU)"
ncaps=$(comp capscope verify --caps "" | wc -l)
[[ $ncaps -eq $("$bin" decode 1ffffffffff | tr ',' '\n' | wc -l) ]] ||
  err "verify --caps <TAB> offers $ncaps capabilities, capscope decode knows $("$bin" decode 1ffffffffff | tr ',' '\n' | wc -l)"
expect "verify --runtime <TAB>" "$(printf '%s\n' docker podman)" "$(comp capscope verify --runtime "")"
expect "profiles --by <TAB>" "workload" "$(comp capscope profiles --by "")"
expect "record --duration <TAB>" "" "$(comp capscope record --duration "")"
# The workload's command line after --.
expect_has "record -- ech<TAB>" echo "$(comp capscope record -- ech)"
expect_has "record -f docker <TAB>" -- "$(comp capscope record -f docker "")"

# The daemon's containers, from `capscope profiles --json` on the socket
# given with --socket (a stand-in capscope answers; the socket is real, as
# the completion only asks sockets that exist).
sock=$tmp/capscope.sock
python3 -c 'import socket, sys; s = socket.socket(socket.AF_UNIX); s.bind(sys.argv[1])' "$sock"
cat >"$tmp/capscope" <<'FAKE'
#!/bin/sh
[ "$1 $2 $3" = "profiles --json --socket" ] || exit 2
cat <<'JSON'
[
  {
    "caps_used": ["CHOWN"],
    "id": "b8d278f766e4a1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6",
    "image": "localhost/web:1",
    "kind": "container",
    "name": "web-demo"
  },
  {
    "id": "e923195305d3ffffffffffffffffffffffffffffffffffffffffffffffffffff",
    "kind": "container",
    "name": "img-demo"
  }
]
JSON
FAKE
chmod +x "$tmp/capscope"
comp_fake() { # like comp, with the stand-in as COMP_WORDS[0]
  local w=("$@")
  w[0]=$tmp/capscope
  comp "${w[@]}"
}
expect "show --socket S <TAB>" "$(printf '%s\n' b8d278f766e4 e923195305d3 img-demo web-demo | sort)" \
  "$(comp_fake capscope show --socket "$sock" "")"
expect "show --socket S we<TAB>" "web-demo" "$(comp_fake capscope show --socket "$sock" we)"
expect_has "advise --socket S <TAB>" img-demo "$(comp_fake capscope advise --socket "$sock" "")"
expect "show --socket S web-demo <TAB> (one positional)" "" "$(comp_fake capscope show --socket "$sock" web-demo "")"
# No daemon: nothing, quietly (a socket path nobody listens on, no
# default socket looked at is required to exist).
out=$(comp_fake capscope show --socket "$tmp/none.sock" zz 2>&1)
expect "show with no daemon" "" "$out"

# zsh and fish: syntax, and every long option of --help is named.
longs=$( (help_options; for c in $commands; do help_options "$c"; done) | grep -- '^--' | sort -u)
if command -v zsh >/dev/null; then
  zsh -n "$dir/_capscope" || err "zsh -n _capscope failed"
  for o in $longs; do grep -qF -- "'$o" "$dir/_capscope" || grep -qF -- "$o=" "$dir/_capscope" ||
    grep -qF -- "{$o" "$dir/_capscope" || grep -qF -- ",$o" "$dir/_capscope" || err "_capscope does not complete $o"; done
else
  echo "check_completion: SKIPPED zsh checks: zsh not installed (scripts/setup.sh installs it)"
fi
if command -v fish >/dev/null; then
  fish -n "$dir/capscope.fish" || err "fish -n capscope.fish failed"
  for o in $longs; do grep -qE -- "-l ${o#--}( |\$)" "$dir/capscope.fish" || err "capscope.fish does not complete $o"; done
  # fish can be driven too: complete -C prints the candidates of a line.
  fishc() { fish --no-config -c "source $(printf '%q' "$dir/capscope.fish"); complete -C $(printf '%q' "$1")" | cut -f1 | sort -u; }
  expect "fish: capscope <TAB>" "$commands" "$(fishc 'capscope ' | grep -v '^-')"
  expect "fish: record --format <TAB>" "$formats" "$(fishc 'capscope record --format ')"
  expect "fish: verify --caps CHOWN,NET_B<TAB>" "$(printf '%s\n' CHOWN,NET_BIND_SERVICE CHOWN,NET_BROADCAST)" \
    "$(fishc 'capscope verify --caps CHOWN,NET_B')"
else
  echo "check_completion: SKIPPED fish checks: fish not installed (scripts/setup.sh installs it)"
fi

if ((errors)); then
  echo "check_completion: $errors failure(s)" >&2
  exit 1
fi
echo "check_completion: bash completion behaves; zsh/fish files agree with --help"
