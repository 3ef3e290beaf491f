#!/usr/bin/env bash
# Prepares what the sriovd testbed VM boots: Debian's stock kernel and a small
# busybox initramfs that loads the guest kernel's modules and runs a test
# script from the host's root filesystem (see guest-init.sh, README.md).
#
#   tests/vm/prepare.sh [CACHE_DIR]
#
# CACHE_DIR defaults to ${SRIOV_VM_CACHE:-$HOME/.cache/sriovd-vm}. Idempotent:
# the kernel is downloaded again only when the package linux-image-amd64
# depends on changes, the initramfs is rebuilt only when its inputs change.
# Leaves in CACHE_DIR:
#   kernel/          the extracted kernel package (depmod run on it)
#   kernel-version   its release (uname -r inside the guest)
#   vmlinuz          link to kernel/boot/vmlinuz-<version>
#   vmlinux          link to the same kernel unpacked (ELF, boots via PVH,
#                    seconds faster under TCG); absent if it cannot be made
#   initrd.gz        the initramfs; initrd.stamp is the hash of its inputs
#   modules.list     the modules the initramfs loads, in load order
# Knobs: SRIOV_VM_KERNEL_PKG (kernel package name instead of the one
# linux-image-amd64 depends on), SRIOV_VM_EXTRA_MODULES (more modules, space
# separated, loaded after the default ones), SRIOV_VM_INIT (the initramfs's
# /init, default guest-init.sh here) and SRIOV_VM_INITRD (the initramfs's
# name in CACHE_DIR, default initrd: initrd.gz, initrd.stamp; another name
# NAME gives NAME.gz, NAME.stamp, NAME.modules.list, so a second kind of
# boot, run-vm.sh --systemd, never rebuilds the first one's).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
prog=prepare

die() { echo "$prog: error: $*" >&2; exit 1; }
note() { echo "$prog: $*" >&2; }

# Module load order matters for netdev names: igb first (its two PFs become
# eth0 and eth1), then e1000e (eth2).
default_modules=(virtio_pci 9pnet_virtio 9p igb igbvf e1000e nvme
                 vfio vfio-pci vfio_iommu_type1)
# Bump when the layout of the initramfs built below changes.
initrd_format=1

cache=${1:-${SRIOV_VM_CACHE:-$HOME/.cache/sriovd-vm}}
[ $# -le 1 ] || die "usage: $0 [CACHE_DIR]"

for tool in apt-cache apt-get dpkg-deb depmod modprobe cpio gzip flock sha256sum; do
	command -v "$tool" >/dev/null || die "'$tool' not found (run scripts/install-deps.sh --vm)"
done
busybox=$(command -v busybox || true)
[ -n "$busybox" ] || die "busybox not found (apt-get install busybox-static)"
# The initramfs has no libraries: busybox must be the static one.
if ldd "$busybox" >/dev/null 2>&1; then
	die "$busybox is dynamically linked (apt-get install busybox-static)"
fi
init_script=${SRIOV_VM_INIT:-$here/guest-init.sh}
initrd=${SRIOV_VM_INITRD:-initrd}
[[ $initrd =~ ^[A-Za-z0-9_-]+$ ]] || die "SRIOV_VM_INITRD '$initrd' is not a plain name"
modules_list=modules.list
[ "$initrd" = initrd ] || modules_list=$initrd.modules.list
[ -f "$init_script" ] || die "$init_script is missing"

mkdir -p "$cache"
cache=$(cd "$cache" && pwd)
# Several run-vm.sh may start at once: one prepares, the others wait.
exec 9>"$cache/.lock"
flock 9

# --- kernel ------------------------------------------------------------------
kdir=$cache/kernel
kstamp=$kdir/.sriov-package

have=
[ -f "$kstamp" ] && have=$(cat "$kstamp")
# apt-cache takes seconds: ask it only when apt's lists changed since the
# kernel was last checked (or another package is asked for).
lists=/var/lib/apt/lists
ask_apt=1
if [ -n "$have" ] && [ -d "$lists" ] &&
	[ -z "$(find "$lists" -maxdepth 1 -type f -cnewer "$kstamp" -print -quit 2>/dev/null)" ] &&
	{ [ -z "${SRIOV_VM_KERNEL_PKG:-}" ] || [ "${have%% *}" = "$SRIOV_VM_KERNEL_PKG" ]; }; then
	ask_apt=0
fi

want_pkg=${SRIOV_VM_KERNEL_PKG:-}
want_ver=
if [ "$ask_apt" = 1 ]; then
	if [ -z "$want_pkg" ]; then
		want_pkg=$(apt-cache depends linux-image-amd64 2>/dev/null |
			awk '$1 == "Depends:" && $2 ~ /^linux-image-/ { print $2; exit }') || true
	fi
	if [ -n "$want_pkg" ]; then
		want_ver=$(apt-cache policy "$want_pkg" 2>/dev/null |
			awk '$1 == "Candidate:" && $2 != "(none)" { print $2; exit }') || true
	fi
fi

if [ "$ask_apt" = 0 ]; then
	: # checked before, apt's lists have not changed since
elif [ -z "$want_pkg" ] || [ -z "$want_ver" ]; then
	# No apt lists (or no such package): keep whatever was extracted before.
	[ -n "$have" ] || die "cannot find the kernel package in apt's lists${want_pkg:+ ($want_pkg)}; run 'apt-get update' (as root) or set SRIOV_VM_KERNEL_PKG"
	note "warning: apt knows no kernel package now; using the cached $have"
elif [ "$have" != "$want_pkg $want_ver" ]; then
	note "downloading $want_pkg $want_ver"
	rm -rf "$cache/kernel.new" "$cache/download"
	mkdir -p "$cache/download" "$cache/kernel.new"
	# apt's _apt sandbox user cannot write into root's home: it would only warn.
	sandbox=()
	[ "$(id -u)" -eq 0 ] && sandbox=(-o APT::Sandbox::User=root)
	(cd "$cache/download" && apt-get download -q "${sandbox[@]}" "$want_pkg=$want_ver" >&2) ||
		die "apt-get download $want_pkg=$want_ver failed (is 'apt-get update' done?)"
	deb=$(find "$cache/download" -maxdepth 1 -name '*.deb' | head -1)
	[ -n "$deb" ] || die "apt-get download left no .deb in $cache/download"
	dpkg-deb -x "$deb" "$cache/kernel.new" || die "dpkg-deb -x $deb failed"
	nk=$(find "$cache/kernel.new/lib/modules" -mindepth 1 -maxdepth 1 -type d | wc -l)
	[ "$nk" -eq 1 ] || die "$want_pkg holds $nk module trees in lib/modules, expected 1"
	kver=$(basename "$(find "$cache/kernel.new/lib/modules" -mindepth 1 -maxdepth 1 -type d)")
	[ -f "$cache/kernel.new/boot/vmlinuz-$kver" ] || die "$want_pkg has no boot/vmlinuz-$kver"
	# The package ships no modules.dep (its postinst makes it): make it here.
	depmod -b "$cache/kernel.new" "$kver" || die "depmod failed for $kver"
	echo "$want_pkg $want_ver" >"$cache/kernel.new/.sriov-package"
	rm -rf "$kdir" "$cache/download"
	mv "$cache/kernel.new" "$kdir"
	rm -f "$cache"/*.stamp
else
	touch "$kstamp" # up to date as of apt's current lists
fi

kver=$(basename "$(find "$kdir/lib/modules" -mindepth 1 -maxdepth 1 -type d | head -1)")
if [ -z "$kver" ] || [ ! -f "$kdir/boot/vmlinuz-$kver" ]; then
	die "$kdir is incomplete; delete it and run again"
fi
[ -f "$kdir/lib/modules/$kver/modules.dep" ] || depmod -b "$kdir" "$kver"
[ "$(cat "$cache/kernel-version" 2>/dev/null)" = "$kver" ] || echo "$kver" >"$cache/kernel-version"
ln -sfn "kernel/boot/vmlinuz-$kver" "$cache/vmlinuz"

# --- uncompressed kernel for a faster boot -----------------------------------
# Under TCG, decompressing the bzImage costs seconds of every boot. A kernel
# built with CONFIG_PVH boots as a plain ELF vmlinux through QEMU's PVH entry:
# unpack it once from the bzImage's payload (boot protocol: setup_sects at
# 0x1f1, payload_offset/payload_length at 0x248/0x24c). When that is not
# possible, run-vm.sh boots the bzImage (vmlinuz).
extract_vmlinux() {
	local bz=$1 dst=$2 setup off len magic
	grep -qx 'CONFIG_PVH=y' "$kdir/boot/config-$kver" 2>/dev/null || return 1
	[ "$(od -A n -t x1 -j 514 -N 4 "$bz" | tr -d ' \n')" = 48647253 ] || return 1 # "HdrS"
	setup=$(od -A n -t u1 -j $((0x1f1)) -N 1 "$bz" | tr -d ' ')
	[ "$setup" -ne 0 ] || setup=4
	read -r off len < <(od -A n -t u4 -j $((0x248)) -N 8 "$bz")
	off=$(((setup + 1) * 512 + off))
	payload() { dd if="$bz" iflag=skip_bytes,count_bytes skip="$off" count="$1" bs=1M status=none; }
	magic=$(payload 6 | od -A n -t x1 | tr -d ' \n')
	case $magic in
	fd377a585a00) command -v xz >/dev/null || return 1
		payload "$len" | xz -dc --single-stream >"$dst.tmp" || return 1 ;;
	1f8b*) payload "$len" | { gzip -dc >"$dst.tmp" 2>/dev/null || [ $? -eq 2 ]; } || return 1 ;;
	*) return 1 ;;
	esac
	[ "$(od -A n -t x1 -N 4 "$dst.tmp" | tr -d ' \n')" = 7f454c46 ] || return 1 # ELF
	mv "$dst.tmp" "$dst"
}
vmlinux=$kdir/vmlinux-$kver
if [ ! -f "$vmlinux" ] && [ ! -f "$kdir/.no-vmlinux" ]; then
	if extract_vmlinux "$kdir/boot/vmlinuz-$kver" "$vmlinux"; then
		note "unpacked $vmlinux (PVH boot)"
	else
		rm -f "$vmlinux.tmp"
		note "cannot unpack an ELF vmlinux from vmlinuz-$kver; the VM boots the bzImage (slower)"
		: >"$kdir/.no-vmlinux"
	fi
fi
if [ -f "$vmlinux" ]; then
	ln -sfn "kernel/vmlinux-$kver" "$cache/vmlinux"
else
	rm -f "$cache/vmlinux"
fi

# --- module list -------------------------------------------------------------
# modprobe prints the insmod lines it would run, dependencies (and soft
# dependencies) first. -C /dev/null: the host's modprobe.d has no say.
read -r -a extra <<<"${SRIOV_VM_EXTRA_MODULES:-}"
mlist=$(
	for m in "${default_modules[@]}" "${extra[@]}"; do
		out=$(modprobe -C /dev/null -d "$kdir" -S "$kver" --show-depends "$m" 2>&1) ||
			{ echo "$prog: error: module '$m' not found for kernel $kver: $out" >&2; exit 1; }
		printf '%s\n' "$out"
	done | awk -v pre="insmod $kdir/lib/modules/" '
		index($0, pre) == 1 {
			p = substr($0, length(pre) - length("/lib/modules/") + 1)
			sub(/[.]ko( .*)?$/, ".ko", p)
			if (!seen[p]++) print p
		}'
)
[ -n "$mlist" ] || die "computed an empty module list"

# --- initramfs ---------------------------------------------------------------
stamp=$( {
	echo "format $initrd_format"
	echo "kernel $kver"
	sha256sum <"$busybox"
	sha256sum <"$init_script"
	printf '%s\n' "$mlist"
} | sha256sum | cut -d' ' -f1)

if [ -f "$cache/$initrd.gz" ] && [ "$(cat "$cache/$initrd.stamp" 2>/dev/null)" = "$stamp" ]; then
	exit 0
fi

note "building $cache/$initrd.gz for $kver"
stage=$(mktemp -d "$cache/$initrd.XXXXXX")
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage"/{bin,dev,proc,sys,host,etc,tmp}
ln -s bin "$stage/sbin"
cp "$busybox" "$stage/bin/busybox"
for applet in $("$busybox" --list); do
	[ "$applet" = busybox ] || ln -s busybox "$stage/bin/$applet"
done
install -m 0755 "$init_script" "$stage/init"
while IFS= read -r ko; do
	mkdir -p "$stage$(dirname "$ko")"
	cp "$kdir$ko" "$stage$ko"
done <<<"$mlist"
printf '%s\n' "$mlist" >"$stage/etc/sriov-modules"
echo "$kver" >"$stage/etc/sriov-kver"
(cd "$stage" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) |
	gzip -9 -n >"$cache/$initrd.gz.new"
mv "$cache/$initrd.gz.new" "$cache/$initrd.gz"
printf '%s\n' "$mlist" >"$cache/$modules_list"
echo "$stamp" >"$cache/$initrd.stamp"
note "$initrd.gz: $(du -k "$cache/$initrd.gz" | cut -f1) KiB, $(wc -l <<<"$mlist") modules"
