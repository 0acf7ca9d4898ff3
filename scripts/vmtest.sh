#!/usr/bin/env bash
# Boot a second, older kernel under qemu (software emulation) and prove the
# fexit and kprobe attach modes there, on real workloads.
#
# By default the kernel is Debian 12's own (the package linux-image-amd64
# depends on, 6.1: BTF, kprobes and fentry, no capability:cap_capable
# tracepoint), fetched with `apt-get download` into build/vm/ and unpacked
# with dpkg-deb (never installed). The initramfs is built here: busybox-static,
# build/userspace/cli/capscope and every shared library ldd lists,
# build/tests/helpers/*, tests/vm/init and tests/vm/guest-tests.sh.
#
# Usage: scripts/vmtest.sh [--arch ARCH] [--debian N | --kernel PATH]
#                          [--modes LIST] [--timeout SECS] [--mem MB] [--keep]
#   --arch ARCH     x86_64 (the default: the host's build/, qemu-system-x86_64)
#                   or arm64: Debian 12's linux-image-arm64 kernel and
#                   busybox-static:arm64 (apt-get download through a private
#                   apt configuration under build/vm/apt-arm64, unpacked, never
#                   installed), the kernel's BTF copied out of its Image
#                   (scripts/kernel-btf.py), capscope cross-built against it
#                   into build-arm64/ (cmake/aarch64.cmake; needs
#                   scripts/setup-arm64.sh), booted under qemu-system-aarch64
#                   -M virt (TCG); --debian 11 is x86_64 only
#   --debian N      the kernel of Debian N's linux-image-amd64: 12 (bookworm,
#                   6.1, the default; from the host's apt sources) or 11
#                   (bullseye, 5.10; fetched through a private apt
#                   configuration under build/vm/apt-bullseye, so the host's
#                   sources and packages are not touched)
#   --kernel PATH   a bzImage, or a kernel .deb (linux-image-*.deb) to unpack;
#                   any x86_64 kernel with BTF (CONFIG_DEBUG_INFO_BTF), bpffs,
#                   tracefs, a built-in 8250 serial console and initramfs
#                   support works
#   --modes LIST    attach modes to exercise, comma-separated
#                   (default fexit,kprobe)
#   --timeout SECS  kill the guest after SECS (default 480)
#   --mem MB        guest memory (default 1024)
#   --keep          keep the work directory (initramfs, guest log)
#   --guest-script FILE
#                   run FILE in the guest instead of tests/vm/guest-tests.sh
#                   (debugging; it must print the VMTEST SUMMARY/RESULT lines)
#
# The last lines are the guest's boot time and "N passed, N failed, N skipped";
# exit status 0 only when the guest ran every test and all passed. The guest
# log is shown on failure.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
log() { printf 'vmtest: %s\n' "$*"; }
die() { printf 'vmtest: error: %s\n' "$*" >&2; exit 1; }

kernel="" debian=12 modes="fexit,kprobe" timeout_s=480 mem=1024 keep=0 arch=x86_64
guest_script=$root/tests/vm/guest-tests.sh
while (($#)); do
  case $1 in
  --arch) arch=${2:?--arch needs x86_64 or arm64}; shift 2 ;;
  --arch=*) arch=${1#*=}; shift ;;
  --debian) debian=${2:?--debian needs 11 or 12}; shift 2 ;;
  --debian=*) debian=${1#*=}; shift ;;
  --kernel) kernel=${2:?--kernel needs a PATH}; shift 2 ;;
  --kernel=*) kernel=${1#*=}; shift ;;
  --modes) modes=${2:?--modes needs a LIST}; shift 2 ;;
  --modes=*) modes=${1#*=}; shift ;;
  --timeout) timeout_s=${2:?--timeout needs SECS}; shift 2 ;;
  --timeout=*) timeout_s=${1#*=}; shift ;;
  --mem) mem=${2:?--mem needs MB}; shift 2 ;;
  --keep) keep=1; shift ;;
  --guest-script) guest_script=${2:?--guest-script needs a FILE}; shift 2 ;;
  -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
  *) die "unknown argument '$1' (see --help)" ;;
  esac
done
[[ $debian == 11 || $debian == 12 ]] || die "--debian wants 11 or 12, got '$debian'"
case $arch in
x86_64 | amd64) arch=x86_64 ;;
arm64 | aarch64) arch=arm64 ;;
*) die "--arch wants x86_64 or arm64, got '$arch'" ;;
esac
[[ $arch == x86_64 || $debian == 12 ]] || die "--debian $debian is x86_64 only (arm64: Debian 12)"
[[ $timeout_s =~ ^[0-9]+$ ]] || die "--timeout wants whole seconds, got '$timeout_s'"
[[ $modes =~ ^[a-z,]+$ ]] || die "--modes wants a comma-separated list, got '$modes'"

if [[ $arch == x86_64 ]]; then
  command -v qemu-system-x86_64 >/dev/null ||
    die "qemu-system-x86_64 missing (apt-get install qemu-system-x86, or run scripts/setup.sh)"
  busybox=/bin/busybox
  [[ -x $busybox ]] && ! ldd "$busybox" >/dev/null 2>&1 ||
    die "$busybox missing or not static (apt-get install busybox-static)"
  build=$root/build
  capscope=$build/userspace/cli/capscope
  helpers=$build/tests/helpers
  [[ -x $capscope ]] || die "$capscope missing: build first (scripts/setup.sh)"
  [[ -d $helpers ]] || die "$helpers missing: build first (scripts/setup.sh)"
else
  command -v qemu-system-aarch64 >/dev/null ||
    die "qemu-system-aarch64 missing (run scripts/setup-arm64.sh)"
  command -v aarch64-linux-gnu-g++ >/dev/null ||
    die "aarch64-linux-gnu-g++ missing (run scripts/setup-arm64.sh)"
  build=$root/build-arm64 # built below, once the kernel's BTF is at hand
  capscope=$build/userspace/cli/capscope
  helpers=$build/tests/helpers
fi

work=$(mktemp -d /tmp/capscope-vmtest.XXXXXX)
qemu_pid=""
cleanup() {
  [[ -n $qemu_pid ]] && kill -KILL "$qemu_pid" 2>/dev/null || true
  if ((keep)); then log "work directory kept: $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---- kernel -----------------------------------------------------------------
unpack_deb() { # unpack_deb DEB -> prints the vmlinuz path
  local deb=$1 dir=$work/kernel
  mkdir -p "$dir"
  dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$dir" --wildcards './boot/vmlinuz-*' ||
    die "no ./boot/vmlinuz-* in $deb"
  local k
  k=$(find "$dir/boot" -name 'vmlinuz-*' | head -n 1)
  [[ -n $k ]] || die "no ./boot/vmlinuz-* in $deb"
  printf '%s\n' "$k"
}

cache=$root/build/vm
mkdir -p "$cache"
apt_opts=()
if [[ $arch == arm64 ]]; then
  # A private apt configuration for arm64 packages (the kernel, a static
  # busybox): its own architecture, source list, lists and cache.
  a=$cache/apt-arm64
  mkdir -p "$a/lists/partial" "$a/cache/archives/partial"
  printf '%s\n' \
    "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian bookworm main" \
    "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian-security bookworm-security main" \
    >"$a/sources.list"
  apt_opts=(-o "Dir::Etc::SourceList=$a/sources.list" -o Dir::Etc::SourceParts=/dev/null
    -o "Dir::State::Lists=$a/lists" -o "Dir::Cache=$a/cache" -o Debug::NoLocking=1
    -o APT::Architecture=arm64 -o APT::Architectures=arm64)
  if [[ -z $(find "$a/lists" -maxdepth 1 -name '*_Packages*' -mmin -10080 2>/dev/null) ]]; then
    log "apt-get update for arm64 (private configuration in $a)"
    apt-get "${apt_opts[@]}" update >"$a/update.log" 2>&1 ||
      { tail -5 "$a/update.log" >&2; die "apt-get update for arm64 failed"; }
  fi
fi
# fetch_deb PKG: the newest cached PKG_*.deb, downloaded when missing.
fetch_deb() {
  local pkg=$1 deb
  deb=$(find "$cache" -maxdepth 1 -name "${pkg}_*.deb" | sort | tail -n 1)
  if [[ -z $deb ]]; then
    log "downloading $pkg (apt-get download, not installed)" >&2
    (cd "$cache" && apt-get "${apt_opts[@]}" download "$pkg" >&2 2>/dev/null) ||
      die "apt-get download $pkg failed"
    deb=$(find "$cache" -maxdepth 1 -name "${pkg}_*.deb" | sort | tail -n 1)
    [[ -n $deb ]] || die "apt-get download $pkg left no .deb in $cache"
  fi
  printf '%s\n' "$deb"
}

if [[ -z $kernel ]]; then
  if ((debian == 11)); then
    # A private apt configuration for bullseye: its own source list, lists
    # and cache; the host's apt state is left alone.
    a=$cache/apt-bullseye
    mkdir -p "$a/lists/partial" "$a/cache/archives/partial"
    echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian bullseye main" >"$a/sources.list"
    apt_opts=(-o "Dir::Etc::SourceList=$a/sources.list" -o Dir::Etc::SourceParts=/dev/null
      -o "Dir::State::Lists=$a/lists" -o "Dir::Cache=$a/cache" -o Debug::NoLocking=1)
    if [[ -z $(find "$a/lists" -maxdepth 1 -name '*_Packages' -mmin -10080 2>/dev/null) ]]; then
      log "apt-get update for bullseye (private configuration in $a)"
      apt-get "${apt_opts[@]}" update >"$a/update.log" 2>&1 ||
        { tail -5 "$a/update.log" >&2; die "apt-get update for bullseye failed"; }
    fi
  fi
  meta=linux-image-amd64
  [[ $arch == arm64 ]] && meta=linux-image-arm64
  pkg=$(apt-cache "${apt_opts[@]}" depends $meta 2>/dev/null |
    sed -nE 's/^ *Depends: (linux-image-[0-9][^ ]*)$/\1/p' | head -n 1)
  [[ -n $pkg ]] || die "cannot tell which package $meta depends on (apt-get update?)"
  kernel=$(fetch_deb "$pkg")
fi
[[ -f $kernel ]] || die "--kernel $kernel: no such file"
case $kernel in
*.deb) log "kernel package: $kernel"; bzimage=$(unpack_deb "$kernel") ;;
*) bzimage=$kernel ;;
esac
log "kernel image: $bzimage"

if [[ $arch == arm64 ]]; then
  # busybox-static:arm64, unpacked (not installed: it would replace the
  # host's amd64 one).
  bbdeb=$(fetch_deb busybox-static)
  mkdir -p "$work/busybox"
  dpkg-deb -x "$bbdeb" "$work/busybox"
  busybox=$work/busybox/bin/busybox
  [[ -x $busybox ]] || die "no bin/busybox in $bbdeb"
  # The arm64 BPF objects are compiled against this kernel's own BTF.
  kver=$(basename "$bzimage")
  btf=$cache/arm64/vmlinux-${kver#vmlinuz-}.btf
  if [[ ! -s $btf ]]; then
    mkdir -p "$cache/arm64"
    python3 "$root/scripts/kernel-btf.py" "$bzimage" "$btf" >&2 ||
      die "cannot copy the BTF out of $bzimage"
  fi
  if [[ ! -f $build/CMakeCache.txt ]]; then
    # Release: no debug info to compile (the guest gets stripped binaries).
    # A unity build (batches of 8 sources per compile): nlohmann/json,
    # CLI11 and httplib are parsed and their templates compiled 11 times,
    # not 61; a cold cross build took 2.3x less CPU time (file-local names
    # in userspace/ stay distinct for it). Ninja, when installed, keeps both
    # cores busy across targets (make compiles one library after another).
    generator=()
    command -v ninja >/dev/null && generator=(-G Ninja)
    log "configuring the arm64 cross build in $build (unity build${generator[*]:+, Ninja})"
    cmake "${generator[@]}" -S "$root" -B "$build" -DCMAKE_TOOLCHAIN_FILE="$root/cmake/aarch64.cmake" \
      -DCMAKE_BUILD_TYPE=Release -DCMAKE_UNITY_BUILD=ON -DCAPSCOPE_VMLINUX_BTF="$btf" \
      >"$work/cmake.log" 2>&1 ||
      { tail -20 "$work/cmake.log" >&2; die "configuring $build failed"; }
  fi
  log "cross-building capscope and the test helpers for arm64 ($build, -j2)"
  t0=$(date +%s)
  cmake -DCAPSCOPE_VMLINUX_BTF="$btf" "$build" >"$work/cmake.log" 2>&1 &&
    cmake --build "$build" -j2 --target capscope capscope_test_helpers >"$work/build.log" 2>&1 ||
    { tail -30 "$work/build.log" >&2; die "the arm64 cross build failed (see above)"; }
  log "arm64 build: $(($(date +%s) - t0))s"
  [[ -x $capscope ]] || die "$capscope missing after the build"
  aarch64-linux-gnu-readelf -h "$capscope" | grep -q AArch64 || die "$capscope is not an arm64 binary"
fi

# ---- initramfs ----------------------------------------------------------------
rootfs=$work/rootfs
mkdir -p "$rootfs"/{bin,sbin,usr/bin,usr/sbin,etc,proc,sys,dev,tmp,root,run,vm,helpers}
chmod 1777 "$rootfs/tmp"
cp "$busybox" "$rootfs/bin/busybox"
# The applet names: an arm64 busybox cannot run here, the host's (the same
# Debian busybox-static) lists them.
for applet in $(/bin/busybox --list); do
  [[ -e $rootfs/bin/$applet ]] || ln -s busybox "$rootfs/bin/$applet"
done

# copy_libs BINARY: every shared library ldd lists, and the loader, at the
# path ldd names.
copy_libs() {
  [[ $arch == arm64 ]] && { copy_libs_arm64 "$1"; return; }
  local lib
  while read -r lib; do
    [[ -e $rootfs$lib ]] && continue
    mkdir -p "$rootfs$(dirname "$lib")"
    cp -L "$lib" "$rootfs$lib"
  done < <(ldd "$1" | sed -nE 's@.*=> (/[^ ]+) .*@\1@p; s@^[[:space:]]*(/[^ ]+) \(0x.*@\1@p')
}

# copy_libs_arm64 BINARY: ldd cannot run an arm64 binary here; follow the
# ELF's NEEDED entries through the arm64 multiarch directories instead, and
# add the arm64 loader.
copy_libs_arm64() {
  local queue=("$1") f lib dir found
  while ((${#queue[@]})); do
    f=${queue[0]}
    queue=("${queue[@]:1}")
    while read -r lib; do
      found=""
      for dir in /lib/aarch64-linux-gnu /usr/lib/aarch64-linux-gnu; do
        [[ -e $dir/$lib ]] && { found=$dir/$lib; break; }
      done
      [[ -n $found ]] || die "$f needs $lib: not in the arm64 multiarch directories"
      [[ -e $rootfs$found ]] && continue
      mkdir -p "$rootfs$(dirname "$found")"
      cp -L "$found" "$rootfs$found"
      queue+=("$found")
    done < <(aarch64-linux-gnu-readelf -d "$f" | sed -nE 's/.*\(NEEDED\).*\[(.*)\]$/\1/p')
  done
  if [[ ! -e $rootfs/lib/ld-linux-aarch64.so.1 ]]; then
    mkdir -p "$rootfs/lib" "$rootfs/lib/aarch64-linux-gnu"
    cp -L /lib/aarch64-linux-gnu/ld-linux-aarch64.so.1 "$rootfs/lib/aarch64-linux-gnu/"
    ln -sf aarch64-linux-gnu/ld-linux-aarch64.so.1 "$rootfs/lib/ld-linux-aarch64.so.1"
  fi
}

strip=strip
[[ $arch == arm64 ]] && strip=aarch64-linux-gnu-strip
$strip --strip-debug -o "$rootfs/bin/capscope" "$capscope" 2>/dev/null || cp "$capscope" "$rootfs/bin/capscope"
copy_libs "$capscope"
for h in "$helpers"/*; do
  [[ -f $h && -x $h ]] || continue
  $strip --strip-debug -o "$rootfs/helpers/${h##*/}" "$h" 2>/dev/null || cp "$h" "$rootfs/helpers/"
  copy_libs "$h"
done
cp "$root/tests/vm/init" "$rootfs/init"
[[ -f $guest_script ]] || die "guest script $guest_script: no such file"
cp "$guest_script" "$rootfs/vm/guest-tests.sh"
chmod 0755 "$rootfs/init" "$rootfs/vm/guest-tests.sh" "$rootfs"/helpers/*
printf '%s\n' 'root:x:0:0:root:/root:/bin/sh' 'user:x:1000:1000:user:/tmp:/bin/sh' \
  'nobody:x:65534:65534:nobody:/nonexistent:/bin/false' >"$rootfs/etc/passwd"
printf '%s\n' 'root:x:0:' 'user:x:1000:' 'nogroup:x:65534:' >"$rootfs/etc/group"

initrd=$work/initramfs.cpio
(cd "$rootfs" && find . -print0 | cpio --null -o -H newc --quiet -R 0:0) >"$initrd" ||
  die "building the initramfs failed"
log "initramfs: $(du -h "$initrd" | cut -f1) (uncompressed cpio)"

# ---- boot ---------------------------------------------------------------------
guest_log=$work/guest.log
: >"$guest_log"
console=ttyS0
[[ $arch == arm64 ]] && console=ttyAMA0
append="console=$console panic=-1 oops=panic loglevel=4 rdinit=/init VMTEST_MODES=$modes"
if [[ $arch == arm64 ]]; then
  # cortex-a72 (ARMv8.0): TCG emulates it faster than -cpu max, whose
  # pointer authentication costs every call and return.
  qemu=(qemu-system-aarch64 -M virt -cpu cortex-a72)
else
  qemu=(qemu-system-x86_64 -cpu max)
fi
log "booting $(basename "$bzimage") under ${qemu[0]} -accel tcg (timeout ${timeout_s}s, modes $modes)"
start=$(date +%s.%N)
"${qemu[@]}" -accel tcg -smp 2 -m "$mem" \
  -nodefaults -display none -no-reboot -monitor none \
  -serial "file:$guest_log" \
  -kernel "$bzimage" -initrd "$initrd" -append "$append" &
qemu_pid=$!
# Bounded: a hung guest is killed at the deadline.
timed_out=0
deadline=$(($(date +%s) + timeout_s))
while kill -0 "$qemu_pid" 2>/dev/null; do
  if (($(date +%s) >= deadline)); then
    timed_out=1
    kill -KILL "$qemu_pid" 2>/dev/null || true
    break
  fi
  sleep 0.5
done
qemu_rc=0
wait "$qemu_pid" || qemu_rc=$?
qemu_pid=""
end=$(date +%s.%N)
elapsed=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.1f", b - a }')

show_log() {
  echo "---- guest log ($guest_log) ----"
  tr -d '\r' <"$guest_log"
  echo "---- end of guest log ----"
}
tr -d '\r' <"$guest_log" >"$work/guest.clean"
booted=$(sed -nE 's/^VMTEST BOOTED uptime=([0-9.]+)s.*/\1/p' "$work/guest.clean" | head -n 1)
summary=$(sed -nE 's/^VMTEST SUMMARY: ([0-9]+ passed, [0-9]+ failed, [0-9]+ skipped)$/\1/p' "$work/guest.clean" | tail -n 1)
result=$(sed -nE 's/^VMTEST RESULT: (PASS|FAIL)$/\1/p' "$work/guest.clean" | tail -n 1)

# Per-test lines, and the doctor output, always.
awk '/^VMTEST doctor output/ { doc = 1 }
  doc || /^VMTEST (PASS|FAIL|SKIP) / || /^    (kernel fact|[a-z]+\/[a-z_]+:)/ { print }
  /^VMTEST (PASS|FAIL) doctor/ { doc = 0 }' "$work/guest.clean"

if [[ -n $booted ]]; then
  log "guest boot time: ${booted}s to /init (kernel uptime); whole run ${elapsed}s wall clock"
else
  log "guest never reached /init (whole run ${elapsed}s wall clock)"
fi

status=0
if ((timed_out)); then
  show_log
  log "error: the guest did not power off within ${timeout_s}s and was killed (hung guest; see the log above)"
  status=1
elif [[ -z $result || -z $summary ]]; then
  show_log
  log "error: the guest stopped without a test summary (qemu exit $qemu_rc; kernel panic or /init failure?)"
  status=1
elif [[ $result != PASS ]]; then
  show_log
  log "error: guest tests failed"
  status=1
fi
if [[ -n $summary ]]; then
  echo "$summary"
else
  echo "0 passed, 1 failed, 0 skipped"
fi
((status == 0)) && log "PASS: $modes on $(sed -nE 's/^VMTEST BOOTED .*kernel=(.*)$/\1/p' "$work/guest.clean" | head -n 1)"
exit "$status"
