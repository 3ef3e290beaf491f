#!/bin/bash
# Writes never leave their tree, records belong to the tree they describe,
# and nothing in a tree can make a command hang (fake trees, no kernel):
# links planted out of a --sysfs-root tree to a canary folder, the state
# folder rule, a 463-character root, FIFOs in the tree and as --kmsg.
#   test-cli-confine.sh SRIOVCTL SRIOVD MKFAKESYSFS
set -uo pipefail
ctl=$1
daemon=$2
mk=$3
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/../vm/lib/tap.sh"
tmp=$(mktemp -d "${TMPDIR:-/dev/shm}/sriovctl-confine.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
unset SRIOV_STATE_DIR SRIOV_SYSFS_ROOT SRIOV_KMSG

# The canary: a folder outside every tree, with an old mtime throughout.
canary=$tmp/canary
mkdir -p "$canary/sub"
echo canary >"$canary/victim"
echo canary >"$canary/sub/file"
find "$canary" -exec touch -h -d @1000000000 {} +
canary_state() { (cd "$canary" && find . -printf '%p %y %s %T@\n' | sort && cat victim sub/file); }
before=$(canary_state)
# The host's own state folder: a fake-tree command must not create or change it.
host_state() { find /run/sriovd -printf '%p %T@\n' 2>/dev/null | sort; }
host_before=$(host_state)

T=$tmp/t
"$mk" "$T" testbed >/dev/null
dev=$T/bus/pci/devices

ln -sf "$canary/victim" "$dev/0000:01:00.0/sriov_numvfs"
check_status "numvfs through a planted absolute link fails" 1 "$ctl" --sysfs-root "$T" numvfs eth0 0 --force
check_contains "numvfs: names the file and why" "$out" "0000:01:00.0/sriov_numvfs: cannot read: outside the tree"
check_eq "numvfs: canary untouched" "$(canary_state)" "$before"

ln -sf ../../../../canary/victim "$dev/0000:02:00.0/sriov_numvfs"
check_status "numvfs through a climbing relative link fails" 1 "$ctl" --sysfs-root "$T" numvfs eth1 2 --force
check_contains "numvfs (relative): names the file" "$out" "0000:02:00.0/sriov_numvfs"
check_eq "numvfs (relative): canary untouched" "$(canary_state)" "$before"

ln -sf "$canary/victim" "$dev/0000:00:03.0/sriov_drivers_autoprobe"
check_status "numvfs --no-autoprobe through a planted link fails" 1 "$ctl" --sysfs-root "$T" numvfs 0000:00:03.0 2 --no-autoprobe
check_contains "autoprobe: names the file" "$out" "0000:00:03.0/sriov_drivers_autoprobe: write 0: outside the tree"
check_eq "autoprobe: canary untouched" "$(canary_state)" "$before"

ln -sf "$canary/victim" "$dev/0000:01:10.0/driver_override"
check_status "bind through a planted driver_override fails" 1 "$ctl" --sysfs-root "$T" bind 0000:01:10.0 pci-stub --force
check_contains "driver_override: names it" "$out" "driver_override: outside the tree"
check_eq "driver_override: canary untouched" "$(canary_state)" "$before"

mkdir -p "$T/bus/pci/drivers/pci-stub"
: >"$T/bus/pci/drivers/pci-stub/bind"
ln -sf "$canary/victim" "$T/bus/pci/drivers/igbvf/unbind"
check_status "bind through a planted unbind fails" 1 "$ctl" --sysfs-root "$T" bind 0000:01:10.2 pci-stub --force
check_contains "unbind: names it" "$out" "bus/pci/drivers/igbvf/unbind: write 0000:01:10.2: outside the tree"
check_eq "unbind: canary untouched" "$(canary_state)" "$before"
rm "$T/bus/pci/drivers/igbvf/unbind" && : >"$T/bus/pci/drivers/igbvf/unbind"

ln -sf "$canary/victim" "$T/bus/pci/drivers_probe"
check_status "bind through a planted drivers_probe fails" 1 "$ctl" --sysfs-root "$T" bind 0000:01:10.4 pci-stub --force
check_contains "drivers_probe: says what it answered" "$out" "drivers_probe said: outside the tree"
check_eq "drivers_probe: canary untouched" "$(canary_state)" "$before"

# A device folder that is itself a link out of the tree.
"$mk" "$tmp/t2" testbed >/dev/null
mv "$tmp/t2/bus/pci/devices/0000:00:03.0" "$canary/sub/nvme"
find "$canary" -exec touch -h -d @1000000000 {} +
before=$(canary_state)
ln -s "$canary/sub/nvme" "$tmp/t2/bus/pci/devices/0000:00:03.0"
check_status "numvfs on a device folder linked out of the tree fails" 1 "$ctl" --sysfs-root "$tmp/t2" numvfs 0000:00:03.0 2
check_contains "linked device folder: says why" "$out" "outside the tree"
check_eq "linked device folder: canary untouched" "$(canary_state)" "$before"

# apply on a 463-character root writes the whole name, never a cut one.
long=$tmp/l
while [ ${#long} -lt 421 ]; do long=$long/dddddddddddddddddddddddddddddddddddddddd; done
long=$long/$(printf 's%.0s' $(seq $((462 - ${#long}))))
check_eq "the root is 463 characters" "${#long}" 463
"$mk" "$long" testbed >/dev/null
printf 'version: 1\npfs:\n  - match:\n      netdev: eth0\n    autoprobe: false\n' >"$tmp/ap.conf"
check_status "apply on a long root" 0 "$ctl" --sysfs-root "$long" apply "$tmp/ap.conf"
check_eq "autoprobe written to the right file" "$(cat "$long/bus/pci/devices/0000:01:00.0/sriov_drivers_autoprobe")" 0
check "no cut file name" test ! -e "$long/bus/pci/devices/0000:01:00.0/sriov_drivers_auto"

# State belongs to the tree: records in TREE/.sriovd/bind, never /run/sriovd.
"$mk" "$tmp/t3" testbed >/dev/null
mkdir -p "$tmp/t3/bus/pci/drivers/pci-stub"
check_status "bind on a fake tree (fails: no kernel moves the link)" 1 "$ctl" --sysfs-root "$tmp/t3" bind 0000:01:10.0 pci-stub --force
check "the tree's own state folder was used" test -d "$tmp/t3/.sriovd/bind"
mkdir -p "$tmp/t3/.sriovd/bind"
printf 'driver=igbvf\nid=8086:10ca\n' >"$tmp/t3/.sriovd/bind/0000:01:10.0"
check_status "numvfs 0 on a fake tree" 0 "$ctl" --sysfs-root "$tmp/t3" numvfs eth0 0 --force
check "numvfs forgot the tree's record of a destroyed VF" test ! -e "$tmp/t3/.sriovd/bind/0000:01:10.0"
mkdir -p "$tmp/explicit"
printf 'driver=igbvf\nid=8086:10ca\n' >"$tmp/explicit/0000:02:10.0"
check_status "SRIOV_STATE_DIR is honoured for a fake tree" 0 env SRIOV_STATE_DIR="$tmp/explicit" "$ctl" --sysfs-root "$tmp/t3" numvfs eth1 0 --force
check "the explicit folder's record was forgotten" test ! -e "$tmp/explicit/0000:02:10.0"
printf 'version: 1\npfs:\n  - match:\n      netdev: eth0\n    numvfs: 0\n' >"$tmp/d.conf"
check_status "sriovd --once on a fake tree" 0 "$daemon" --once --config "$tmp/d.conf" --config-dir "" --sysfs-root "$tmp/t3"
check "its status file is in the tree's state folder" test -s "$tmp/t3/.sriovd/status.json"
check_eq "nothing of the host's /run/sriovd created or changed" "$(host_state)" "$host_before"

# Nothing in a tree hangs a command: a FIFO where an attribute should be.
"$mk" "$tmp/t4" testbed >/dev/null
rm "$tmp/t4/bus/pci/devices/0000:01:00.0/sriov_numvfs" "$tmp/t4/bus/pci/devices/0000:00:02.0/class"
mkfifo "$tmp/t4/bus/pci/devices/0000:01:00.0/sriov_numvfs" "$tmp/t4/bus/pci/devices/0000:00:02.0/class"
check_status "list with FIFOs in the tree finishes" 0 timeout 20 "$ctl" --sysfs-root "$tmp/t4" list
check_contains "with a warning naming the file" "$out" "warning: 0000:01:00.0: sriov_numvfs unreadable: not a regular file"
check_status "list -j with FIFOs finishes" 0 timeout 20 "$ctl" --sysfs-root "$tmp/t4" -j list
check_status "numvfs on a FIFO finishes with an error" 1 timeout 20 "$ctl" --sysfs-root "$tmp/t4" numvfs eth0 1

# check --kmsg takes a saved log or /dev/kmsg, nothing else.
mkfifo "$tmp/kfifo"
check_status "check --kmsg /dev/zero is refused" 1 timeout 20 "$ctl" --sysfs-root "$T" check --kmsg /dev/zero
check_contains "/dev/zero: says what it is" "$out" "check: --kmsg: /dev/zero is a character device other than /dev/kmsg, not a kernel log"
check_status "check --kmsg on a folder is refused" 1 timeout 20 "$ctl" --sysfs-root "$T" check --kmsg "$tmp"
check_contains "folder: says what it is" "$out" "$tmp is a folder, not a kernel log"
check "folder: no 'lines read ... ok'" test "${out/lines of/}" == "$out"
check_status "check --kmsg on a FIFO is refused at once" 1 timeout 20 "$ctl" --sysfs-root "$T" check --kmsg "$tmp/kfifo"
check_contains "FIFO: says what it is" "$out" "is a FIFO, not a kernel log"
printf '[    0.000000] Linux version 6.1.0\n' >"$tmp/dmesg"
check_status "check --kmsg on a saved dmesg runs" 1 timeout 20 "$ctl" --sysfs-root "$T" -j check --kmsg "$tmp/dmesg"
check_eq "saved dmesg: read" "$(jq -r '.findings[] | select(.check == "kernel-log") | .evidence' <<<"$out")" "1 lines of $tmp/dmesg read"
check_eq "canary untouched at the end" "$(canary_state)" "$before"
tap_done
