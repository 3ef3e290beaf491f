#!/usr/bin/env bash
# Boots Debian's stock kernel under QEMU (TCG) with emulated SR-IOV devices and
# runs one bash script inside it, as root, chrooted into the host's own root
# filesystem (shared over 9p), so it sees the host's binaries at their host
# paths and the guest kernel's /sys, /proc and /dev. See README.md.
#
#   tests/vm/run-vm.sh [--no-iommu] [--systemd] [--timeout SECS] --out OUT_DIR GUEST_SCRIPT [ARGS...]
#
# --systemd boots systemd as PID 1 instead, on an overlay of the host's root
# shared read-only (guest-init-systemd.sh): the script runs once before
# systemd (SRIOV_VM_PHASE=setup) and once as a service (SRIOV_VM_PHASE=run).
#
# Exit status: the guest script's; 125 when the guest never reported one
# (crash, hang, timeout: the tail of OUT_DIR/console.log is printed); 77 when
# this machine cannot run the VM at all (no QEMU with igb).
# QEMU's option values have commas inside one array element.
# shellcheck disable=SC2054
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
prog=run-vm

usage() {
	cat <<EOF
usage: $0 [--no-iommu] [--systemd] [--timeout SECS] --out OUT_DIR GUEST_SCRIPT [ARGS...]
  --no-iommu      no intel-iommu device, no intel_iommu=on iommu=pt (no IOMMU groups)
  --systemd       systemd as PID 1 on an overlay of the host's root, shared read-only;
                  the script runs as setup (before systemd) and as run (a service)
  --timeout SECS  kill the VM after SECS seconds (default \${SRIOV_VM_TIMEOUT:-300})
  --out OUT_DIR   where guest.log, guest.rc, console.log, dmesg.log, qemu.log go
The guest runs: /bin/bash GUEST_SCRIPT ARGS... (chroot into the host's /).
EOF
}
die() { echo "$prog: error: $*" >&2; exit 125; }
skip() { echo "$prog: skipped: $*" >&2; exit 77; }

iommu=1
systemd=0
timeout_s=${SRIOV_VM_TIMEOUT:-300}
out=
while [ $# -gt 0 ]; do
	case $1 in
	--no-iommu) iommu=0; shift ;;
	--systemd) systemd=1; shift ;;
	--timeout) [ $# -ge 2 ] || die "--timeout needs a value"; timeout_s=$2; shift 2 ;;
	--timeout=*) timeout_s=${1#*=}; shift ;;
	--out) [ $# -ge 2 ] || die "--out needs a value"; out=$2; shift 2 ;;
	--out=*) out=${1#*=}; shift ;;
	-h | --help) usage; exit 0 ;;
	--) shift; break ;;
	-*) usage >&2; die "unknown option '$1'" ;;
	*) break ;;
	esac
done
[ -n "$out" ] || { usage >&2; die "--out OUT_DIR is required"; }
[ $# -ge 1 ] || { usage >&2; die "GUEST_SCRIPT is required"; }
[[ $timeout_s =~ ^[1-9][0-9]*$ ]] || die "--timeout wants a positive number of seconds, not '$timeout_s'"

script=$1
shift
[ -f "$script" ] || die "guest script '$script' does not exist"
script=$(realpath -e "$script")
out=$(realpath -m "$out")
# OUT_DIR goes on the kernel command line, which splits at blanks.
[[ $out =~ [[:space:]\"\'] ]] && die "OUT_DIR '$out' must not contain blanks or quotes"
# The guest mounts its own filesystems over these: what is below is hidden.
for p in "$out" "$script"; do
	case $p/ in
	/proc/* | /sys/* | /dev/* | /run/*)
		die "'$p' is under /proc, /sys, /dev or /run, which the guest hides behind its own" ;;
	esac
done
mkdir -p "$out" || die "cannot create '$out'"

qemu_bin=${SRIOV_VM_QEMU:-qemu-system-x86_64}
command -v "$qemu_bin" >/dev/null ||
	skip "'$qemu_bin' not found (run scripts/install-deps.sh --vm)"
command -v timeout >/dev/null || die "'timeout' (coreutils) not found"
"$qemu_bin" -device igb,help >/dev/null 2>&1 ||
	skip "$("$qemu_bin" --version | head -1) cannot emulate igb (QEMU >= 8.0 needed: scripts/install-deps.sh --vm)"

cache=${SRIOV_VM_CACHE:-$HOME/.cache/sriovd-vm}
initrd=initrd
if [ "$systemd" = 1 ]; then
	# Its own initramfs (its own /init, overlay.ko): the default one stays as it is.
	initrd=initrd-systemd
	SRIOV_VM_INIT=$here/guest-init-systemd.sh SRIOV_VM_INITRD=$initrd \
		SRIOV_VM_EXTRA_MODULES="${SRIOV_VM_EXTRA_MODULES:-} overlay" \
		"$here/prepare.sh" "$cache" || die "prepare.sh failed"
else
	"$here/prepare.sh" "$cache" || die "prepare.sh failed"
fi
cache=$(realpath -e "$cache")
kver=$(cat "$cache/kernel-version")

rm -f "$out"/{guest.env,guest.log,guest.rc,console.log,dmesg.log,qemu.log,setup.log,journal.log}

# What the guest's launcher (guest-init.sh) sources before running the script.
{
	echo "# written by run-vm.sh, sourced by bash inside the guest"
	echo "export SRIOV_VM=1"
	printf 'export SRIOV_VM_OUT=%q\n' "$out"
	printf 'export SRIOV_VM_IOMMU=%q\n' "$iommu"
	printf 'export SRIOV_VM_SYSTEMD=%q\n' "$systemd"
	printf 'export SRIOV_VM_KVER=%q\n' "$kver"
	printf 'export SRIOV_VM_KERNEL_DIR=%q\n' "$cache/kernel"
	for name in $(compgen -e | grep '^SRIOV_TEST_' || true); do
		printf 'export %s=%q\n' "$name" "${!name}"
	done
	printf 'SRIOV_VM_CWD=%q\n' "$PWD"
	printf 'SRIOV_VM_SCRIPT=%q\n' "$script"
	printf 'SRIOV_VM_ARGS=('
	[ $# -eq 0 ] || printf ' %q' "$@"
	printf ' )\n'
} >"$out/guest.env"

# QEMU option values escape a comma by doubling it.
qesc() { printf '%s' "${1//,/,,}"; }

# no_timer_check: under TCG on a loaded host the kernel's check that the
# timer interrupt works through the (interrupt-remapped) IO-APIC can lose
# the race and panic ("timer doesn't work through Interrupt-remapped IO-APIC").
append="console=ttyS0 quiet panic=-1 no_timer_check sriov.out=$out"
qemu=("$qemu_bin"
	-machine q35,kernel-irqchip=split -accel tcg -cpu max,vendor=GenuineIntel
	-m "${SRIOV_VM_MEM:-1024}" -smp "${SRIOV_VM_SMP:-2}"
	-nodefaults -display none -no-reboot -nic none)
if [ "$iommu" = 1 ]; then
	# Before any PCI device, so that all of them sit behind it.
	qemu+=(-device intel-iommu,intremap=on,caching-mode=on)
	append+=" intel_iommu=on iommu=pt"
fi
# Each igb behind its own root port: on one bus their VFs' slots collide.
qemu+=(-device pcie-root-port,id=rp1,chassis=1 -device igb,bus=rp1
	-device pcie-root-port,id=rp2,chassis=2 -device igb,bus=rp2
	-device e1000e
	-device nvme-subsys,id=subsys0
	-device nvme,serial=deadbeef,subsys=subsys0,sriov_max_vfs=4,sriov_vq_flexible=8,sriov_vi_flexible=4,max_ioqpairs=12,msix_qsize=16)
ro=
[ "${SRIOV_VM_READONLY_ROOT:-0}" = 1 ] && ro=,readonly=on
# systemd never sees the host's files writable (its tmpfiles setup would
# empty the host's /tmp): the guest checks this before it starts systemd.
[ "$systemd" = 1 ] && ro=,readonly=on
qemu+=(-virtfs "local,path=/,mount_tag=host0,security_model=none,multidevs=remap$ro,id=host0"
	-virtfs "local,path=$(qesc "$out"),mount_tag=out0,security_model=none,multidevs=remap,id=out0")
append+=" sriov.outtag=out0 sriov.cache=${SRIOV_VM_9P_CACHE:-loose}"
# systemd's boot messages on the console (console.log) even with quiet.
[ "$systemd" = 1 ] && append+=" systemd.show_status=1"
[ -z "${SRIOV_VM_APPEND:-}" ] || append+=" $SRIOV_VM_APPEND"
# The unpacked vmlinux (PVH entry) boots seconds faster than the bzImage.
kernel_image=$cache/vmlinuz
[ -f "$cache/vmlinux" ] && [ "${SRIOV_VM_BZIMAGE:-0}" != 1 ] && kernel_image=$cache/vmlinux
qemu+=(-kernel "$kernel_image" -initrd "$cache/$initrd.gz" -append "$append"
	-chardev "file,id=console,path=$(qesc "$out/console.log")" -serial chardev:console)
if [ -n "${SRIOV_VM_QEMU_ARGS:-}" ]; then
	read -r -a extra <<<"$SRIOV_VM_QEMU_ARGS"
	qemu+=("${extra[@]}")
fi

echo "$prog: kernel $kver, iommu=$iommu, systemd=$systemd, timeout ${timeout_s}s, out $out" >&2
boot_once() {
	rm -f "$out"/{guest.log,guest.rc,dmesg.log,qemu.log,setup.log,journal.log}
	: >"$out/console.log"
	tail_pid=
	if [ "${SRIOV_VM_VERBOSE:-0}" = 1 ]; then
		tail -n +1 -f "$out/console.log" >&2 &
		tail_pid=$!
	fi
	start=$EPOCHREALTIME
	qrc=0
	timeout -k 10 "$timeout_s" "${qemu[@]}" </dev/null >"$out/qemu.log" 2>&1 || qrc=$?
	end=$EPOCHREALTIME
	if [ -n "$tail_pid" ]; then
		sleep 0.2
		kill "$tail_pid" 2>/dev/null || true
		wait "$tail_pid" 2>/dev/null || true
	fi
}
boot_once
# Under TCG on a busy host the guest kernel, rarely, dies in early boot
# (timer checks) before it ever starts the script. That says nothing about
# the code under test, so such a boot, and only such a boot, gets one more
# try; a script that started and failed is never retried.
if [ ! -e "$out/guest.log" ] && [ ! -e "$out/guest.rc" ] && [ ! -e "$out/setup.log" ]; then
	echo "$prog: the guest died before starting the script (QEMU exited with $qrc); booting once more" >&2
	cp "$out/console.log" "$out/console-first-boot.log" 2>/dev/null || true
	boot_once
fi
took=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.1f", b - a }')

# The guest's output on stdout as it is (it may be TAP for meson), the
# harness's own lines on stderr.
if [ "${SRIOV_VM_QUIET:-0}" != 1 ] && [ -s "$out/guest.log" ]; then
	echo "----- guest.log ($script) -----" >&2
	cat "$out/guest.log"
	echo "----- end of guest.log -----" >&2
fi

rc=
[ -f "$out/guest.rc" ] && rc=$(cat "$out/guest.rc")
if [[ $rc =~ ^[0-9]+$ ]]; then
	echo "$prog: boot+run took ${took}s; guest script exited with status $rc" >&2
	exit "$rc"
fi

if [ "$qrc" = 124 ] || [ "$qrc" = 137 ]; then
	echo "$prog: error: the VM did not finish within ${timeout_s}s and was killed (after ${took}s)" >&2
else
	echo "$prog: error: the guest reported no exit status (QEMU exited with $qrc after ${took}s)" >&2
fi
if [ -s "$out/qemu.log" ]; then
	echo "----- qemu.log -----" >&2
	tail -n 20 "$out/qemu.log" >&2
fi
echo "----- tail of $out/console.log -----" >&2
tail -n 40 "$out/console.log" >&2
exit 125
