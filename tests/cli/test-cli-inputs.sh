#!/bin/bash
# sriovctl on hostile input, on fake sysfs trees (no kernel needed): VF links
# that loop, names and file contents holding control bytes, batch files that
# are not text, PCI addresses that overflow, huge arguments, options placed
# anywhere.
#   test-cli-inputs.sh SRIOVCTL MKFAKESYSFS
set -uo pipefail
ctl=$1
mk=$2
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/../vm/lib/tap.sh"
tmp=$(mktemp -d "${TMPDIR:-/dev/shm}/sriovctl-inputs.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
dev=bus/pci/devices

# raw_ctl FILE: passes when FILE holds no byte outside printable ASCII but
# the newline (od prints each byte as a name: nl, esc, ...).
no_raw_control() {
	! LC_ALL=C od -An -c "$1" | grep -Eq '\\[0-7]{3}|\\[abfrtv0]|033'
}

# --- VF links that loop ------------------------------------------------------
"$mk" "$tmp/self" testbed >/dev/null
ln -s ../0000:01:00.0 "$tmp/self/$dev/0000:01:00.0/virtfn5"
for cmd in "-j list" "-j show eth0" "-j show 0000:01:00.0#0" "list" "show eth0"; do
	# shellcheck disable=SC2086
	check_status "a PF listing itself: $cmd exits 0" 0 timeout 10 "$ctl" --sysfs-root "$tmp/self" $cmd
done
check_status "self-listing: -j list" 0 "$ctl" --sysfs-root "$tmp/self" -j list
check_eq "self-listing: the warning is in the JSON" \
	"$(jq -r '.warnings[] | select(contains("virtfn5"))' <<<"$out")" \
	"0000:01:00.0: virtfn5 points at the PF itself, ignored"
check_eq "self-listing: the PF keeps its 3 VFs" "$(jq '[.pfs[] | select(.address == "0000:01:00.0") | .vfs[]] | length' <<<"$out")" 3
check_status "self-listing: text list" 0 "$ctl" --sysfs-root "$tmp/self" list
check_contains "self-listing: warning line on stderr" "$out" "warning: 0000:01:00.0: virtfn5 points at the PF itself, ignored"

"$mk" "$tmp/mutual" testbed >/dev/null
ln -s ../0000:02:00.0 "$tmp/mutual/$dev/0000:01:00.0/virtfn3"
ln -s ../0000:01:00.0 "$tmp/mutual/$dev/0000:02:00.0/virtfn3"
for cmd in "-j list" "-j show eth0" "-j show eth1" "list" "show eth1"; do
	# shellcheck disable=SC2086
	check_status "two PFs listing each other: $cmd exits 0" 0 timeout 10 "$ctl" --sysfs-root "$tmp/mutual" $cmd
done
check_status "mutual: -j show eth0" 0 "$ctl" --sysfs-root "$tmp/mutual" -j show eth0
check_eq "mutual: eth0 is a PF with 3 VFs" "$(jq -c '[.role, (.vfs | length)]' <<<"$out")" '["pf",3]'
check_status "mutual: list (stderr)" 0 "$ctl" --sysfs-root "$tmp/mutual" list
check_contains "mutual: warning for eth0's link" "$out" \
	"warning: 0000:01:00.0: virtfn3 points at 0000:02:00.0, which is a PF itself (a VF never is), ignored"
check_contains "mutual: warning for eth1's link" "$out" \
	"warning: 0000:02:00.0: virtfn3 points at 0000:01:00.0, which is a PF itself (a VF never is), ignored"

# --- PCI addresses that overflow ---------------------------------------------
"$mk" "$tmp/tb" testbed >/dev/null
tb=$tmp/tb
for a in 100000000:01:00.0 10000:01:00.0 0000:100:00.0 0000:01:20.0 01:00.8 01:00.100000007 0000:01:00.00; do
	check_status "show $a: no such device" 1 "$ctl" --sysfs-root "$tmp/tb" show "$a"
	check_eq "show $a: one line naming it" "$out" \
		"sriovctl: show: $a: no such device (not a netdev or PCI address under $tb)"
done
check_status "show ffff-bounded address of the PF" 0 "$ctl" --sysfs-root "$tmp/tb" -j show 0000:01:00.0
check_status "show 1:0.0 (short parts)" 0 "$ctl" --sysfs-root "$tmp/tb" -j show 1:0.0
check_eq "1:0.0 is 0000:01:00.0" "$(jq -r .address <<<"$out")" 0000:01:00.0

# --- echoed input is cut -----------------------------------------------------
big=$(head -c 100000 /dev/zero | tr '\0' a)
check_status "show with a 100 kB DEV" 1 "$ctl" --sysfs-root "$tmp/tb" show "$big"
check_eq "100 kB DEV: one line" "$(wc -l <<<"$out")" 1
check_eq "100 kB DEV: cut to 128 bytes and ..." "$out" \
	"sriovctl: show: $(head -c 128 <<<"$big")...: no such device (not a netdev or PCI address under $tb)"
check_status "vf set with a 100 kB MAC" 2 "$ctl" --sysfs-root "$tmp/tb" vf set eth0#0 mac "$big"
check_eq "100 kB MAC: cut" "$(head -1 <<<"$out")" \
	"sriovctl: vf set eth0#0: mac: '$(head -c 128 <<<"$big")...' is not a MAC address (aa:bb:cc:dd:ee:ff)"
check_status "unknown command of 100 kB" 2 "$ctl" "$big"
check_eq "unknown command: cut" "$(head -1 <<<"$out")" "sriovctl: '$(head -c 128 <<<"$big")...' is not a command"
check_status "bind to a 100 kB driver name" 2 "$ctl" --sysfs-root "$tmp/tb" bind eth0#0 "$big"
check_contains "bind: cut" "$out" "sriovctl: bind: '$(head -c 128 <<<"$big")...' is not a driver name"
tap_done
