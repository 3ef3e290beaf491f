#!/bin/bash
# Runs inside the testbed VM for scripts/demo.sh: check and list on the
# emulated NICs, before and after creating VFs.
set -uo pipefail
ctl=$1/src/sriovctl
step() { printf '\n\033[1m$ %s\033[0m\n' "$*"; "$@"; }

step "$ctl" check
step "$ctl" list
for pf in /sys/bus/pci/devices/*; do
	[ "$(basename "$(readlink "$pf/driver" 2>/dev/null)")" = igb ] || continue
	net=$(ls "$pf/net" | head -1)
	echo
	echo "\$ echo 3 > /sys/class/net/$net/device/sriov_numvfs"
	echo 3 >"/sys/class/net/$net/device/sriov_numvfs"
	/sbin/ip link set "$net" vf 0 mac "02:00:00:00:0$((${net#eth} + 1)):01" vlan 100
done
step "$ctl" list
first_vf=$(readlink /sys/class/net/eth0/device/virtfn0 2>/dev/null | xargs -r basename)
[ -n "$first_vf" ] && step "$ctl" show "eth0#0"
step "$ctl" check
exit 0
