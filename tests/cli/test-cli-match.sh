#!/bin/bash
# sriovctl match on fake sysfs trees: --spec (globs, regex mappings, the PF
# rule, pf: PF#VFS, tags, several specs), --alias ... --request, the text
# layout, and refusals (exit 2, one line naming the key). Every -j document
# is validated against docs/sriovctl.schema.json.
#   test-cli-match.sh SRIOVCTL MKFAKESYSFS
set -uo pipefail
real_ctl=$1
mk=$2
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/../vm/lib/tap.sh"
. "$here/../vm/lib/schema.sh"
tmp=$(mktemp -d "${TMPDIR:-/dev/shm}/sriovctl-match.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
schema_init "$real_ctl" "$tmp/captured"
"$mk" "$tmp/tb" testbed >/dev/null
tb=(--sysfs-root "$tmp/tb")

# addrs ARGS...: the matched addresses of `match -j ARGS`, space-separated
addrs() {
	"$ctl" "${tb[@]}" -j match "$@" 2>"$tmp/err" | jq -r '[.devices[].address] | join(" ")'
}
# refused DESC WANT ARGS...: exit 2 and exactly one line on stderr, WANT
refused() {
	local desc=$1 want=$2 rc=0
	shift 2
	"$ctl" "${tb[@]}" match "$@" >"$tmp/out" 2>"$tmp/err" || rc=$?
	check_eq "$desc: exit 2" "$rc" 2
	check_eq "$desc: one line" "$(cat "$tmp/err")" "sriovctl: match: $want"
	check_eq "$desc: nothing on stdout" "$(cat "$tmp/out")" ""
}

vfs0="0000:01:10.0 0000:01:10.2 0000:01:10.4"
vfs1="0000:02:10.0 0000:02:10.2 0000:02:10.4"
check_eq "devname of a PF: its VFs" "$(addrs --spec '{"devname":"eth0"}')" "$vfs0"
check_eq "address of a PF: its VFs" "$(addrs --spec '{"address":"0000:02:00.0"}')" "$vfs1"
check_eq "glob by bus: the PF and its VFs" "$(addrs --spec '{"address":"*:02:*.*"}')" "0000:02:00.0 $vfs1"
check_eq "regex mapping" "$(addrs --spec '{"address":{"bus":"0[12]","slot":"10","function":"[04]"}}')" \
	"0000:01:10.0 0000:01:10.4 0000:02:10.0 0000:02:10.4"
check_eq "vendor and product" "$(addrs --spec '{"vendor_id":"8086","product_id":"10ca"}')" "$vfs0 $vfs1"
check_eq "pf: PF#VFS" "$(addrs --spec '{"pf":"eth1#0,2"}')" "0000:02:10.0 0000:02:10.4"
check_eq "two specs ORed, in address order" "$(addrs --spec '{"pf":"eth1#1"}' --spec '{"devname":"eth8"}')" \
	"0000:00:02.0 0000:02:10.2"
check_eq "a list of specs" "$(addrs --spec '[{"pf":"eth1#1"},{"devname":"eth8"}]')" "0000:00:02.0 0000:02:10.2"
check_eq "nothing matched: an empty list" "$(addrs --spec '{"devname":"nope"}')" ""
out=$("$ctl" "${tb[@]}" -j match --spec '{"devname":"eth3","physical_network":"p1","trusted":"true"}')
check_eq "the document" "$(jq -c . <<<"$out")" \
	'{"schema_version":1,"devices":[{"address":"0000:01:10.2","role":"vf","pf":"0000:01:00.0","tags":{"physical_network":"p1","trusted":"true"},"claimed_by":null}]}'
out=$("$ctl" "${tb[@]}" -j match --spec '{"address":"*:00:*.*"}')
check_eq "roles" "$(jq -c '[.devices[] | [.address, .role, .pf]]' <<<"$out")" \
	'[["0000:00:00.0","pci",null],["0000:00:02.0","pci",null],["0000:00:03.0","pf",null]]'
check_eq "request by alias" \
	"$(addrs --alias '{"name":"a","device_type":"type-VF","product_id":"10ca"}' --request 'a:2')" "$vfs0 $vfs1"
check_eq "request: two aliases" "$(addrs --alias '{"name":"a","product_id":"10d3"}' \
	--alias '{"name":"b","device_type":"type-PF","vendor_id":"1b36"}' --request 'a:1, b:1')" "0000:00:02.0 0000:00:03.0"
check_eq "request within the specs" "$(addrs --spec '{"devname":"eth1"}' \
	--alias '{"name":"a","device_type":"type-VF"}' --request 'a:1')" "$vfs1"
check_eq "text: one line per device" "$("$ctl" "${tb[@]}" match --spec '{"pf":"eth0#1","physical_network":"p1"}')" \
	"0000:01:10.2 vf  pf 0000:01:00.0 physical_network=p1 free"

refused "domain out of range" \
	"--spec: address: domain '10000' (in '10000:*:*.*') is greater than the maximum allowable value (FFFF)" \
	--spec '{"address":"10000:*:*.*"}'
refused "bus out of range" "--spec: address: bus '100' (in '*:100:*.*') is greater than the maximum allowable value (FF)" \
	--spec '{"address":"*:100:*.*"}'
refused "slot out of range" "--spec: address: slot '20' (in '*:*:20.*') is greater than the maximum allowable value (1F)" \
	--spec '{"address":"*:*:20.*"}'
refused "function out of range" "--spec: address: function '8' (in '*:*:*.8') is greater than the maximum allowable value (7)" \
	--spec '{"address":"*:*:*.8"}'
refused "malformed glob" "--spec: address: '1:2:3:4.0' is not [[[[domain]:]bus]:][slot][.[function]]" \
	--spec '{"address":"1:2:3:4.0"}'
refused "malformed regex" "--spec: address: bus: '(' is not a regular expression (Unmatched ( or \\()" \
	--spec '{"address":{"bus":"("}}'
refused "address with devname" "--spec: address: cannot be given with devname (one names the device)" \
	--spec '{"address":"*","devname":"eth0"}'
refused "unknown form" "--spec: address: expected a string or an object of domain, bus, slot, function; found a number" \
	--spec '{"address":1}'
refused "not JSON" "--spec: not JSON: '[' or '{' expected near 'x' (column 1)" --spec 'x'
refused "a key twice" "--spec: not JSON: duplicate object key near '\"devname\"' (column 27)" \
	--spec '{"devname":"eth0","devname":"eth1"}'
refused "nested too deep" "--spec: nested deeper than 16 levels" \
	--spec "{\"t\":$(printf '[%.0s' {1..20})$(printf ']%.0s' {1..20})}"
refused "alias types disagree" \
	"--alias: device_type: alias 'a' is given as type-PF here and as type-VF before; entries of one alias must agree" \
	--alias '{"name":"a","device_type":"type-VF"}' --alias '{"name":"a","device_type":"type-PF"}' --request a:1
refused "request of an unknown alias" "--request: alias 'b' is not defined" --alias '{"name":"a"}' --request b:1
refused "bad request" "--request: count 'x' of alias 'a' is not a number 1-65535" --alias '{"name":"a"}' --request a:x
# The config: device-specs, aliases, networks, PF labels (--config, --network)
cat >"$tmp/c.conf" <<'CONF'
version: 1
pfs:
  - match: {netdev: eth1}
    labels: [fast]
device-specs:
  - {vendor_id: '8086', product_id: 10ca, physical_network: physnet1}
aliases:
  - {name: nic, device_type: type-VF}
networks:
  - {name: red, vlan: 100, labels: [fast]}
  - {name: blue, pfs: ['0000:01:00.0']}
CONF
cfg=(--config "$tmp/c.conf" --config-dir "")
check_eq "network by label" "$(addrs "${cfg[@]}" --network red)" "$vfs1"
out=$("$ctl" "${tb[@]}" -j match "${cfg[@]}" --network red)
check_eq "network: its name and VLAN in the tags" "$(jq -c '.devices[0].tags' <<<"$out")" \
	'{"physical_network":"physnet1","network":"red","vlan":100}'
check_eq "network by PCI address" "$(addrs "${cfg[@]}" --network blue)" "$vfs0"
check_eq "the config's device specs" "$(addrs "${cfg[@]}")" "$vfs0 $vfs1"
check_eq "the config's aliases for --request" "$(addrs "${cfg[@]}" --request nic:2)" "$vfs0 $vfs1"
check_eq "--spec over the config's" "$(addrs "${cfg[@]}" --spec '{"devname":"eth8"}')" "0000:00:02.0"
refused "unknown network" "--network: 'green' is not a network of the config" "${cfg[@]}" --network green
printf 'version: 1\ndevice-specs:\n  - address: "*:*:*.9"\n' >"$tmp/bad.conf"
rc=0
"$ctl" "${tb[@]}" match --config "$tmp/bad.conf" --config-dir "" 2>"$tmp/err" >/dev/null || rc=$?
check_eq "a bad spec in the config: exit 1" "$rc" 1
check_eq "a bad spec in the config: placed" "$(cat "$tmp/err")" \
	"sriovctl: match: $tmp/bad.conf:3:5: device-specs: address: function '9' (in '*:*:*.9') is greater than the maximum allowable value (7)"

rc=0
"$ctl" "${tb[@]}" -j match --spec '{"address":"*:*:*.9"}' >"$tmp/out" 2>/dev/null || rc=$?
check_eq "-j refusal: exit 2" "$rc" 2
check_eq "-j refusal: the error document" "$(jq -c '[.command, .exit_status]' "$tmp/out")" '["match",2]'
rc=0
"$ctl" "${tb[@]}" match >/dev/null 2>&1 || rc=$?
check_eq "no spec: usage error" "$rc" 2

schema_done
tap_done
