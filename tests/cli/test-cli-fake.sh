#!/bin/bash
# sriovctl's command-line contract on fake sysfs trees (no kernel needed):
# counts on a 64x64 tree, odd trees give warnings and never a crash, errors
# are one line with a non-zero exit status.
#   test-cli-fake.sh SRIOVCTL MKFAKESYSFS
set -uo pipefail
ctl=$1
mk=$2
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/../vm/lib/tap.sh"
. "$here/../vm/lib/schema.sh"
tmp=$(mktemp -d "${TMPDIR:-/dev/shm}/sriovctl-cli.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
schema_init "$ctl" "$tmp/captured" # every -j document is checked against the schema

"$mk" "$tmp/grid" grid 64 64 >/dev/null
check_status "list -j on 64x64" 0 "$ctl" -j list --sysfs-root "$tmp/grid"
check_eq "64 PFs, 4096 VFs, no warnings" "$(jq -c '[(.pfs | length), ([.pfs[].vfs[]] | length), (.warnings | length)]' <<<"$out")" "[64,4096,0]"
check_eq "VF links not read for a foreign root" "$(jq -c '[.pfs[].vfs[].link] | unique' <<<"$out")" "[null]"
check_status "list text on 64x64 (option after the command)" 0 "$ctl" list --sysfs-root "$tmp/grid"
check_contains "text list ends with the counts" "$(tail -1 <<<"$out")" "64 PFs, 4096 VFs"
check_status "environment variable instead of the option" 0 env SRIOV_SYSFS_ROOT="$tmp/grid" "$ctl" -j list
check_eq "env: same counts" "$(jq '.pfs | length' <<<"$out")" 64

"$mk" "$tmp/tb" testbed >/dev/null
check_status "show PF#N on the testbed tree" 0 "$ctl" -j show eth0#2 --sysfs-root "$tmp/tb"
check_eq "eth0#2 is 0000:01:10.4" "$(jq -r .address <<<"$out")" 0000:01:10.4
check_status "show unknown device" 1 "$ctl" show nosuch --sysfs-root "$tmp/tb"
check_eq "one line on stderr" "$(wc -l <<<"$out")" 1
check_status "missing DEV is a usage error" 2 "$ctl" show --sysfs-root "$tmp/tb"
check_status "unknown option" 2 "$ctl" list --frobnicate
check_status "option without its value" 2 "$ctl" list --sysfs-root
check_status "unreadable root" 1 "$ctl" list --sysfs-root "$tmp/none"
check_contains "unreadable root: says where" "$out" "cannot read PCI devices under $tmp/none"
check_status "vf set refuses a foreign root" 1 "$ctl" --sysfs-root "$tmp/tb" vf set eth0#0 vlan 5
check_contains "foreign root: says why" "$out" "VFs can be changed only on the live host"
printf '02:00:00:00:00:44\n' >"$tmp/tb/bus/pci/devices/0000:01:10.4/net/eth4/address"
check_status "vf set refuses a MAC another VF has" 1 "$ctl" --sysfs-root "$tmp/tb" vf set eth1#0 mac 02:00:00:00:00:44
check_eq "names the VF that has it" "$out" "sriovctl: vf set eth1#0: mac 02:00:00:00:00:44: VF 2 of eth0 (0000:01:10.4) already has it (its netdev eth4 carries it); two VFs cannot share a MAC"
check_status "vf set: the VF's own MAC is no duplicate" 1 "$ctl" --sysfs-root "$tmp/tb" vf set eth0#2 mac 02:00:00:00:00:44
check_contains "it gets as far as the live-host check" "$out" "VFs can be changed only on the live host"

# An odd tree: garbage, a NUL-free binary blob, dangling links.
printf 'seven\n' >"$tmp/tb/bus/pci/devices/0000:02:00.0/sriov_totalvfs"
head -c 3000 /dev/urandom | tr -d '\0' >"$tmp/tb/bus/pci/devices/0000:00:02.0/class"
ln -s ../0000:0f:00.0 "$tmp/tb/bus/pci/devices/0000:01:00.0/virtfn9"
ln -s ../../../nowhere "$tmp/tb/bus/pci/devices/0000:0a:00.0"
# (and its uevent, which would give the IDs otherwise)
rm "$tmp/tb/bus/pci/devices/0000:01:10.0/vendor" "$tmp/tb/bus/pci/devices/0000:01:10.0/uevent"
check_status "list on an odd tree still succeeds" 0 "$ctl" list --sysfs-root "$tmp/tb"
check_contains "warning: garbage totalvfs" "$out" "warning: 0000:02:00.0: sriov_totalvfs unreadable"
check_contains "warning: dangling virtfn" "$out" "virtfn9 points at 0000:0f:00.0, which is not a PCI device"
check_contains "warning: missing vendor" "$out" "0000:01:10.0: cannot read vendor"
check_status "list -j on an odd tree" 0 "$ctl" -j list --sysfs-root "$tmp/tb"
check_eq "JSON carries the warnings" "$(jq '.warnings | length >= 4' <<<"$out")" true
: >"$tmp/empty-kmsg"
check_status "check on an odd tree does not crash" 1 "$ctl" check --sysfs-root "$tmp/tb" --proc-root "$tmp" --kmsg "$tmp/empty-kmsg"
schema_done
tap_done
