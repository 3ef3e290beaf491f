#!/bin/sh
# /init of the sriovd testbed initramfs (busybox ash, PID 1 in the guest).
# prepare.sh packs it; run-vm.sh boots it. It:
#  1. loads the modules listed in /etc/sriov-modules, in order;
#  2. mounts the 9p share host0 (the host's whole root filesystem) at /host
#     and the guest's own proc, sysfs, devtmpfs (+ devpts, /dev/shm) and a
#     tmpfs on /run inside it;
#  3. runs, as chroot /host, the bash script named in OUT_DIR/guest.env
#     (written by run-vm.sh) with stdout+stderr to OUT_DIR/guest.log, and
#     writes its exit status to OUT_DIR/guest.rc, the guest's dmesg to
#     OUT_DIR/dmesg.log;
#  4. syncs and powers off.
# Kernel command line: sriov.out=OUT_DIR (absolute host path, required);
# sriov.outtag=TAG: OUT_DIR is also its own 9p share, mounted uncached over
# /host/OUT_DIR (run-vm.sh always does this: logs reach the host at once even
# if the guest hangs, and OUT_DIR stays writable when the root is read-only);
# sriov.cache=MODE: 9p cache mode of the root share (default none).

PATH=/bin
export PATH
mount -t devtmpfs devtmpfs /dev
# The initramfs has no /dev/console node: reopen stdio on the real one.
exec </dev/console >/dev/console 2>&1
mount -t proc proc /proc
mount -t sysfs sysfs /sys

log() { echo "sriov-init: $*"; }
uptime_s() { cut -d' ' -f1 /proc/uptime; }

finish() {
	sync
	poweroff -f
	# Not reached; should poweroff fail, the panic (panic=-1 + QEMU's
	# -no-reboot) ends the VM anyway.
	exit 1
}

log "kernel $(uname -r), up $(uptime_s)s"
while IFS= read -r ko; do
	[ -n "$ko" ] || continue
	insmod "$ko" 2>/tmp/insmod.err || log "could not load ${ko##*/}: $(cat /tmp/insmod.err)"
done </etc/sriov-modules

out=
outtag=
cache=none
for word in $(cat /proc/cmdline); do
	case $word in
	sriov.out=*) out=${word#sriov.out=} ;;
	sriov.outtag=*) outtag=${word#sriov.outtag=} ;;
	sriov.cache=*) cache=${word#sriov.cache=} ;;
	esac
done
case $out in
/*) ;;
*) log "no absolute sriov.out= on the kernel command line"; finish ;;
esac

opts=trans=virtio,version=9p2000.L,msize=512000
if ! mount -t 9p -o "$opts,cache=$cache" host0 /host; then
	log "cannot mount the 9p share host0 at /host"
	finish
fi
if [ -n "$outtag" ] && ! mount -t 9p -o "$opts" "$outtag" "/host$out"; then
	log "cannot mount the 9p share $outtag at /host$out"
	finish
fi
if [ ! -f "/host$out/guest.env" ]; then
	log "/host$out/guest.env is missing"
	finish
fi

# The guest's own kernel interfaces, over the host's directories.
mount -t proc proc /host/proc || log "cannot mount proc on /host/proc"
mount -t sysfs sysfs /host/sys || log "cannot mount sysfs on /host/sys"
mount -t devtmpfs devtmpfs /host/dev || log "cannot mount devtmpfs on /host/dev"
mkdir -p /host/dev/pts /host/dev/shm
mount -t devpts -o gid=5,mode=620,ptmxmode=666 devpts /host/dev/pts || log "cannot mount devpts"
mount -t tmpfs -o mode=1777 tmpfs /host/dev/shm || log "cannot mount tmpfs on /host/dev/shm"
if [ -d /host/run ]; then
	mount -t tmpfs -o mode=755 tmpfs /host/run || log "cannot mount tmpfs on /host/run"
fi

log "running the guest script (up $(uptime_s)s)"
env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
	HOME=/root TERM=dumb LANG=C.UTF-8 \
	chroot /host /bin/bash -c '
		. "$1" || exit 126
		cd "$SRIOV_VM_CWD" 2>/dev/null || cd /
		exec /bin/bash "$SRIOV_VM_SCRIPT" "${SRIOV_VM_ARGS[@]}"' \
	sriov-guest "$out/guest.env" >"/host$out/guest.log" 2>&1 </dev/null
rc=$?
log "guest script exited with status $rc (up $(uptime_s)s)"
dmesg >"/host$out/dmesg.log" 2>&1
echo "$rc" >"/host$out/guest.rc"
finish
