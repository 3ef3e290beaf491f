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
. "$here/../vm/lib/schema.sh"
tmp=$(mktemp -d "${TMPDIR:-/dev/shm}/sriovctl-inputs.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
schema_init "$ctl" "$tmp/captured" # every -j document is checked against the schema
dev=bus/pci/devices

# no_raw_control FILE: passes when FILE holds no byte outside printable
# ASCII (0x20-0x7e) but the newline.
no_raw_control() {
	! od -An -v -tx1 "$1" | tr ' ' '\n' | grep -Eqv '^$|^0a$|^[2-6][0-9a-f]$|^7[0-9a-e]$'
}

is_json() { jq -e . "$1" >/dev/null; }

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

# --- control bytes in names and contents are escaped in text output ---------
"$mk" "$tmp/esc" testbed >/dev/null
esc=$tmp/esc/$dev
evil=$'\e[2Jeth0\nPF 0000:09:00.0  forged'
mv "$esc/0000:01:00.0/net/eth0" "$esc/0000:01:00.0/net/$evil"
printf '\e]0;pwned\a\n' >"$esc/0000:01:10.0/driver_override"
mkdir -p "$tmp/esc/kernel/iommu_groups/"$'\e]0;title\a'
ln -sfn "../../../kernel/iommu_groups/"$'\e]0;title\a' "$esc/0000:01:10.2/iommu_group"
mkdir "$esc/"$'\e[31mred'
"$ctl" --sysfs-root "$tmp/esc" list >"$tmp/list.out" 2>"$tmp/list.err"
check_eq "list with an ESC/newline netdev exits 0" "$?" 0
check "list: stdout has no raw control byte" no_raw_control "$tmp/list.out"
check "list: stderr has no raw control byte" no_raw_control "$tmp/list.err"
check_contains "list: the netdev escaped as \\x1b and \\x0a" "$(cat "$tmp/list.out")" \
	'PF 0000:01:00.0  \x1b[2Jeth0\x0aPF 0000:09:00.0  forged  driver igb'
check_eq "list: no forged PF line" "$(grep -c '^PF 0000:09:00.0' "$tmp/list.out")" 0
check_contains "warning: folder name escaped" "$(cat "$tmp/list.err")" \
	"warning: 0000:01:10.2: iommu_group link points at '\\x1b]0;title\\x07', not a group number"
check_contains "warning: bus/pci/devices entry escaped" "$(cat "$tmp/list.err")" \
	'warning: bus/pci/devices/\x1b[31mred: not a PCI address, ignored'
"$ctl" --sysfs-root "$tmp/esc" show 0000:01:10.0 >"$tmp/show.out" 2>&1
check "show: no raw control byte" no_raw_control "$tmp/show.out"
check_contains "show: driver_override escaped" "$(cat "$tmp/show.out")" 'driver_override:     \x1b]0;pwned\x07'
"$ctl" --sysfs-root "$tmp/esc" show eth0 >"$tmp/show2.out" 2>&1
check_eq "show of a raw ESC name: not found (names are matched raw)" "$?" 1
"$ctl" --sysfs-root "$tmp/esc" show "$evil" >"$tmp/show3.out" 2>&1
check "show PF by its odd name: no raw control byte" no_raw_control "$tmp/show3.out"
check_contains "show PF by its odd name: netdevs line escaped" "$(cat "$tmp/show3.out")" \
	'netdevs:             \x1b[2Jeth0\x0aPF 0000:09:00.0  forged'
"$ctl" --sysfs-root "$tmp/esc" show $'nosuch\e]0;x\a' >"$tmp/err.out" 2>&1
check "error line: no raw control byte" no_raw_control "$tmp/err.out"
check_contains "error line: the DEV escaped" "$(cat "$tmp/err.out")" 'sriovctl: show: nosuch\x1b]0;x\x07: no such device'
check_status "-j list keeps the raw name (JSON escapes it itself)" 0 "$ctl" --sysfs-root "$tmp/esc" -j list
check_eq "-j list: the netdev as it is" "$(jq -r '.pfs[] | select(.address == "0000:01:00.0") | .netdevs[0]' <<<"$out")" "$evil"
check_eq "-j list: the driver_override as it is" \
	"$(jq -r '.pfs[].vfs[] | select(.address == "0000:01:10.0") | .driver_override' <<<"$out")" $'\e]0;pwned\a'
"$ctl" --sysfs-root "$tmp/esc" check --proc-root "$tmp" --kmsg /dev/null >"$tmp/check.out" 2>&1
check "check: no raw control byte" no_raw_control "$tmp/check.out"
printf 'version: 1\npfs:\n  - match: {netdev: "eth\\e]0;x\\a"}\n    numvfs: 3\n' >"$tmp/esc.conf"
"$ctl" --sysfs-root "$tmp/tb" plan "$tmp/esc.conf" >"$tmp/plan.out" 2>&1
check "plan: a config value with ESC/BEL: no raw control byte" no_raw_control "$tmp/plan.out"
check_contains "plan: the value escaped in its warning" "$(cat "$tmp/plan.out")" 'netdev eth\x1b]0;x\x07 matches no SR-IOV PF'

# --- batch files -------------------------------------------------------------
printf 'show eth0\0#0\n' >"$tmp/nul.batch"
check_status "batch with a NUL byte is refused" 2 "$ctl" --sysfs-root "$tmp/tb" --batch "$tmp/nul.batch"
check_eq "NUL: one line naming the file and line, nothing shown" "$out" \
	"sriovctl: batch: $tmp/nul.batch:1: holds a NUL byte (at byte 10; a batch file is text)"
printf 'show eth0#0\nshow eth0\0#0\n' >"$tmp/nul2.batch"
check_status "NUL on line 2: nothing run" 2 "$ctl" --sysfs-root "$tmp/tb" --batch "$tmp/nul2.batch"
check_eq "NUL on line 2: only the error" "$out" \
	"sriovctl: batch: $tmp/nul2.batch:2: holds a NUL byte (at byte 10; a batch file is text)"
check_status "--batch /tmp (a folder)" 1 "$ctl" --batch /tmp
check_eq "--batch /tmp: says so" "$out" "sriovctl: batch: cannot read /tmp: Is a directory"
check_status "--batch of a missing file" 1 "$ctl" --batch "$tmp/none"
check_eq "--batch missing: says so" "$out" "sriovctl: batch: cannot read $tmp/none: No such file or directory"
check_status "--batch /proc/self/mem (read fails)" 1 "$ctl" --batch /proc/self/mem
check_eq "--batch unreadable: says so" "$out" "sriovctl: batch: cannot read /proc/self/mem: Input/output error"
head -c 5000 /dev/zero | tr '\0' a >"$tmp/long.batch"
check_status "--batch with a 5000-byte line" 2 "$ctl" --batch "$tmp/long.batch"
check_eq "long line: says so" "$out" "sriovctl: batch: $tmp/long.batch:1: longer than 4096 bytes"
yes '' | head -n 70000 >"$tmp/many.batch"
check_status "--batch with 70000 lines" 2 "$ctl" --batch "$tmp/many.batch"
check_eq "many lines: says so" "$out" "sriovctl: batch: $tmp/many.batch: more than 65536 lines"
printf 'show %s\n' "$big" >"$tmp/bigdev.batch"
check_status "--batch with a long DEV" 2 "$ctl" --batch "$tmp/bigdev.batch"
check_eq "--batch with a long DEV: no line above 4096" "$out" "sriovctl: batch: $tmp/bigdev.batch:1: longer than 4096 bytes"

# --- global options anywhere, in batch lines too -----------------------------
printf -- '-j show eth0#0\nshow eth0#1 -j\nshow --json 0000:01:10.4\nshow eth0#0\n' >"$tmp/opts.batch"
"$ctl" --sysfs-root "$tmp/tb" --batch "$tmp/opts.batch" >"$tmp/opts.out" 2>&1
check_eq "batch lines with -j before/after: exit 0" "$?" 0
check_eq "batch: three JSON documents, then text" \
	"$(jq -rs 'map(.address) | join(" ")' < <(head -n -12 "$tmp/opts.out") 2>&1)" \
	"0000:01:10.0 0000:01:10.2 0000:01:10.4"
check_contains "batch: a line without -j stays text" "$(tail -12 "$tmp/opts.out")" "address:             0000:01:10.0"
printf 'show eth0#0 --sysfs-root %s\n' "$tmp/tb" >"$tmp/root.batch"
check_status "batch line with its own --sysfs-root" 0 "$ctl" --sysfs-root /nonexistent --batch "$tmp/root.batch"
check_contains "batch line with its own root: shown" "$out" "address:             0000:01:10.0"
for cmd in "list -j" "show eth0 -j" "show -j eth0" "check -j --proc-root $tmp --kmsg /dev/null" "stats eth0 -j"; do
	# shellcheck disable=SC2086
	"$ctl" --sysfs-root "$tmp/tb" $cmd >"$tmp/j.out" 2>/dev/null
	check "'$cmd': JSON on stdout" is_json "$tmp/j.out"
done
# the lines on stderr (with -j the error document is on stdout too)
stderr_lines() { grep -E '^(sriovctl|Try)' <<<"$1"; }
check_status "vf set with -j after the settings" 1 "$ctl" vf set eth0#0 mac 02:00:00:00:00:01 -j --sysfs-root "$tmp/tb"
check_eq "vf set ... -j: the options were taken (live-host rule, not a parse error)" "$(stderr_lines "$out")" \
	"sriovctl: vf set: --sysfs-root $tmp/tb is not this kernel's /sys: VFs can be changed only on the live host"
check_status "vf set with --sysfs-root=DIR in the middle" 1 "$ctl" vf set --sysfs-root="$tmp/tb" eth0#0 vlan 5
check_contains "vf set --sysfs-root=DIR: taken" "$out" "is not this kernel's /sys"
check_status "vf set: a negative value is still a value" 2 "$ctl" vf set eth0#0 vlan -1 -j --sysfs-root "$tmp/tb"
check_eq "vf set vlan -1: judged by the vlan parser" "$(stderr_lines "$out")" "sriovctl: vf set eth0#0: vlan: '-1' is not a number
Try 'sriovctl --help'."
check_status "option missing its value after the command" 2 "$ctl" show eth0 --sysfs-root
check_contains "missing value: named" "$out" "option '--sysfs-root' needs a value"
check_status "--json=x is refused" 2 "$ctl" list --json=x
check_status "--batch after the command stays refused" 2 "$ctl" list --batch "$tmp/opts.batch"
schema_done
tap_done
