# bash completion for capscope(8): commands, options, formats, attach modes,
# capability names (also in comma-separated lists), users, files, and for
# `show`/`advise` the containers a running daemon knows (asked quietly over
# its socket; nothing is offered when no daemon answers). Installed to
# share/bash-completion/completions/capscope; works with plain bash too.

_capscope_commands="record verify diagnose hook trace doctor daemon profiles show top advise merge diff caps decode"
_capscope_formats="report json docker podman nerdctl compose k8s systemd oci capsh kyverno gatekeeper"
_capscope_attach_modes="auto tracepoint fexit kprobe"
_capscope_caps="CHOWN DAC_OVERRIDE DAC_READ_SEARCH FOWNER FSETID KILL SETGID SETUID
SETPCAP LINUX_IMMUTABLE NET_BIND_SERVICE NET_BROADCAST NET_ADMIN NET_RAW IPC_LOCK
IPC_OWNER SYS_MODULE SYS_RAWIO SYS_CHROOT SYS_PTRACE SYS_PACCT SYS_ADMIN SYS_BOOT
SYS_NICE SYS_RESOURCE SYS_TIME SYS_TTY_CONFIG MKNOD LEASE AUDIT_WRITE AUDIT_CONTROL
SETFCAP MAC_OVERRIDE MAC_ADMIN SYSLOG WAKE_ALARM BLOCK_SUSPEND AUDIT_READ PERFMON
BPF CHECKPOINT_RESTORE"

# _capscope_options COMMAND: the options of COMMAND (as `capscope COMMAND
# --help` lists them; tests/unit/check_completion.sh keeps them equal).
_capscope_options() {
  case $1 in
    record) echo "-h --help -f --format -o --output -u --user -d --duration --attach --container --unit --events -v --verbose --expect --verify" ;;
    verify) echo "-h --help --caps --caps-from --minimize --check --check-timeout --repeat -u --user --runtime --rootfs --image --runtime-opt -f --format -o --output --attach --no-new-privs -v --verbose" ;;
    diagnose) echo "-h --help -u --user -d --duration -o --output -v --verbose" ;;
    hook) echo "-h --help --ready-timeout --stop-timeout --dir" ;;
    trace) echo "-h --help -p --pid -c --cap --denied --unique -d --duration --attach -v --verbose" ;;
    doctor) echo "-h --help -v --verbose" ;;
    daemon) echo "-h --help --state-dir --socket --metrics --flush-interval --attach --cgroup-parent -v --verbose" ;;
    profiles) echo "-h --help --socket --all --json --by --prometheus --window" ;;
    show) echo "-h --help --socket -f --format -v --verbose" ;;
    top) echo "-h --help --socket -i --interval --sort --once --all" ;;
    advise) echo "-h --help -f --format --patch --socket -o --output -v --verbose --prometheus --workload --window" ;;
    merge) echo "-h --help -o --output -f --format --force" ;;
    diff | caps | decode) echo "-h --help" ;;
    "") echo "-h --help --version" ;;
  esac
}

# _capscope_daemon_workloads SOCKET: names and short ids of the containers
# the daemon on SOCKET has profiled; silent and empty when none answers.
_capscope_daemon_workloads() {
  local sock=$1 s
  for s in $sock /run/capscope.sock /run/capscope/capscope.sock; do
    [[ -S $s ]] || continue
    timeout 2 "${_capscope_bin:-capscope}" profiles --json --socket "$s" 2>/dev/null </dev/null |
      sed -nE 's/^ *"name": "([^"]+)".*/\1/p; s/^ *"id": "([0-9a-f]{12})[^"]*".*/\1/p'
    return 0
  done
  return 0
}

# _capscope_list WORDS: complete the last element of a comma-separated list.
_capscope_list() {
  local cur=$1 words=$2 head=""
  if [[ $cur == *,* ]]; then
    head=${cur%,*},
    cur=${cur##*,}
  fi
  local w
  for w in $(compgen -W "$words" -- "${cur^^}"); do
    COMPREPLY+=("$head$w")
  done
  compopt -o nospace 2>/dev/null || true
}

_capscope() {
  COMPREPLY=()
  local cword=$COMP_CWORD
  local cur=${COMP_WORDS[cword]} prev=""
  ((cword > 0)) && prev=${COMP_WORDS[cword - 1]}
  # "--format=do" arrives as "--format" "=" "do" (= is a word break).
  if [[ $cur == = ]]; then
    cur=""
  elif [[ $prev == = ]] && ((cword > 1)); then
    prev=${COMP_WORDS[cword - 2]}
  fi
  [[ -n ${COMP_WORDS[0]:-} ]] && _capscope_bin=${COMP_WORDS[0]}

  # The command, whether a `--` came before the cursor, the --socket given,
  # and how many positional words the command already has.
  local cmd="" dashdash=0 socket="" npos=0 i w takes_arg
  for ((i = 1; i < cword; i++)); do
    w=${COMP_WORDS[i]}
    if [[ -z $cmd ]]; then
      [[ $w != -* ]] && cmd=$w
      continue
    fi
    if [[ $w == -- ]]; then
      dashdash=$i
      break
    fi
    case $w in
      --socket) socket=${COMP_WORDS[i + 1]:-} ;;
    esac
    takes_arg=0
    case $w in
      -f | --format | -o | --output | -u | --user | -d | --duration | --attach | --container | --events | --expect | \
        --caps | --caps-from | --check | --check-timeout | --repeat | --runtime | --rootfs | --image | --runtime-opt | \
        -p | --pid | -c | --cap | --state-dir | --socket | --metrics | --flush-interval | --by | --patch | \
        --cgroup-parent | --prometheus | --workload | --window | --unit | -i | --interval | --sort) takes_arg=1 ;;
    esac
    if ((takes_arg)); then
      ((i++))
      [[ ${COMP_WORDS[i]:-} == = ]] && ((i++))
    elif [[ $w != -* && $w != = ]]; then
      ((npos++))
    fi
  done

  if [[ -z $cmd ]]; then
    if [[ $cur == -* ]]; then
      mapfile -t COMPREPLY < <(compgen -W "$(_capscope_options "")" -- "$cur")
    else
      mapfile -t COMPREPLY < <(compgen -W "$_capscope_commands" -- "$cur")
    fi
    return 0
  fi

  # After `--`: the workload's command line.
  if ((dashdash)); then
    if ((cword == dashdash + 1)); then
      mapfile -t COMPREPLY < <(compgen -c -- "$cur")
    else
      mapfile -t COMPREPLY < <(compgen -f -- "$cur")
    fi
    return 0
  fi

  case $prev in
    -f | --format)
      mapfile -t COMPREPLY < <(compgen -W "$_capscope_formats" -- "$cur")
      return 0
      ;;
    --attach)
      mapfile -t COMPREPLY < <(compgen -W "$_capscope_attach_modes" -- "$cur")
      return 0
      ;;
    --caps | --expect)
      _capscope_list "$cur" "$_capscope_caps"
      return 0
      ;;
    -c | --cap)
      mapfile -t COMPREPLY < <(compgen -W "$_capscope_caps" -- "${cur^^}")
      return 0
      ;;
    -u | --user)
      mapfile -t COMPREPLY < <(compgen -u -- "$cur")
      return 0
      ;;
    --runtime)
      mapfile -t COMPREPLY < <(compgen -W "podman docker" -- "$cur")
      return 0
      ;;
    --by)
      mapfile -t COMPREPLY < <(compgen -W "workload" -- "$cur")
      return 0
      ;;
    --sort)
      mapfile -t COMPREPLY < <(compgen -W "rate caps denied unused name" -- "$cur")
      return 0
      ;;
    --unit)
      mapfile -t COMPREPLY < <(compgen -W "$(systemctl list-units --type=service --state=running --no-legend --plain 2>/dev/null | awk '{ print $1 }')" -- "$cur")
      return 0
      ;;
    --state-dir | --rootfs | --dir)
      mapfile -t COMPREPLY < <(compgen -d -- "$cur")
      return 0
      ;;
    -o | --output | --events | --caps-from | --patch | --socket)
      mapfile -t COMPREPLY < <(compgen -f -- "$cur")
      return 0
      ;;
    -p | --pid)
      mapfile -t COMPREPLY < <(compgen -W "$(cd /proc 2>/dev/null && compgen -G '[0-9]*')" -- "$cur")
      return 0
      ;;
    --container)
      mapfile -t COMPREPLY < <(compgen -W "$(podman ps --format '{{.Names}}' 2>/dev/null)" -- "$cur")
      return 0
      ;;
    -d | --duration | --check | --check-timeout | --repeat | --image | --runtime-opt | --metrics | --flush-interval | -i | --interval | \
      --cgroup-parent | --prometheus | --workload | --window | --ready-timeout | --stop-timeout)
      return 0 # free text
      ;;
  esac

  if [[ $cur == -* ]]; then
    mapfile -t COMPREPLY < <(compgen -W "$(_capscope_options "$cmd")" -- "$cur")
    return 0
  fi

  case $cmd in
    show)
      ((npos == 0)) &&
        mapfile -t COMPREPLY < <(compgen -W "$(_capscope_daemon_workloads "$socket")" -- "$cur")
      ;;
    advise)
      if ((npos == 0)); then
        mapfile -t COMPREPLY < <(compgen -W "$(_capscope_daemon_workloads "$socket")" -- "$cur")
        mapfile -t -O "${#COMPREPLY[@]}" COMPREPLY < <(compgen -f -- "$cur")
      fi
      ;;
    merge | diff) mapfile -t COMPREPLY < <(compgen -f -- "$cur") ;;
    caps)
      ((npos == 0)) &&
        mapfile -t COMPREPLY < <(compgen -W "self $(cd /proc 2>/dev/null && compgen -G '[0-9]*')" -- "$cur")
      ;;
    record | verify | diagnose)
      mapfile -t COMPREPLY < <(compgen -W "--" -- "$cur")
      ;;
  esac
  return 0
}

complete -F _capscope capscope
