# shellcheck shell=bash
# shellcheck disable=SC2016  # commands for containers in single quotes
# The advice in each ecosystem's syntax, from real recordings, parsed back
# with real parsers (Debian's /usr/bin/python3: json, PyYAML, configparser;
# systemd-analyze) and applied for real: the setpriv line runs the workload,
# the OCI config runs under runc, the Kubernetes securityContext runs under
# `podman kube play`. And the either/or call sites (core/either_or.cpp),
# each triggered for real: the advice names the narrow capability.
# The functions here run under lib.sh (see run.sh).

PY=/usr/bin/python3

require_py_yaml() {
  [[ -x $PY ]] || skip "$PY missing (apt-get install python3 python3-yaml)"
  $PY -c 'import yaml' 2>/dev/null || skip "python3-yaml not installed (apt-get install python3-yaml)"
}

# fmt_record PROFILE [RECORD OPTIONS] -- CMD...: record CMD as a JSON
# profile; the workload must succeed.
fmt_record() {
  local profile=$1 rc=0
  shift
  run_capscope record --format json -o "$profile" "$@" >"$TEST_TMP/.rec.out" 2>"$TEST_TMP/.rec.err" || rc=$?
  {
    echo "--- capscope record --format json -o $profile $*  => exit $rc"
    cat "$TEST_TMP/.rec.out" "$TEST_TMP/.rec.err"
  } >&2
  assert_eq 0 "$rc" "exit status of capscope record $*"
  [[ -s "$profile" ]] || fail "no profile written to $profile"
}

# fmt_advise PROFILE FORMAT: `capscope advise PROFILE --format FORMAT` on
# stdout; the command must succeed and print something.
fmt_advise() {
  local out rc=0
  out=$(run_capscope advise "$1" --format "$2" 2>"$TEST_TMP/.adv.err") || rc=$?
  {
    echo "--- capscope advise $1 --format $2 => exit $rc"
    printf '%s\n' "$out"
    cat "$TEST_TMP/.adv.err"
  } >&2
  assert_eq 0 "$rc" "exit status of capscope advise --format $2"
  [[ -n "$out" ]] || fail "capscope advise --format $2 printed nothing"
  printf '%s\n' "$out"
}

# docker_advice ADVICE_VAR [RECORD OPTIONS] -- CMD: record_docker and require
# that the workload succeeded.
docker_advice_ok() {
  record_docker "$@"
  ((REC_RC == 0)) || fail "capscope record $* exited $REC_RC (stderr: $(_lib_abbrev "$REC_STDERR"))"
}

# either_or_both ADVICE DROP OUTPUT -- CMD...: record CMD with every
# capability, then with capscope and CMD lacking DROP (setpriv takes it out
# of the bounding and inheritable sets, so the kernel falls back to the
# broad capability); both times CMD must print OUTPUT and the docker advice
# must be ADVICE.
either_or_both() {
  local advice=$1 drop=$2 output=$3 out="$TEST_TMP/.eo.out" rc=0
  shift 4
  docker_advice_ok -- "$@"
  assert_eq "$output" "$REC_OUTPUT" "output of $* with every capability"
  assert_eq "$advice" "$REC_ADVICE" "advice for $* with every capability"
  setpriv --bounding-set="-$drop" --inh-caps="-$drop" -- \
    timeout 60 "$CAPSCOPE" record --format docker -o "$TEST_TMP/.eo.adv" -- "$@" >"$out" 2>&1 </dev/null || rc=$?
  {
    echo "--- without $drop: exit $rc"
    cat "$out" "$TEST_TMP/.eo.adv"
  } >&2
  assert_eq "0:$output" "$rc:$(cat "$out")" "$* without $drop (exit:output)"
  assert_eq "$advice" "$(cat "$TEST_TMP/.eo.adv")" "advice for $* without $drop (the broad capability was the fallback)"
}

# A real profile (CHOWN and MKNOD) in every format, each parsed back.
test_formats_roundtrip_real_profile() {
  require_py_yaml
  local f="$TEST_TMP/f" node="$TEST_TMP/node" p="$TEST_TMP/p.json" out
  touch "$f"
  fmt_record "$p" -- sh -c "chown 1000 '$f' && mknod '$node' c 1 3"
  assert_eq 1000 "$(stat -c %u "$f")" "owner of $f"
  [[ -c "$node" ]] || fail "$node is not a character device"

  out=$(fmt_advise "$p" json)
  json_get - '(d["schema"], ",".join(d["advice"]["add"]))' <<<"$out" >"$TEST_TMP/j" ||
    fail "advise --format json is not JSON"
  assert_eq "capscope.profile/v1 CHOWN,MKNOD" "$(cat "$TEST_TMP/j")" "schema and advice.add of the JSON profile"

  assert_eq "--cap-drop=ALL --cap-add=CHOWN --cap-add=MKNOD" "$(fmt_advise "$p" docker)" "docker"
  assert_eq "$(fmt_advise "$p" docker)" "$(fmt_advise "$p" podman)" "podman = docker"
  assert_eq "$(fmt_advise "$p" docker)" "$(fmt_advise "$p" nerdctl)" "nerdctl = docker"

  out=$(fmt_advise "$p" compose)
  assert_eq "sh ['ALL'] ['CHOWN', 'MKNOD']" "$($PY -c '
import sys, yaml
d = yaml.safe_load(sys.stdin)
(name, svc), = d["services"].items()
print(name, svc["cap_drop"], svc["cap_add"])' <<<"$out")" "compose service parsed by PyYAML"

  out=$(fmt_advise "$p" k8s)
  assert_eq "['ALL'] ['CHOWN', 'MKNOD'] False None" "$($PY -c '
import sys, yaml
sc = yaml.safe_load(sys.stdin)["securityContext"]
print(sc["capabilities"]["drop"], sc["capabilities"]["add"], sc.get("allowPrivilegeEscalation"), sc.get("runAsNonRoot"))' <<<"$out")" "k8s securityContext parsed by PyYAML"

  out=$(fmt_advise "$p" oci)
  assert_eq "CAP_CHOWN,CAP_MKNOD|CAP_CHOWN,CAP_MKNOD|CAP_CHOWN,CAP_MKNOD||" "$(json_get - '"|".join(",".join(d[k]) for k in ("bounding", "effective", "permitted", "inheritable", "ambient"))' <<<"$out")" "oci process.capabilities parsed as JSON"

  out=$(fmt_advise "$p" systemd)
  assert_eq "CAP_CHOWN CAP_MKNOD|None" "$($PY -c '
import sys, configparser
c = configparser.ConfigParser(interpolation=None, strict=True)
c.optionxform = str
c.read_string(sys.stdin.read())
s = c["Service"]
print(s["CapabilityBoundingSet"] + "|" + str(s.get("AmbientCapabilities")))' <<<"$out")" "systemd settings parsed by configparser"
  # systemd's own parser: a unit with these settings has no unknown keys,
  # and every capability name is one libcap knows.
  if command -v systemd-analyze >/dev/null; then
    {
      printf '[Unit]\nDescription=capscope format test\n\n'
      grep -v '^#' <<<"$out" | sed 's/^\[Service\]$/[Service]\nExecStart=\/bin\/true/'
    } >"$TEST_TMP/cs-fmt.service"
    cat "$TEST_TMP/cs-fmt.service" >&2
    local sa
    sa=$(systemd-analyze verify --man=no "$TEST_TMP/cs-fmt.service" 2>&1 || true)
    echo "systemd-analyze verify: $sa" >&2
    assert_not_contains "$sa" "cs-fmt.service:" "systemd-analyze verify complaints about the unit"
  fi
  local cap caps
  read -r -a caps <<<"$(sed -n 's/^CapabilityBoundingSet=//p' <<<"$out")"
  for cap in "${caps[@]}"; do
    capsh --supports="${cap,,}" >/dev/null 2>&1 || fail "libcap does not know $cap"
  done
}

# The setpriv line runs the workload with exactly the advised set: the
# workload prints its own effective set.
test_formats_capsh_line_runs_with_exactly_the_set() {
  require_cmd setpriv
  local f="$TEST_TMP/f" p="$TEST_TMP/p.json" line out rc=0
  touch "$f"
  fmt_record "$p" -- sh -c "chown 1000 '$f' && grep CapEff /proc/self/status"
  line=$(fmt_advise "$p" capsh)
  assert_eq "setpriv --inh-caps=-all --bounding-set=-all,+chown -- sh -c 'chown 1000 '\\''$f'\\'' && grep CapEff /proc/self/status'" \
    "$line" "the capsh format"
  chown 0 "$f"
  out=$(bash -c "$line" 2>&1) || rc=$?
  echo "ran: $line => $rc: $out" >&2
  assert_eq 0 "$rc" "exit status of the setpriv line"
  assert_eq "CapEff:	0000000000000001" "$out" "effective set under the setpriv line (CHOWN only)"
  assert_eq 1000 "$(stat -c %u "$f")" "owner of $f after the setpriv line"
}

# `advise --format oci --patch config.json` writes process.capabilities into
# a real bundle; runc then runs the workload with exactly that set.
test_formats_oci_patch_runs_under_runc() {
  require_py_yaml
  require_cmd runc
  container_fixtures
  local bundle="$TEST_TMP/bundle" p="$TEST_TMP/p.json" f="$TEST_TMP/f" id out rc=0
  touch "$f"
  fmt_record "$p" -- chown 1000 "$f"
  mkdir -p "$bundle"
  cp -a "$ROOTFS" "$bundle/rootfs"
  (cd "$bundle" && runc spec) || fail "runc spec failed"
  $PY - "$bundle/config.json" <<'PY' || fail "could not prepare the bundle config"
import json, sys
c = json.load(open(sys.argv[1]))
c["process"]["terminal"] = False
c["process"]["args"] = ["sh", "-c", "touch /tmp/x && chown 1000 /tmp/x && stat -c %u /tmp/x && grep CapEff /proc/self/status"]
c["root"]["readonly"] = False
json.dump(c, open(sys.argv[1], "w"), indent=2)
PY
  chmod 0640 "$bundle/config.json"
  # runc's default set has no CHOWN: the workload fails before the patch.
  id="cs-oci-$$-$RANDOM"
  on_exit "runc delete -f $id >/dev/null 2>&1"
  out=$(timeout 60 runc run -b "$bundle" "$id" 2>&1) || rc=$?
  echo "before the patch: exit $rc: $out" >&2
  ((rc != 0)) || fail "the bundle chowned without CHOWN before the patch: $out"

  rc=0
  run_capscope advise "$p" --format oci --patch "$bundle/config.json" >"$TEST_TMP/patch.out" 2>&1 || rc=$?
  cat "$TEST_TMP/patch.out" >&2
  assert_eq 0 "$rc" "exit status of capscope advise --format oci --patch"
  assert_eq "capscope: advise: wrote process.capabilities (CAP_CHOWN) to $bundle/config.json" \
    "$(cat "$TEST_TMP/patch.out")" "advise --patch output"
  assert_eq 640 "$(stat -c %a "$bundle/config.json")" "mode of the patched config.json"
  assert_eq '["CAP_CHOWN"]|["CAP_CHOWN"]|["CAP_CHOWN"]|[]|[]|1.0|rootfs' \
    "$(json_get "$bundle/config.json" '"|".join([json.dumps(d["process"]["capabilities"][x]) for x in ("bounding", "effective", "permitted", "inheritable", "ambient")] + [d["ociVersion"][:3], d["root"]["path"]])')" \
    "process.capabilities of the patched config (parsed as JSON)"

  rc=0
  id="cs-oci-$$-$RANDOM"
  on_exit "runc delete -f $id >/dev/null 2>&1"
  out=$(timeout 60 runc run -b "$bundle" "$id" 2>&1) || rc=$?
  echo "after the patch: exit $rc: $out" >&2
  assert_eq 0 "$rc" "exit status of runc run with the patched config (output: $out)"
  assert_eq $'1000\nCapEff:\t0000000000000001' "$out" "the container's chown and effective set"

  # A config that is no OCI config is refused, and left alone.
  echo '{"hello": 1}' >"$TEST_TMP/notoci.json"
  rc=0
  out=$(run_capscope advise "$p" --format oci --patch "$TEST_TMP/notoci.json" 2>&1) || rc=$?
  assert_eq 125 "$rc" "exit status of --patch on a non-OCI file"
  assert_contains "$out" "not an OCI runtime config: no 'process' object" "the error"
  assert_eq '{"hello": 1}' "$(cat "$TEST_TMP/notoci.json")" "the non-OCI file after the refused patch"
}

# kube_play POD_YAML: `podman --runtime runc kube play` with the ulimits this
# machine needs. podman kube play has no --ulimit: containers.conf's
# default_ulimits (through CONTAINERS_CONF) gives every container of the pod
# limits that need no CAP_SYS_RESOURCE, which this machine lacks.
kube_play() {
  local conf="$TEST_TMP/containers.conf" out rc=0
  cat >"$conf" <<'EOF'
[containers]
default_ulimits = ["nofile=1024:1024", "nproc=4096:4096"]
EOF
  out=$(CONTAINERS_CONF=$conf timeout 120 podman --runtime runc kube play "$1" 2>&1) || rc=$?
  echo "podman kube play $1: exit $rc: $out" >&2
  assert_eq 0 "$rc" "exit status of podman --runtime runc kube play (output: $(_lib_abbrev "$out"))"
}

# kube_pod POD CONTEXT_YAML IMAGE HOSTDIR SCRIPT [drop-add]: a Pod of one
# container "work" running SCRIPT under the securityContext in CONTEXT_YAML,
# HOSTDIR mounted at /work; written to $TEST_TMP/POD.yaml.
kube_pod() {
  $PY - "$@" >"$TEST_TMP/$1.yaml" <<'PY' || fail "could not build the pod YAML"
import sys, yaml
pod, ctx, image, hostdir, script = sys.argv[1:6]
sc = yaml.safe_load(open(ctx))["securityContext"]
if len(sys.argv) > 6 and sys.argv[6] == "drop-add":
    sc["capabilities"].pop("add", None)
yaml.safe_dump({
    "apiVersion": "v1", "kind": "Pod", "metadata": {"name": pod},
    "spec": {
        "restartPolicy": "Never",
        "containers": [{
            "name": "work", "image": image,
            "command": ["/bin/sh", "-c", script],
            "env": [{"name": "PATH", "value": "/bin:/sbin:/usr/bin:/usr/sbin"}],
            "securityContext": sc,
            "volumeMounts": [{"name": "work", "mountPath": "/work"}],
        }],
        "volumes": [{"name": "work", "hostPath": {"path": hostdir, "type": "Directory"}}],
    },
}, sys.stdout, sort_keys=False)
PY
  cat "$TEST_TMP/$1.yaml" >&2
}

# The k8s securityContext of a recorded container, applied for real in a pod
# (podman kube play): the container's chown works with exactly what the
# fragment grants, and fails without its `add`.
test_formats_k8s_fragment_in_kube_play() {
  require_podman
  require_py_yaml
  command -v catatonit >/dev/null || [[ -x /usr/libexec/podman/catatonit ]] ||
    skip "catatonit not installed: podman kube play needs it for the pod's infra container (scripts/setup.sh installs it)"
  container_fixtures
  local name ctx="$TEST_TMP/sc.yaml" work="$TEST_TMP/work" pod rc=0 logs
  name=$(unique_name k8s-rec)
  podman_cleanup "$name"
  # The recording: the same act in a podman container with every capability
  # (on a tmpfs, so no overlay copy-up is involved).
  run_capscope record --format k8s -o "$ctx" -- podman run --rm --name "$name" \
    "${PODMAN_RUN_OPTS[@]}" --cap-add=ALL --tmpfs /tmp:notmpcopyup --rootfs "$ROOTFS" \
    sh -c 'touch /tmp/x && chown 1000 /tmp/x' >&2 || rc=$?
  cat "$ctx" >&2
  assert_eq 0 "$rc" "exit status of capscope record --format k8s -- podman run ..."
  assert_eq "['ALL'] ['CHOWN'] False" "$($PY -c '
import sys, yaml
sc = yaml.safe_load(open(sys.argv[1]))["securityContext"]
print(sc["capabilities"]["drop"], sc["capabilities"]["add"], sc["allowPrivilegeEscalation"])' "$ctx")" \
    "the recorded securityContext (PyYAML)"

  mkdir -p "$work"
  pod="cs-kube-$$-$((RANDOM % 1000))"
  on_exit "timeout 60 podman pod rm -f -t 0 $pod >/dev/null 2>&1"
  kube_pod "$pod" "$ctx" "$IMAGE" "$work" \
    'touch /work/x && chown 1000 /work/x && grep -E "^Cap(Eff|Bnd)" /proc/self/status && grep NoNewPrivs /proc/self/status'
  kube_play "$TEST_TMP/$pod.yaml"
  ctr_wait "$pod-work" 60
  logs=$(podman logs "$pod-work" 2>&1)
  echo "--- pod log: $logs" >&2
  assert_eq 0 "$CTR_RC" "exit status of the pod's container (log: $logs)"
  assert_eq 1000 "$(stat -c %u "$work/x")" "owner of the file the pod chowned"
  assert_eq $'CapEff:\t0000000000000001\nCapBnd:\t0000000000000001\nNoNewPrivs:\t1' "$logs" \
    "the pod container's capabilities and no_new_privs (allowPrivilegeEscalation: false)"

  # Without the fragment's `add`, the same pod fails: the grant is needed.
  local pod2="$pod-noadd"
  rm -f "$work/x"
  on_exit "timeout 60 podman pod rm -f -t 0 $pod2 >/dev/null 2>&1"
  kube_pod "$pod2" "$ctx" "$IMAGE" "$work" 'touch /work/x && chown 1000 /work/x' drop-add
  kube_play "$TEST_TMP/$pod2.yaml"
  ctr_wait "$pod2-work" 60
  logs=$(podman logs "$pod2-work" 2>&1)
  echo "--- pod without add: exit $CTR_RC, log: $logs" >&2
  ((CTR_RC != 0)) || fail "the pod chowned without capabilities.add: the fragment's add is not what made it work"
  assert_contains "$logs" "Operation not permitted" "the pod's chown error without add"
}

# A non-root recording gives runAsNonRoot and runAsUser, and the pod runs
# as that user.
test_formats_k8s_non_root_in_kube_play() {
  require_podman
  require_py_yaml
  command -v catatonit >/dev/null || [[ -x /usr/libexec/podman/catatonit ]] ||
    skip "catatonit not installed: podman kube play needs it for the pod's infra container"
  container_fixtures
  local p="$TEST_TMP/p.json" ctx="$TEST_TMP/sc.yaml" work="$TEST_TMP/work" pod logs
  chmod 0755 "$TEST_TMP"
  fmt_record "$p" --user 1000:1000 -- id -u
  fmt_advise "$p" k8s >"$ctx"
  assert_eq "True 1000 1000 False ['ALL'] None" "$($PY -c '
import sys, yaml
sc = yaml.safe_load(open(sys.argv[1]))["securityContext"]
print(sc["runAsNonRoot"], sc["runAsUser"], sc["runAsGroup"], sc["allowPrivilegeEscalation"], sc["capabilities"]["drop"], sc["capabilities"].get("add"))' "$ctx")" \
    "the securityContext of a uid 1000 recording (PyYAML)"
  mkdir -p "$work"
  pod="cs-kube-user-$$-$((RANDOM % 1000))"
  on_exit "timeout 60 podman pod rm -f -t 0 $pod >/dev/null 2>&1"
  kube_pod "$pod" "$ctx" "$IMAGE" "$work" 'id -u; id -g; grep CapEff /proc/self/status'
  kube_play "$TEST_TMP/$pod.yaml"
  ctr_wait "$pod-work" 60
  logs=$(podman logs "$pod-work" 2>&1)
  echo "--- pod log: $logs" >&2
  assert_eq 0 "$CTR_RC" "exit status of the non-root pod (log: $logs)"
  assert_eq $'1000\n1000\nCapEff:\t0000000000000000' "$logs" "uid, gid and effective set in the pod"
}

# --- either/or call sites, triggered for real -------------------------------

# ioprio_set to the real-time class: the kernel asks SYS_ADMIN first
# (ioprio_check_cap) and also accepts SYS_NICE. With every capability only
# SYS_ADMIN is seen; the advice is SYS_NICE, and it works.
test_formats_either_or_ionice_rt_is_sys_nice() {
  require_cmd ionice setpriv
  docker_advice_ok -- ionice -c 1 -n 0 sh -c 'ionice -p $$'
  assert_eq "--cap-drop=ALL --cap-add=SYS_NICE" "$REC_ADVICE" "advice for ionice -c 1"
  assert_eq "realtime: prio 0" "$REC_OUTPUT" "the I/O class the workload got"
  # The advice works: SYS_NICE alone (no SYS_ADMIN) is enough.
  local out rc=0
  out=$(setpriv --inh-caps=-all --bounding-set=-all,+sys_nice -- ionice -c 1 -n 0 sh -c 'ionice -p $$' 2>&1) || rc=$?
  assert_eq "0:realtime: prio 0" "$rc:$out" "ionice -c 1 with SYS_NICE alone"
}

# The kernel log: SYSLOG (6.18 no longer takes SYS_ADMIN there).
test_formats_either_or_dmesg_is_syslog() {
  require_cmd dmesg
  [[ "$(cat /proc/sys/kernel/dmesg_restrict 2>/dev/null)" == 1 ]] ||
    skip "kernel.dmesg_restrict is not 1: reading the kernel log needs no capability here"
  docker_advice_ok -- sh -c 'dmesg >/dev/null && echo read'
  assert_eq "--cap-drop=ALL --cap-add=SYSLOG" "$REC_ADVICE" "advice for dmesg"
  assert_eq "read" "$REC_OUTPUT" "dmesg output"
}

# bpf_capable(): BPF, else SYS_ADMIN. With every capability BPF is granted;
# with BPF missing (capscope itself runs without it, SYS_ADMIN traces) BPF
# is refused and SYS_ADMIN granted in the same bpf(2): the advice is the
# same, and the refusal is no warning.
test_formats_either_or_bpf_fallback_is_bpf() {
  require_cmd setpriv
  [[ -x $PY ]] || skip "$PY missing"
  [[ "$(cat /proc/sys/kernel/unprivileged_bpf_disabled 2>/dev/null)" != 0 ]] ||
    skip "unprivileged BPF is enabled: bpf(2) makes no capability check here"
  local prog="$TEST_TMP/bpf.py"
  cat >"$prog" <<'PY'
import ctypes, os, struct
libc = ctypes.CDLL(None, use_errno=True)
insns = struct.pack("<BBhi", 0xb7, 0, 0, 0) + struct.pack("<BBhi", 0x95, 0, 0, 0)  # r0 = 0; exit
ib = ctypes.create_string_buffer(insns, len(insns))
lic = ctypes.create_string_buffer(b"GPL")
attr = struct.pack("IIQQIIQ", 1, 2, ctypes.addressof(ib), ctypes.addressof(lic), 0, 0, 0) + b"\0" * 104
buf = ctypes.create_string_buffer(attr, len(attr))
fd = libc.syscall(321, 5, buf, len(attr))  # bpf(BPF_PROG_LOAD, socket filter)
if fd < 0:
    raise SystemExit("BPF_PROG_LOAD: " + os.strerror(ctypes.get_errno()))
print("loaded")
PY
  docker_advice_ok -- $PY "$prog"
  assert_eq "loaded" "$REC_OUTPUT" "the program load"
  local all=$REC_ADVICE
  assert_contains "$all" "--cap-add=BPF" "advice with every capability"
  assert_not_contains "$all" "SYS_ADMIN" "advice with every capability"

  # capscope and the workload without BPF and PERFMON: SYS_ADMIN is the
  # fallback for both (and what capscope itself traces with).
  local out="$TEST_TMP/o" rc=0
  setpriv --bounding-set=-bpf,-perfmon --inh-caps=-bpf,-perfmon -- \
    timeout 60 "$CAPSCOPE" record -o "$TEST_TMP/report" -- $PY "$prog" >"$out" 2>&1 </dev/null || rc=$?
  cat "$out" "$TEST_TMP/report" >&2
  assert_eq 0 "$rc" "exit status of the recording without BPF"
  assert_eq "loaded" "$(cat "$out")" "the program load without BPF"
  local report
  report=$(cat "$TEST_TMP/report")
  assert_contains "$report" "$all"$'\n' "the advice without BPF (same as with every capability)"
  assert_contains "$report" "instead of SYS_ADMIN" "the report's explanation"
  assert_not_contains "$report" "WARNING: denied" "the report: the refusals were survived"
  assert_not_contains "$report" "WARNING: SYS_ADMIN" "the report"
}

# perfmon_capable(): PERFMON, else SYS_ADMIN (perf_event_open of an event
# that counts the kernel, with perf_event_paranoid > 1).
test_formats_either_or_perf_fallback_is_perfmon() {
  require_cmd setpriv
  [[ -x $PY ]] || skip "$PY missing"
  local paranoid
  paranoid=$(cat /proc/sys/kernel/perf_event_paranoid 2>/dev/null || echo -1)
  ((paranoid > 1)) || skip "kernel.perf_event_paranoid is $paranoid: counting the kernel needs no capability here"
  local prog="$TEST_TMP/perf.py"
  cat >"$prog" <<'PY'
import ctypes, os, struct
libc = ctypes.CDLL(None, use_errno=True)
attr = bytearray(128)
struct.pack_into("IIQQ", attr, 0, 1, 128, 0, 100000)  # SOFTWARE, CPU_CLOCK
struct.pack_into("Q", attr, 40, 1)  # disabled=1, exclude_kernel=0
buf = ctypes.create_string_buffer(bytes(attr), 128)
fd = libc.syscall(298, buf, 0, -1, -1, 0)  # perf_event_open(self, any cpu)
if fd < 0:
    raise SystemExit("perf_event_open: " + os.strerror(ctypes.get_errno()))
print("opened")
PY
  either_or_both "--cap-drop=ALL --cap-add=PERFMON" perfmon opened -- $PY "$prog"
}

# checkpoint_restore_ns_capable(): CHECKPOINT_RESTORE, else SYS_ADMIN
# (writing ns_last_pid; the current value is written back).
test_formats_either_or_ns_last_pid_is_checkpoint_restore() {
  require_cmd setpriv
  local act='v=$(cat /proc/sys/kernel/ns_last_pid) && echo "$v" >/proc/sys/kernel/ns_last_pid && echo wrote'
  either_or_both "--cap-drop=ALL --cap-add=CHECKPOINT_RESTORE" checkpoint_restore wrote -- sh -c "$act"
}

# The same at proc_map_files_get_link: following a /proc/PID/map_files link.
test_formats_either_or_map_files_is_checkpoint_restore() {
  require_cmd setpriv
  [[ -x $PY ]] || skip "$PY missing"
  local act='import glob, os; p = sorted(glob.glob("/proc/self/map_files/*"))[0]; os.close(os.open(p, os.O_RDONLY)); print("opened")'
  either_or_both "--cap-drop=ALL --cap-add=CHECKPOINT_RESTORE" checkpoint_restore opened -- $PY -c "$act"
}

# generic_permission(): DAC_READ_SEARCH first for a read, then DAC_OVERRIDE.
# Reading another user's 0600 file: DAC_READ_SEARCH with every capability,
# and still DAC_READ_SEARCH when it is missing and DAC_OVERRIDE did the read.
test_formats_either_or_read_is_dac_read_search() {
  require_cmd setpriv
  local secret="$TEST_TMP/secret"
  echo "s3cret-$$" >"$secret"
  chown 1000:1000 "$secret"
  chmod 0600 "$secret"
  docker_advice_ok -- cat "$secret"
  assert_eq "--cap-drop=ALL --cap-add=DAC_READ_SEARCH" "$REC_ADVICE" "advice with every capability"
  assert_eq "s3cret-$$" "$REC_OUTPUT" "the read"
  local out="$TEST_TMP/o" rc=0
  setpriv --bounding-set=-dac_read_search --inh-caps=-dac_read_search -- \
    timeout 60 "$CAPSCOPE" record -o "$TEST_TMP/report" -- cat "$secret" >"$out" 2>&1 </dev/null || rc=$?
  cat "$out" "$TEST_TMP/report" >&2
  assert_eq "0:s3cret-$$" "$rc:$(cat "$out")" "the read without DAC_READ_SEARCH (exit:output)"
  assert_contains "$(cat "$TEST_TMP/report")" $'Advice:\n  --cap-drop=ALL --cap-add=DAC_READ_SEARCH\n' \
    "advice without DAC_READ_SEARCH"
  assert_not_contains "$(cat "$TEST_TMP/report")" "WARNING: denied" "the report: the refusal was survived"
  # A write is different: DAC_OVERRIDE alone, and it stays.
  docker_advice_ok -- sh -c "echo more >>'$secret'"
  assert_eq "--cap-drop=ALL --cap-add=DAC_OVERRIDE" "$REC_ADVICE" "advice for writing the file"
}

# Profiling under podman's default set (DAC_OVERRIDE, no DAC_READ_SEARCH)
# and under every capability gives the same advice for a container reading
# another user's 0600 file, and that advice works.
test_formats_either_or_podman_default_vs_all_agree() {
  require_podman
  container_fixtures
  local secret="$TEST_TMP/secret" name1 name2 a1 a2 out rc=0
  echo "s3cret-$$" >"$secret"
  chown 1000:1000 "$secret"
  chmod 0600 "$secret"
  name1=$(unique_name dac-dflt)
  name2=$(unique_name dac-all)
  podman_cleanup "$name1" "$name2"
  docker_advice_ok -- podman run --rm --name "$name1" "${PODMAN_RUN_OPTS[@]}" \
    -v "$secret:/secret:ro" --rootfs "$ROOTFS" cat /secret
  assert_eq "s3cret-$$" "$REC_OUTPUT" "the read under podman's default set"
  a1=$REC_ADVICE
  docker_advice_ok -- podman run --rm --name "$name2" "${PODMAN_RUN_OPTS[@]}" --cap-add=ALL \
    -v "$secret:/secret:ro" --rootfs "$ROOTFS" cat /secret
  a2=$REC_ADVICE
  assert_eq "--cap-drop=ALL --cap-add=DAC_READ_SEARCH" "$a1" "advice under podman's default set"
  assert_eq "$a1" "$a2" "advice under every capability"
  # shellcheck disable=SC2086  # the advice is flags
  out=$(timeout 60 podman run --rm "${PODMAN_RUN_OPTS[@]}" $a1 -v "$secret:/secret:ro" \
    --rootfs "$ROOTFS" cat /secret 2>&1) || rc=$?
  assert_eq "0:s3cret-$$" "$rc:$out" "the container under exactly the advice (exit:output)"
}

# SO_MARK: NET_RAW, else NET_ADMIN (sk_setsockopt).
test_formats_either_or_so_mark_is_net_raw() {
  require_cmd setpriv
  [[ -x $PY ]] || skip "$PY missing"
  local act='import socket; s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, 36, 7); print("marked")'
  either_or_both "--cap-drop=ALL --cap-add=NET_RAW" net_raw marked -- $PY -c "$act"
}

# IP_TRANSPARENT: NET_RAW, else NET_ADMIN (do_ip_setsockopt).
test_formats_either_or_ip_transparent_is_net_raw() {
  require_cmd setpriv
  [[ -x $PY ]] || skip "$PY missing"
  local act='import socket; s = socket.socket(); s.setsockopt(socket.SOL_IP, 19, 1); print("transparent")'
  either_or_both "--cap-drop=ALL --cap-add=NET_RAW" net_raw transparent -- $PY -c "$act"
}
