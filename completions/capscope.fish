# fish completion for capscope(8): commands, options, formats, attach modes,
# capability names, and for `show`/`advise` the containers a running daemon
# knows (asked quietly over its socket). Installed to
# share/fish/vendor_completions.d/capscope.fish.

set -l commands record verify diagnose hook trace doctor daemon profiles show top advise merge diff caps decode
set -l formats report json docker podman nerdctl compose k8s systemd oci capsh kyverno gatekeeper
set -l attach auto tracepoint fexit kprobe

function __capscope_caps
    printf '%s\n' CHOWN DAC_OVERRIDE DAC_READ_SEARCH FOWNER FSETID KILL SETGID SETUID \
        SETPCAP LINUX_IMMUTABLE NET_BIND_SERVICE NET_BROADCAST NET_ADMIN NET_RAW IPC_LOCK \
        IPC_OWNER SYS_MODULE SYS_RAWIO SYS_CHROOT SYS_PTRACE SYS_PACCT SYS_ADMIN SYS_BOOT \
        SYS_NICE SYS_RESOURCE SYS_TIME SYS_TTY_CONFIG MKNOD LEASE AUDIT_WRITE AUDIT_CONTROL \
        SETFCAP MAC_OVERRIDE MAC_ADMIN SYSLOG WAKE_ALARM BLOCK_SUSPEND AUDIT_READ PERFMON \
        BPF CHECKPOINT_RESTORE
end

# Capability lists: complete the element after the last comma.
function __capscope_cap_list
    set -l tok (commandline -ct | string replace -r '^--[a-z-]+=' '')
    set -l head (string replace -r '[^,]*$' '' -- $tok)
    for c in (__capscope_caps)
        echo $head$c
    end
end

function __capscope_workloads
    set -l sock
    set -l tokens (commandline -opc)
    for i in (seq (count $tokens))
        if test "$tokens[$i]" = --socket; and test $i -lt (count $tokens)
            set sock $tokens[(math $i + 1)]
        end
    end
    for s in $sock /run/capscope.sock /run/capscope/capscope.sock
        if test -S $s
            timeout 2 capscope profiles --json --socket $s 2>/dev/null </dev/null |
                string replace -rf '^ *"name": "([^"]+)".*' '$1'
            timeout 2 capscope profiles --json --socket $s 2>/dev/null </dev/null |
                string replace -rf '^ *"id": "([0-9a-f]{12})[^"]*".*' '$1'
            return 0
        end
    end
end

complete -c capscope -f
complete -c capscope -n "not __fish_seen_subcommand_from $commands" -s h -l help -d 'print help and exit'
complete -c capscope -n "not __fish_seen_subcommand_from $commands" -l version -d 'print version and exit'
complete -c capscope -n "not __fish_seen_subcommand_from $commands" -a record -d 'run a command traced, report the capabilities it used'
complete -c capscope -n "not __fish_seen_subcommand_from $commands" -a verify -d 'prove each capability of a set necessary'
complete -c capscope -n "not __fish_seen_subcommand_from $commands" -a diagnose -d 'which denied capability made which syscall fail'
complete -c capscope -n "not __fish_seen_subcommand_from $commands" -a hook -d 'OCI hook: record an annotated container'
complete -c capscope -n "not __fish_seen_subcommand_from $commands" -a trace -d 'live stream of capability checks'
complete -c capscope -n "not __fish_seen_subcommand_from $commands" -a doctor -d 'kernel support and attach mode'
complete -c capscope -n "not __fish_seen_subcommand_from $commands" -a daemon -d 'trace every container on the host'
complete -c capscope -n "not __fish_seen_subcommand_from $commands" -a profiles -d 'containers the daemon has profiled'
complete -c capscope -n "not __fish_seen_subcommand_from $commands" -a show -d 'what the daemon learned about a container'
complete -c capscope -n "not __fish_seen_subcommand_from $commands" -a top -d 'live view of the daemon containers'
complete -c capscope -n "not __fish_seen_subcommand_from $commands" -a advise -d 'the advice of a profile in any format'
complete -c capscope -n "not __fish_seen_subcommand_from $commands" -a merge -d 'union of profiles'
complete -c capscope -n "not __fish_seen_subcommand_from $commands" -a diff -d 'capabilities the new profile needs beyond the old'
complete -c capscope -n "not __fish_seen_subcommand_from $commands" -a caps -d "a process's capability sets"
complete -c capscope -n "not __fish_seen_subcommand_from $commands" -a decode -d 'decode a capability mask'

# Options shared by several commands.
complete -c capscope -n "__fish_seen_subcommand_from $commands" -s h -l help -d 'print help and exit'
complete -c capscope -n "__fish_seen_subcommand_from record verify show advise merge" -s f -l format -x -a "$formats" -d 'output format'
complete -c capscope -n "__fish_seen_subcommand_from record verify diagnose advise merge" -s o -l output -r -F -d 'write to FILE'
complete -c capscope -n "__fish_seen_subcommand_from record verify diagnose" -s u -l user -x -a '(__fish_complete_users)' -d 'run CMD as USER'
complete -c capscope -n "__fish_seen_subcommand_from record diagnose trace" -s d -l duration -x -d 'stop after D'
complete -c capscope -n "__fish_seen_subcommand_from record verify trace daemon" -l attach -x -a "$attach" -d 'attach mode'
complete -c capscope -n "__fish_seen_subcommand_from record verify diagnose trace doctor daemon show advise" -s v -l verbose -d 'say more'
complete -c capscope -n "__fish_seen_subcommand_from daemon profiles show top advise" -l socket -r -F -d 'the daemon socket'

# record
complete -c capscope -n "__fish_seen_subcommand_from record" -l container -x -a '(podman ps --format "{{.Names}}" 2>/dev/null)' -d 'attach to a running container'
complete -c capscope -n "__fish_seen_subcommand_from record" -l unit -x -a '(systemctl list-units --type=service --state=running --no-legend --plain 2>/dev/null | string replace -r " .*" "")' -d 'attach to a running systemd service'
complete -c capscope -n "__fish_seen_subcommand_from record" -l events -r -F -d 'write each new check as JSON lines'
complete -c capscope -n "__fish_seen_subcommand_from record" -l expect -x -a '(__capscope_cap_list)' -d 'exit 1 when the advice needs more'
complete -c capscope -n "__fish_seen_subcommand_from record" -l verify -d 'then verify the advice'
# verify
complete -c capscope -n "__fish_seen_subcommand_from verify" -l caps -x -a '(__capscope_cap_list)' -d 'comma-separated capabilities'
complete -c capscope -n "__fish_seen_subcommand_from verify" -l caps-from -r -F -d 'verify the advice of a saved profile'
complete -c capscope -n "__fish_seen_subcommand_from verify" -l minimize -d 'remove each capability in turn'
complete -c capscope -n "__fish_seen_subcommand_from verify" -l check -x -d 'shell command that proves CMD works'
complete -c capscope -n "__fish_seen_subcommand_from verify" -l check-timeout -x -d 'how long to retry --check'
complete -c capscope -n "__fish_seen_subcommand_from verify" -l repeat -x -d 'run each set N times'
complete -c capscope -n "__fish_seen_subcommand_from verify" -l runtime -x -a 'podman docker' -d 'run CMD in a container'
complete -c capscope -n "__fish_seen_subcommand_from verify" -l rootfs -x -a '(__fish_complete_directories)' -d 'container root filesystem'
complete -c capscope -n "__fish_seen_subcommand_from verify" -l image -x -d 'container image'
complete -c capscope -n "__fish_seen_subcommand_from verify" -l runtime-opt -x -d 'more podman run options'
complete -c capscope -n "__fish_seen_subcommand_from verify" -l no-new-privs -d 'also set no_new_privs'
# trace
complete -c capscope -n "__fish_seen_subcommand_from trace" -s p -l pid -x -a '(__fish_complete_pids)' -d 'only this process'
complete -c capscope -n "__fish_seen_subcommand_from trace" -s c -l cap -x -a '(__capscope_caps)' -d 'only this capability'
complete -c capscope -n "__fish_seen_subcommand_from trace" -l denied -d 'only denied checks'
complete -c capscope -n "__fish_seen_subcommand_from trace" -l unique -d 'only the first check of each'
# hook
complete -c capscope -n "__fish_seen_subcommand_from hook" -l ready-timeout -x -d 'prestart: wait for the tracer to attach'
complete -c capscope -n "__fish_seen_subcommand_from hook" -l stop-timeout -x -d 'poststop: wait for the profile'
complete -c capscope -n "__fish_seen_subcommand_from hook" -l dir -x -a '(__fish_complete_directories)' -d 'profile paths only under DIR'
# daemon
complete -c capscope -n "__fish_seen_subcommand_from daemon" -l state-dir -x -a '(__fish_complete_directories)' -d 'where profiles are kept'
complete -c capscope -n "__fish_seen_subcommand_from daemon" -l metrics -x -d 'Prometheus metrics on HOST:PORT'
complete -c capscope -n "__fish_seen_subcommand_from daemon" -l flush-interval -x -d 'how often profiles are written'
complete -c capscope -n "__fish_seen_subcommand_from daemon" -l cgroup-parent -x -d 'only containers under this cgroup'
# profiles
complete -c capscope -n "__fish_seen_subcommand_from profiles" -l all -d 'also namespaces that are no container'
complete -c capscope -n "__fish_seen_subcommand_from profiles" -l json -d 'print JSON'
complete -c capscope -n "__fish_seen_subcommand_from profiles" -l by -x -a workload -d 'one row per workload'
# top
complete -c capscope -n "__fish_seen_subcommand_from top" -s i -l interval -x -d 'time between samples'
complete -c capscope -n "__fish_seen_subcommand_from top" -l sort -x -a 'rate caps denied unused name' -d 'sort by'
complete -c capscope -n "__fish_seen_subcommand_from top" -l once -d 'print one table and exit'
complete -c capscope -n "__fish_seen_subcommand_from top" -l all -d 'every profile the daemon holds'
# show, advise: the daemon's containers (advise also takes profile files)
complete -c capscope -n "__fish_seen_subcommand_from show advise" -a '(__capscope_workloads)' -d 'daemon workload'
complete -c capscope -n "__fish_seen_subcommand_from advise" -F
complete -c capscope -n "__fish_seen_subcommand_from advise" -l patch -r -F -d 'write the advice into an OCI config.json'
complete -c capscope -n "__fish_seen_subcommand_from advise profiles" -l prometheus -x -d 'cluster-wide, from this Prometheus'
complete -c capscope -n "__fish_seen_subcommand_from advise" -l workload -x -d 'the Kubernetes workload, NAMESPACE/NAME'
complete -c capscope -n "__fish_seen_subcommand_from advise profiles" -l window -x -d 'how far back series count'
# merge, diff: profile files; caps: pids
complete -c capscope -n "__fish_seen_subcommand_from merge" -l force -d 'merge different workloads too'
complete -c capscope -n "__fish_seen_subcommand_from merge diff" -F
complete -c capscope -n "__fish_seen_subcommand_from caps" -x -a 'self (__fish_complete_pids)'
