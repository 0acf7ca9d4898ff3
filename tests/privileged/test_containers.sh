# shellcheck shell=bash
# shellcheck disable=SC2016,SC2094,SC2153  # container commands in single quotes; ROOTFS/IMAGE come from container_fixtures
# `capscope record -- podman run ...`: real containers (podman + runc, the
# busybox fixtures of scripts/container-fixtures.sh). Each container's advice
# must be exactly its own capabilities, never the runtime's setup (runc init's
# SETUID, SETGID, SETPCAP, SYS_ADMIN, ...), and the advice must really work:
# the container is re-run with exactly those flags.
# The functions here run under lib.sh (see run.sh).

# The container's command for the CHOWN tests: /tmp is a private tmpfs, so
# the shared rootfs stays untouched.
CHOWN_CMD='touch /tmp/x && chown 1000 /tmp/x && stat -c %u /tmp/x'

# One container chowning a file: exactly CHOWN. Re-run with exactly that it
# works; with CHOWN dropped too it fails.
test_container_record_chown() {
  require_podman
  container_fixtures
  local name rc=0 out
  name=$(unique_name rec-chown)
  podman_cleanup "$name"
  expect_advice "--cap-drop=ALL --cap-add=CHOWN" -- podman run --rm --name "$name" \
    "${PODMAN_RUN_OPTS[@]}" --cap-add=ALL --tmpfs /tmp:notmpcopyup --rootfs "$ROOTFS" \
    sh -c "$CHOWN_CMD"
  assert_eq 1000 "$REC_OUTPUT" "owner of /tmp/x after the chown in the container"

  # The advice, applied.
  out=$(timeout 60 podman run --rm "${PODMAN_RUN_OPTS[@]}" --cap-drop=ALL --cap-add=CHOWN \
    --tmpfs /tmp:notmpcopyup --rootfs "$ROOTFS" sh -c "$CHOWN_CMD" 2>&1) || rc=$?
  assert_eq 0 "$rc" "exit status of the container run with --cap-drop=ALL --cap-add=CHOWN (output: $out)"
  assert_eq 1000 "$out" "owner of /tmp/x with --cap-drop=ALL --cap-add=CHOWN"

  # And CHOWN is necessary.
  rc=0
  out=$(timeout 60 podman run --rm "${PODMAN_RUN_OPTS[@]}" --cap-drop=ALL \
    --tmpfs /tmp:notmpcopyup --rootfs "$ROOTFS" sh -c "$CHOWN_CMD" 2>&1) || rc=$?
  echo "with --cap-drop=ALL alone: exit $rc, output: $out" >&2
  ((rc != 0)) || fail "the container succeeded with --cap-drop=ALL alone, so CHOWN was not needed (output: $out)"
  assert_contains "$out" "Operation not permitted" "the chown's error with --cap-drop=ALL"
}

# The same chown from the imported image, on overlay storage: overlayfs does
# its copy-up with the mounter's credentials (DAC_OVERRIDE, DAC_READ_SEARCH,
# SYS_ADMIN for trusted.* xattrs). Those borrowed checks are not the
# container's: it works with CHOWN alone (checked below).
test_container_record_image_overlay() {
  require_podman
  container_fixtures
  local name rc=0 out
  name=$(unique_name rec-image)
  podman_cleanup "$name"
  # Proof that CHOWN alone is enough on overlay, whatever capscope says.
  out=$(timeout 60 podman run --rm "${PODMAN_RUN_OPTS[@]}" --cap-drop=ALL --cap-add=CHOWN \
    "$IMAGE" sh -c "$CHOWN_CMD" 2>&1) || rc=$?
  assert_eq "0:1000" "$rc:$out" "image run with --cap-drop=ALL --cap-add=CHOWN (exit:output)"
  expect_advice "--cap-drop=ALL --cap-add=CHOWN" -- podman run --rm --name "$name" \
    "${PODMAN_RUN_OPTS[@]}" --cap-add=ALL "$IMAGE" sh -c "$CHOWN_CMD"
  assert_eq 1000 "$REC_OUTPUT" "owner of /tmp/x after the chown in the container"
}

# One command starting two containers: one "# NAME" line and its flags line
# each, each with only its own capability.
test_container_record_two_containers() {
  require_podman
  container_fixtures
  local a b out err rc=0
  a=$(unique_name rec-two-a)
  b=$(unique_name rec-two-b)
  podman_cleanup "$a" "$b"
  out="$TEST_TMP/out" err="$TEST_TMP/err"
  local script
  script="podman run --rm --name $a ${PODMAN_RUN_OPTS[*]} --cap-add=ALL --tmpfs /tmp:notmpcopyup --rootfs $ROOTFS sh -c 'touch /tmp/x && chown 1000 /tmp/x' && podman run --rm --name $b ${PODMAN_RUN_OPTS[*]} --cap-add=ALL --tmpfs /tmp:notmpcopyup --rootfs $ROOTFS mknod /tmp/n c 1 3"
  run_capscope record --format docker -o - -- sh -c "$script" >"$out" 2>"$err" || rc=$?
  {
    echo "--- stdout:"
    cat "$out"
    echo "--- stderr:"
    cat "$err"
  } >&2
  assert_eq 0 "$rc" "exit status of capscope record -- sh -c '<two podman runs>'"
  # Order-independent: NAME -> flags.
  declare -A flags=()
  local line name="" n=0
  while IFS= read -r line; do
    if [[ "$line" == "# "* ]]; then
      name=${line#\# }
    elif [[ -n "$name" ]]; then
      flags[$name]=$line
      name=""
      n=$((n + 1))
    else
      fail "a flags line without a '# NAME' line before it: '$line' (stdout: $(_lib_abbrev "$(cat "$out")"))"
    fi
  done <"$out"
  assert_eq 2 "$n" "number of '# NAME' + flags pairs"
  assert_eq "--cap-drop=ALL --cap-add=CHOWN" "${flags[$a]:-<no section for $a>}" "advice for container $a (chown)"
  assert_eq "--cap-drop=ALL --cap-add=MKNOD" "${flags[$b]:-<no section for $b>}" "advice for container $b (mknod)"
}

# Attaching to a running container (`record --container NAME --duration`).
test_container_record_attach() {
  require_podman
  if ! "$CAPSCOPE" record --help 2>&1 | grep -q -- '--container'; then
    skip "capscope record has no --container option yet (record --help does not list it)"
  fi
  container_fixtures
  local name out err rc=0 running
  name=$(unique_name rec-attach)
  # Chowns (back and forth) every 0.2 s, for 20 s.
  ctr_start "$name" --cap-add=ALL --tmpfs /tmp:notmpcopyup --rootfs "$ROOTFS" \
    sh -c 'touch /tmp/x; i=0; while [ $i -lt 100 ]; do chown 1000 /tmp/x; chown 0 /tmp/x; sleep 0.2; i=$((i+1)); done'
  out="$TEST_TMP/out" err="$TEST_TMP/err"
  run_capscope record --container "$name" --duration 3s --format docker -o - >"$out" 2>"$err" || rc=$?
  {
    echo "--- stdout:"
    cat "$out"
    echo "--- stderr:"
    cat "$err"
  } >&2
  assert_eq 0 "$rc" "exit status of capscope record --container $name --duration 3s"
  assert_eq "--cap-drop=ALL --cap-add=CHOWN" "$(tail -n 1 "$out")" "advice for the running container $name"
  # The container keeps running after the recording.
  running=$(podman inspect --format '{{.State.Running}}' "$name")
  assert_eq true "$running" "container $name still running after record --container"
}
