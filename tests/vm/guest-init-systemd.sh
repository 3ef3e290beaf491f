#!/bin/sh
# /init of the testbed's second initramfs (busybox ash, PID 1 until systemd),
# for run-vm.sh --systemd: systemd as PID 1 on a read-only host root. It:
#  1. loads the modules listed in /etc/sriov-modules (overlay among them);
#  2. mounts the 9p share host0 (the host's whole root filesystem, which QEMU
#     shares with readonly=on) at /host and proves it is read-only: a file
#     written there must fail; if it does not, the boot stops here;
#  3. mounts the output share (OUT_DIR, writable) at /out;
#  4. builds the new root: an overlay of /host (lower, read-only) with a
#     tmpfs (upper and work), OUT_DIR bound into it, and, in the upper folder
#     only: the test's own target (default.target -> sriov-test.target,
#     which wants nothing but sriov-test-run.service and the units a test
#     adds to sriov-test.target.wants), masks for the units that would walk
#     or write the host's files or reach for a network (tmpfiles, iSCSI, time
#     sync, ...), and the runner script;
#  5. runs the guest script once chrooted in the new root, before systemd,
#     with SRIOV_VM_PHASE=setup (to install units and configs: its writes go
#     to the overlay's tmpfs), output in OUT_DIR/setup.log;
#  6. exec switch_root /newroot /lib/systemd/systemd. sriov-test-run.service
#     runs the guest script again with SRIOV_VM_PHASE=run (stdout+stderr to
#     OUT_DIR/guest.log), then writes OUT_DIR/journal.log, dmesg.log and
#     guest.rc, and powers off.
# Kernel command line: sriov.out=OUT_DIR (absolute host path), sriov.outtag=TAG
# (its own 9p share), sriov.cache=MODE (9p cache mode of the root share).
# Never boot systemd on a writable shared root: systemd-tmpfiles-setup alone
# would empty the host's /tmp through the share.

PATH=/bin
export PATH
mount -t devtmpfs devtmpfs /dev
exec </dev/console >/dev/console 2>&1
mount -t proc proc /proc
mount -t sysfs sysfs /sys

log() { echo "sriov-init: $*"; }
uptime_s() { cut -d' ' -f1 /proc/uptime; }
# Before /out is mounted there is nowhere to report to: the console says it.
finish() {
	sync
	poweroff -f
	exit 1
}
# After: the reason goes to guest.log too, and the status to guest.rc.
fail() {
	log "$*"
	echo "sriov-init: $*" >>/out/guest.log
	echo 1 >/out/guest.rc
	finish
}

log "kernel $(uname -r), up $(uptime_s)s (systemd mode)"
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
[ -n "$outtag" ] || { log "no sriov.outtag= on the kernel command line"; finish; }

opts=trans=virtio,version=9p2000.L,msize=512000
mkdir -p /out /newroot /ovl
mount -t 9p -o "$opts" "$outtag" /out || { log "cannot mount the 9p share $outtag at /out"; finish; }
[ -f /out/guest.env ] || fail "$out/guest.env is missing"
# Mounted read-write on purpose: only the share itself may refuse.
mount -t 9p -o "$opts,cache=$cache" host0 /host || fail "cannot mount the 9p share host0 at /host"
probe=/host/.sriov-write-probe-$$
if (: >"$probe") 2>/dev/null || mkdir "$probe.d" 2>/dev/null; then
	rm -rf "$probe" "$probe.d"
	fail "the host's root is writable in the guest: not starting systemd on it (QEMU must share it with readonly=on)"
fi
log "the host's root is read-only here (a write was refused)"
mount -o remount,ro /host || fail "cannot remount /host read-only"

mount -t tmpfs -o mode=755 tmpfs /ovl || fail "cannot mount a tmpfs for the overlay"
mkdir -p /ovl/upper /ovl/work
mount -t overlay overlay -o lowerdir=/host,upperdir=/ovl/upper,workdir=/ovl/work /newroot ||
	fail "cannot mount the overlay of /host (is overlay.ko in the initramfs?)"
mount --bind /out "/newroot$out" || fail "cannot bind $out into the new root"

# The host may be a container itself: its markers would make systemd treat
# the VM as one (no shared mount propagation, so a service's sandbox would
# not see later mounts such as /run/netns/NAME). Whiteouts in the upper
# folder hide them; the host keeps its files.
rm -f /newroot/.dockerenv /newroot/run/.containerenv
# The test's own target and runner, in the upper folder only.
etc=/newroot/etc/systemd/system
mkdir -p "$etc/sriov-test.target.wants" /newroot/etc/sriov-test
ln -sfn sriov-test.target "$etc/default.target"
for unit in systemd-tmpfiles-setup.service systemd-tmpfiles-clean.service systemd-tmpfiles-clean.timer \
	systemd-journal-flush.service systemd-timesyncd.service systemd-pstore.service systemd-firstboot.service \
	systemd-repart.service open-iscsi.service iscsid.service iscsid.socket \
	getty.target remote-fs.target multi-user.target graphical.target; do
	ln -sfn /dev/null "$etc/$unit"
done
cat >"$etc/sriov-test.target" <<EOF
[Unit]
Description=sriovd testbed: the test's own boot target
Requires=sysinit.target
After=sysinit.target
Wants=sriov-test-run.service
AllowIsolate=yes
EOF
cat >"$etc/sriov-test-run.service" <<EOF
[Unit]
Description=sriovd testbed: the guest script
After=sysinit.target network-pre.target sriovd.service

[Service]
Type=exec
ExecStart=/bin/bash /etc/sriov-test/run
Environment=HOME=/root TERM=dumb LANG=C.UTF-8
StandardInput=null
StandardOutput=journal+console
EOF
cat >/newroot/etc/sriov-test/run <<EOF
# sriov-test-run.service: the guest script's run phase, then power off.
. $out/guest.env || exit 126
export SRIOV_VM_PHASE=run
cd "\$SRIOV_VM_CWD" 2>/dev/null || cd /
/bin/bash "\$SRIOV_VM_SCRIPT" "\${SRIOV_VM_ARGS[@]}" >$out/guest.log 2>&1 </dev/null
rc=\$?
journalctl -b --no-pager -o short-monotonic >$out/journal.log 2>&1
dmesg >$out/dmesg.log 2>&1
echo "\$rc" >$out/guest.rc
echo "sriov-test-run: guest script exited with status \$rc"
sync
systemctl poweroff -ff
EOF

log "setup phase of the guest script (up $(uptime_s)s)"
mount -t proc proc /newroot/proc
env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
	HOME=/root TERM=dumb LANG=C.UTF-8 SRIOV_VM_PHASE=setup \
	chroot /newroot /bin/bash -c '
		. "$1" || exit 126
		cd "$SRIOV_VM_CWD" 2>/dev/null || cd /
		exec /bin/bash "$SRIOV_VM_SCRIPT" "${SRIOV_VM_ARGS[@]}"' \
	sriov-setup "$out/guest.env" >/out/setup.log 2>&1 </dev/null
rc=$?
umount /newroot/proc
[ "$rc" = 0 ] || fail "the setup phase of the guest script exited with status $rc (see setup.log)"

log "starting systemd on the overlay (up $(uptime_s)s)"
for fs in dev proc sys; do
	mount -o move "/$fs" "/newroot/$fs" || fail "cannot move /$fs into the new root"
done
exec switch_root /newroot /lib/systemd/systemd
