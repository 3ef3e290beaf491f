#!/bin/bash
# Every kind of `sriovctl -j` document, on fake sysfs trees, validated
# against docs/sriovctl.schema.json (tests/lib/validate-json): list, show
# (PF, VF, no SR-IOV), check, stats, numvfs, bind, plan, apply, status and
# the error document; a tree with unreadable values (null expected) and
# warnings; trees whose links loop (the printer never recurses on data); and
# the schema itself refusing a renamed key.
#   test-cli-json.sh SRIOVCTL MKFAKESYSFS
set -uo pipefail
real_ctl=$1
mk=$2
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/../vm/lib/tap.sh"
. "$here/../vm/lib/schema.sh"
validate=$here/../lib/validate-json
tmp=$(mktemp -d "${TMPDIR:-/dev/shm}/sriovctl-json.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
schema_init "$real_ctl" "$tmp/captured"
export SRIOV_STATE_DIR=$tmp/state

# json DESC STATUS ARGS...: runs "$ctl" ARGS (with -j), stdout alone in $out;
# STATUS "any" takes any exit status.
json() {
	local desc=$1 want=$2 rc=0
	shift 2
	out=$("$ctl" "$@" 2>"$tmp/stderr") || rc=$?
	if [[ $want == any || $rc == "$want" ]] && jq -e . >/dev/null 2>&1 <<<"$out"; then
		tap_ok "$desc"
	else
		tap_not_ok "$desc (exit $rc, wanted $want, or not JSON)"
		sed 's/^/#   /' "$tmp/stderr" | head -5
	fi
}

"$mk" "$tmp/tb" testbed >/dev/null
tb=(--sysfs-root "$tmp/tb")
json "list" 0 -j list "${tb[@]}"
json "show PF" 0 -j show eth0 "${tb[@]}"
check_eq "show: schema_version and warnings" "$(jq -c '[.schema_version, .warnings]' <<<"$out")" '[1,[]]'
json "show VF" 0 -j show eth0#1 "${tb[@]}"
check_eq "show VF: its keys" "$(jq -c '[.role, .vf_index, .pf, .link]' <<<"$out")" '["vf",1,"0000:01:00.0",null]'
json "show a function without SR-IOV" 0 -j show 0000:00:02.0 "${tb[@]}"
json "stats of a PF" 0 -j stats eth0 "${tb[@]}"
check_eq "stats: no counters off the live host" "$(jq -c '[.vfs[].stats]' <<<"$out")" '[null,null,null]'
json "stats of a VF" 0 -j stats eth0#2 "${tb[@]}"
json "check" any -j check "${tb[@]}" --proc-root "$tmp" --kmsg /dev/null
json "numvfs to the same count: nothing written" 0 -j numvfs eth0 3 "${tb[@]}"
check_eq "numvfs: the outcome on stdout" "$(jq -c '[.address, .requested, .before, .after, .changed, .pf.address, .pf.sriov.numvfs]' <<<"$out")" \
	'["0000:01:00.0",3,3,3,false,"0000:01:00.0",3]'
# The PF numvfs shows is read again after the change: every key as a scan
# of its own gives it (show's DEVICE has three keys more), names included.
pf_doc=$(jq -S .pf <<<"$out")
json "show the PF after numvfs" 0 -j show eth0 "${tb[@]}"
check_eq "numvfs: its PF = show's PF" "$pf_doc" "$(jq -S 'del(.schema_version, .warnings, .unsupported_settings)' <<<"$out")"
if [ -e /usr/lib/udev/hwdb.bin ] || [ -e /lib/udev/hwdb.bin ] || [ -e /etc/udev/hwdb.bin ] ||
	[ -e /usr/share/misc/pci.ids ]; then
	check_eq "numvfs: the PF's and a VF's names" "$(jq -c '[.vendor, .device, .vfs[0].device]' <<<"$pf_doc")" \
		'["Intel Corporation","82576 Gigabit Network Connection","82576 Virtual Function"]'
else
	tap_ok "# SKIP this host has neither hwdb.bin nor pci.ids"
fi
json "numvfs above totalvfs: the error document" 1 -j numvfs eth0 8 "${tb[@]}"
check_eq "error document" "$(jq -c '[.command, .exit_status, (.error | test("at most 7"))]' <<<"$out")" '["numvfs",1,true]'
json "bind to the driver it has: nothing to do" 0 -j bind eth0#0 igbvf "${tb[@]}"
check_eq "bind: schema_version, nothing changed" "$(jq -c '[.schema_version, .changed, .driver]' <<<"$out")" '[1,false,"igbvf"]'
json "usage error: the error document, exit 2" 2 -j numvfs eth0 abc "${tb[@]}"
check_eq "usage error document" "$(jq -c '[.command, .exit_status]' <<<"$out")" '["numvfs",2]'
json "unknown command: error document" 2 -j frobnicate
check_eq "unknown command: command named" "$(jq -r .command <<<"$out")" frobnicate
json "bad global option: error document without a command" 2 -j --frobnicate list
check_eq "bad global option: command null" "$(jq -c .command <<<"$out")" null
json "vf set off the live host: error document" 1 -j "${tb[@]}" vf set eth0#0 vlan 5

# plan, apply and status on the fake tree
cat >"$tmp/sriovd.conf" <<CONF
version: 1
pfs:
  - match: {netdev: eth0}
    numvfs: 3
    autoprobe: false
CONF
json "plan" 0 -j plan "$tmp/sriovd.conf" "${tb[@]}"
check_eq "plan: the autoprobe change" "$(jq -c '[.changes[] | [.pf, .kind, .now, .want]]' <<<"$out")" \
	'[["0000:01:00.0","autoprobe","on","off"]]'
json "apply" 0 -j apply "$tmp/sriovd.conf" "${tb[@]}"
check_eq "apply: one write" "$(jq -c '[.applied, .writes]' <<<"$out")" '[true,1]'
json "apply again: nothing to do" 0 -j apply "$tmp/sriovd.conf" "${tb[@]}"
printf 'version: 1\npfs:\n  - match: {netdev: eth0}\n    numvfs: 99\n' >"$tmp/toomany.conf"
json "plan that cannot be met: error document" 1 -j plan "$tmp/toomany.conf" "${tb[@]}"
cat >"$tmp/status.json" <<STATUS
{"pid": 999999999, "config": "$tmp/sriovd.conf", "config_dir": null, "config_files": ["$tmp/sriovd.conf"],
 "started": "2026-01-01T00:00:00Z", "stuck": [],
 "last_reconcile": "2026-01-01T00:01:00Z", "applies": 2, "last_writes": 0, "last_drift": 0,
 "errors": [{"time": "2026-01-01T00:00:30Z", "message": "eth0: EBUSY"}]}
STATUS
json "status with a status file" 1 -j status --status-file "$tmp/status.json" "${tb[@]}"
check_eq "status: not running, in sync" "$(jq -c '[.running, .drift, .daemon.applies]' <<<"$out")" '[false,0,2]'
json "status without a status file" 1 -j status --status-file "$tmp/none.json" "${tb[@]}"
check_eq "status: daemon null" "$(jq -c .daemon <<<"$out")" null

# A tree with unreadable values: null, never 0 / "0000" / "000000", and
# the warnings in every document that shows the tree.
"$mk" "$tmp/odd" testbed >/dev/null
pf=$tmp/odd/bus/pci/devices/0000:01:00.0
vf=$tmp/odd/bus/pci/devices/0000:01:10.2
# (no uevent either: it would give the IDs and the class otherwise)
rm "$pf/uevent" "$vf/uevent"
rm "$pf/subsystem_vendor" "$pf/sriov_offset" "$pf/sriov_stride"
printf 'garbage\n' >"$pf/class"
rm "$vf/vendor"
printf 'zz\n' >"$vf/subsystem_device"
odd=(--sysfs-root "$tmp/odd")
json "show PF with unreadable values" 0 -j show eth0 "${odd[@]}"
check_eq "unreadable: subsystem ids, class, VF offset and stride are null" \
	"$(jq -c '[.subsystem_vendor_id, .subsystem_device_id, .class, .sriov.vf_offset, .sriov.vf_stride]' <<<"$out")" \
	'[null,null,null,null,null]'
check_eq "readable values stay" "$(jq -c '[.vendor_id, .sriov.totalvfs, .sriov.vf_device_id]' <<<"$out")" '["8086",7,"10ca"]'
check_contains "show carries the tree's warnings" "$(jq -r '.warnings[]' <<<"$out")" "0000:01:00.0: cannot read class"
json "show VF with unreadable values" 0 -j show eth0#1 "${odd[@]}"
check_eq "unreadable VF ids are null" "$(jq -c '[.vendor_id, .device_id, .subsystem_vendor_id, .subsystem_device_id]' <<<"$out")" \
	'[null,null,null,null]'
json "list with unreadable values" 0 -j list "${odd[@]}"
check_eq "list: the same nulls" "$(jq -c '.pfs[] | select(.address=="0000:01:00.0") | [.class, .sriov.vf_offset]' <<<"$out")" '[null,null]'
json "stats carries the warnings" 0 -j stats eth0 "${odd[@]}"
check_contains "stats warnings" "$(jq -r '.warnings[]' <<<"$out")" "0000:01:10.2: cannot read vendor"
json "numvfs carries the warnings" 0 -j numvfs eth0 3 "${odd[@]}"
check_contains "numvfs warnings" "$(jq -r '.warnings[]' <<<"$out")" "0000:01:10.2: cannot read vendor"

# Links that loop: a PF listing itself, two PFs listing each other. The
# documents end, and are valid (the scan refuses such links with a warning).
is_json() { jq -e . "$1" >/dev/null 2>&1; }
"$mk" "$tmp/loop" testbed >/dev/null
ln -s ../0000:01:00.0 "$tmp/loop/bus/pci/devices/0000:01:00.0/virtfn5"
ln -s ../0000:01:00.0 "$tmp/loop/bus/pci/devices/0000:02:00.0/virtfn6"
ln -s ../0000:02:00.0 "$tmp/loop/bus/pci/devices/0000:01:00.0/virtfn6"
for cmd in "list" "show eth0" "show eth1" "numvfs eth0 3"; do
	rc=0
	timeout 20 "$ctl" -j $cmd --sysfs-root "$tmp/loop" >"$tmp/loop.json" 2>/dev/null || rc=$?
	check "looping links: -j $cmd ends with a document (exit $rc)" is_json "$tmp/loop.json"
done

# The schema is a contract: a renamed key fails it.
"$real_ctl" -j list "${tb[@]}" >"$tmp/list.json"
check "the schema accepts list" "$validate" list "$tmp/list.json"
for rename in vf_index:vfindex iommu_groups:groups schema_version:version sriov:sr_iov numvfs:num_vfs; do
	sed "s/\"${rename%%:*}\"/\"${rename#*:}\"/" "$tmp/list.json" >"$tmp/renamed.json"
	check "the schema refuses ${rename%%:*} renamed ${rename#*:}" bash -c "! '$validate' list '$tmp/renamed.json' 2>/dev/null"
done
jq 'del(.pfs[1].vfs[0].link)' "$tmp/list.json" >"$tmp/dropped.json"
check "the schema refuses a dropped key" bash -c "! '$validate' list '$tmp/dropped.json' 2>/dev/null"
jq '.pfs[1].vfs[0].numa_node = 0' "$tmp/list.json" >"$tmp/ok.json"
check "a value of the right type passes" "$validate" list "$tmp/ok.json"
jq '.pfs[0].class = "0x0200"' "$tmp/list.json" >"$tmp/bad.json"
check "a value of the wrong form fails" bash -c "! '$validate' list '$tmp/bad.json' 2>/dev/null"

schema_done
tap_done
