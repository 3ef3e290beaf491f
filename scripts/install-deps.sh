#!/usr/bin/env bash
# Installs everything sriovd needs to build, test and run its testbed VM,
# from Debian's archive only, on a Debian 12 (bookworm) machine, as root.
#   scripts/install-deps.sh          build + unit-test dependencies
#   scripts/install-deps.sh --vm     also QEMU >= 8 (bookworm-backports), busybox, kmod, cpio,
#                                    libvirtd (the hand-off scenario runs it in the VM)
set -euo pipefail

want_vm=0
[ "${1:-}" = "--vm" ] && want_vm=1

if [ "$(id -u)" -ne 0 ]; then
	echo "install-deps: must run as root (apt-get)" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive

# bookworm's QEMU is 7.2; igb emulation (real SR-IOV) arrived in 8.0. The
# backports suite is the same archive as the main one, so derive its source
# stanza from the one already configured instead of naming a mirror.
add_backports() {
	local src=/etc/apt/sources.list.d/debian.sources
	local dst=/etc/apt/sources.list.d/sriovd-backports.sources
	[ -e "$dst" ] && return 0
	grep -rqs 'bookworm-backports' /etc/apt/sources.list /etc/apt/sources.list.d/ && return 0
	if [ -f "$src" ]; then
		awk 'BEGIN{RS=""; ORS="\n\n"} /Suites:[^\n]*bookworm([ \n]|$)/ && $0 !~ /security/ {
			sub(/Suites:[^\n]*/, "Suites: bookworm-backports"); print; exit }' "$src" >"$dst"
	elif [ -f /etc/apt/sources.list ]; then
		awk '$1=="deb" && $3=="bookworm" { $3="bookworm-backports"; print; exit }' \
			/etc/apt/sources.list >/etc/apt/sources.list.d/sriovd-backports.list
	fi
}

pkgs=(build-essential meson ninja-build pkg-config
      libmnl-dev libjansson-dev libsystemd-dev libudev-dev libpci-dev pci.ids libcmocka-dev libyaml-dev libsqlite3-dev
      jq iproute2 kmod clang libclang-rt-dev python3 python3-jsonschema
      python3-nova systemd scdoc bash-completion man-db libvirt-clients
      libmicrohttpd-dev curl prometheus
      dpdk dpdk-dev libdpdk-dev librte-vhost23 librte-net-e1000-23 librte-net-virtio23
      librte-net-af-packet23 librte-net-null23 librte-net-pcap23 util-linux
      debhelper dpkg-dev fakeroot lintian)
if [ "$want_vm" = 1 ]; then
	add_backports
	# acl: setfacl in the API scenario (a reader given the socket file, not the group)
	pkgs+=(busybox-static cpio xz-utils acl)
fi

apt-get update -qq
apt-get install -y -qq --no-install-recommends "${pkgs[@]}" >/dev/null
if [ "$want_vm" = 1 ]; then
	apt-get install -y -qq --no-install-recommends -t bookworm-backports \
		qemu-system-x86 >/dev/null
	qemu-system-x86_64 --version | head -1
	# bookworm's own libvirt (9.0) drives the backports QEMU; installed after
	# it so that nothing pulls bookworm's QEMU 7.2 back in.
	apt-get install -y -qq --no-install-recommends \
		libvirt-daemon-system libvirt-clients libvirt-daemon-driver-qemu >/dev/null
fi
