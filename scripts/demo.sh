#!/usr/bin/env bash
# The main job: builds sriovd and shows `sriovctl check` and `sriovctl list`;
# on the testbed it also plans and applies examples/sriovd.conf.
# On a host with SR-IOV devices it runs them right here. On a host without
# any (the default for CI and laptops), it boots the testbed VM (Debian's
# kernel under QEMU with two emulated igb NICs, an e1000e and an NVMe PF)
# and shows them there, before and after creating VFs.
#   scripts/demo.sh [--vm]     --vm: use the testbed VM even if this host has SR-IOV
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

force_vm=0
[ "${1:-}" = "--vm" ] && force_vm=1

host_has_sriov() {
	compgen -G '/sys/bus/pci/devices/*/sriov_totalvfs' >/dev/null
}

want_vm=1
if [ "$force_vm" = 0 ] && host_has_sriov; then
	want_vm=0
fi

if [ "${SRIOV_SKIP_DEPS:-0}" != 1 ]; then
	if [ "$want_vm" = 1 ]; then scripts/install-deps.sh --vm; else scripts/install-deps.sh; fi
fi
if [ -f build/build.ninja ]; then :; else meson setup build >/dev/null; fi
ninja -C build >/dev/null

if [ "$want_vm" = 0 ]; then
	echo "== this host has SR-IOV devices: sriovctl check"
	build/src/sriovctl check || true
	echo
	echo "== sriovctl list"
	exec build/src/sriovctl list
fi

echo "== no SR-IOV device on this host: booting the testbed VM (Debian kernel, emulated igb/e1000e/nvme)"
out=$(mktemp -d /var/tmp/sriovd-demo.XXXXXX)
tests/vm/run-vm.sh --out "$out" scripts/demo-guest.sh "$PWD/build" "$PWD/examples/sriovd.conf"
