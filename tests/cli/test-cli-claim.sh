#!/bin/bash
# sriovctl claim, release and claims on a fake testbed tree (the ledger in
# the tree's own .sriovd/, no kernel behind it: claims record the devices
# only): by device, alias and network; idempotence; exclusivity both ways;
# the over-assignment answer; bad input (exit 2, one line); numvfs and bind
# refused naming the consumer; claimed_by in match, list and show; release
# (a second one is a no-op, an unknown consumer an error); --state-dir; a
# newer schema refused; the crash-point hook. Every -j document is
# validated against docs/sriovctl.schema.json.
#   test-cli-claim.sh SRIOVCTL MKFAKESYSFS SRIOVD
set -uo pipefail
real_ctl=$1
mk=$2
sriovd=$3
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/../vm/lib/tap.sh"
. "$here/../vm/lib/schema.sh"
tmp=$(mktemp -d "${TMPDIR:-/dev/shm}/sriovctl-claim.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
schema_init "$real_ctl" "$tmp/captured"
"$mk" "$tmp/tb" testbed >/dev/null
cat >"$tmp/sriovd.conf" <<'EOF'
version: 1
pfs:
  - match: {netdev: eth0}
    labels: [fast]
aliases:
  - {name: nic, vendor_id: '8086', product_id: 10ca, device_type: type-VF}
networks:
  - {name: blue, vlan: 100, labels: [fast]}
  - {name: red, pfs: [eth1]}
EOF
tb=(--sysfs-root "$tmp/tb")
cf=(--config "$tmp/sriovd.conf" --config-dir "")
A=aaaaaaaa-0000-4000-8000-000000000001
B=bbbbbbbb-0000-4000-8000-000000000002
C=cccccccc-0000-4000-8000-000000000003

# run ARGS...: sriovctl ARGS on the tree; $rc, $out, $err
run() {
	local a extra=()
	for a; do
		case $a in claim | release | claims) extra=("${cf[@]}") ;; esac
	done
	rc=0
	"$ctl" "${tb[@]}" "$@" "${extra[@]}" >"$tmp/out" 2>"$tmp/err" || rc=$?
	out=$(cat "$tmp/out")
	err=$(cat "$tmp/err")
}
# devs: the addresses of the claim document in $out
devs() { jq -r '[.claim.devices[].address] | join(" ")' <<<"$out"; }

run -j claim --consumer "$A" --request nic:2
check_eq "alias: exit 0" "$rc" 0
check_eq "alias: the first two VFs" "$(devs)" "0000:01:10.0 0000:01:10.2"
check_eq "alias: not a repeat" "$(jq -r .repeat <<<"$out")" false
idA=$(jq -r .claim.id <<<"$out")
run -j claim --consumer "$A" --request nic:2
check_eq "the same claim again: exit 0" "$rc" 0
check_eq "the same claim again: the same VFs" "$(devs)" "0000:01:10.0 0000:01:10.2"
check_eq "the same claim again: the same id, a repeat" "$(jq -r '"\(.claim.id) \(.repeat)"' <<<"$out")" "$idA true"
run -j claim --consumer "$B" --network red
check_eq "network: exit 0" "$rc" 0
check_eq "network: a VF of an allowed PF" "$(devs)" "0000:02:10.0"
run claim --consumer "$C" --request nic:4
check_eq "over-assignment: exit 1" "$rc" 1
check_eq "over-assignment: how many are free and why" "$err" \
	"sriovctl: claim: request nic:4: 4 wanted, 3 free; the others do not count: 3 claimed, 0 on the wrong NUMA node, 5 not matched"
run -j claim --consumer "$C" --request nic:4
check_eq "over-assignment -j: the counts" "$(jq -c .refused <<<"$out")" \
	'{"wanted":4,"free":3,"claimed":3,"wrong_numa":0,"not_matched":5}'
run claim --consumer "$C" --device eth0
check_eq "the PF of held VFs: exit 1" "$rc" 1
check_eq "the PF of held VFs: names the consumer" "$err" \
	"sriovctl: claim: device: 0000:01:00.0: a VF of it is held by consumer $A (claim $idA)"
run claim --consumer "$C" --device 0000:01:10.2
check_eq "a held VF: names the consumer" "$err" \
	"sriovctl: claim: device: 0000:01:10.2: it is held by consumer $A (claim $idA)"
run -j claim --consumer "$C" --device 0000:00:03.0
check_eq "a PF as a whole: exit 0" "$rc" 0
check_eq "a PF as a whole: role pf" "$(jq -r '.claim.devices[0].role' <<<"$out")" pf
run numvfs 0000:00:03.0 2
check_eq "numvfs of a claimed PF: exit 1" "$rc" 1
check_contains "numvfs of a claimed PF: names the consumer" "$err" "the PF is held by consumer $C"
run numvfs eth0 1
check_eq "numvfs of a PF with claimed VFs: exit 1" "$rc" 1
check_contains "numvfs: names the consumer" "$err" "VF 0 (0000:01:10.0) is held by consumer $A (claim $idA)"
run -j numvfs eth0 "$(<"$tmp/tb/bus/pci/devices/0000:01:00.0/sriov_numvfs")"
check_eq "numvfs to its count: exit 0" "$rc" 0
check_eq "numvfs: the PF shown names the VF's holder" \
	"$(jq -r '.pf.vfs[] | select(.address == "0000:01:10.0") | .claimed_by' <<<"$out")" "$A"
run bind eth3 e1000e
check_eq "bind of a held VF: exit 1" "$rc" 1
check_contains "bind of a held VF: names the consumer" "$err" "it is held by consumer $A"

# sriovd's re-apply leaves the held VFs of eth1 alone, naming the consumer
printf 'version: 1\npfs:\n  - match: {netdev: eth1}\n    numvfs: 1\n' >"$tmp/shrink.conf"
rc=0
"$sriovd" --sysfs-root "$tmp/tb" --config "$tmp/shrink.conf" --config-dir "" --once >"$tmp/d.out" 2>&1 || rc=$?
check_eq "sriovd --once over a held VF: exit 1" "$rc" 1
check_contains "sriovd: refused, naming the consumer" "$(cat "$tmp/d.out")" \
	"VF 0 (0000:02:10.0) is held by consumer $B (claim 2)"
check_eq "sriovd: the count is unchanged" "$(cat "$tmp/tb/bus/pci/devices/0000:02:00.0/sriov_numvfs")" 3

# claimed_by in match, list, show
run -j match --spec '{"product_id":"10ca"}'
check_eq "match: claimed_by" "$(jq -c '[.devices[].claimed_by]' <<<"$out")" \
	"[\"$A\",\"$A\",null,\"$B\",null,null]"
run -j list
check_eq "list -j: claimed_by of the VFs" \
	"$(jq -c '[.pfs[].vfs[] | .claimed_by]' <<<"$out")" "[\"$A\",\"$A\",null,\"$B\",null,null]"
check_eq "list -j: claimed_by of the nvme PF" "$(jq -r '.pfs[0].claimed_by' <<<"$out")" "$C"
run list
check_contains "list: who holds the VF" "$out" "0000:01:10.2 eth3       igbvf     3     -                 -    -   -        -     -       -      -       claimed-by $A"
run show eth5
check_contains "show: claimed_by" "$out" "claimed_by:          $B"
run -j show eth4
check_eq "show -j: free" "$(jq -r .claimed_by <<<"$out")" null

# claims
run -j claims
check_eq "claims: three" "$(jq -r '[.claims[] | "\(.consumer | .[0:1]):\(.state):\(.kind)"] | join(" ")' <<<"$out")" \
	"a:active:alias b:active:network c:active:device"
run -j claims --consumer "$B"
check_eq "claims --consumer: one" "$(jq -r '.claims[0].request' <<<"$out")" red
run claims
check_contains "claims: text" "$out" "active consumer $A alias nic:2 since"

# bad input: exit 2, one line
bad() {
	local desc=$1 want=$2
	shift 2
	run "$@"
	check_eq "$desc: exit 2" "$rc" 2
	check_eq "$desc: the line" "$(head -1 <<<"$err")" "sriovctl: $want"
	check_eq "$desc: nothing on stdout" "$out" ""
}
bad "no consumer" "claim: --consumer UUID is required" claim --device eth2
bad "not a UUID" "claim: --consumer: 'x' is not a UUID (8-4-4-4-12 hex digits)" claim --consumer x --device eth2
bad "two kinds" "claim: give one of --request ALIAS:N, --network NAME, --device ADDR" \
	claim --consumer "$C" --device eth2 --network red
bad "count without network" "claim: --count goes with --network" claim --consumer "$C" --device eth2 --count 2
bad "vlan out of range" "claim: --vlan: '4095' is not a VLAN (0-4094)" claim --consumer "$C" --device eth2 --vlan 4095
bad "multicast mac" "claim: --mac: '03:00:00:00:00:01' is not a unicast MAC (aa:bb:cc:dd:ee:ff)" \
	claim --consumer "$C" --device eth2 --mac 03:00:00:00:00:01
bad "numa node" "claim: --numa-node: 'x' is not a NUMA node (0-1023)" claim --consumer "$C" --device eth2 --numa-node 0,x
bad "unknown alias" "claim: request: alias 'gpu' is not defined" claim --consumer "$C" --request gpu:1
bad "release without consumer" "release: --consumer UUID is required" release
bad "release --claim 0" "release: --claim: '0' is not a claim id" release --consumer "$A" --claim 0
run claim --consumer "$C" --network green
check_eq "unknown network: exit 1" "$rc" 1
check_eq "unknown network: the line" "$err" "sriovctl: claim: network: 'green' is not a network of the config"
run claim --consumer "$C" --device 0000:09:00.0
check_eq "no such device: exit 1" "$rc" 1

# release
run -j release --consumer "$A"
check_eq "release: exit 0" "$rc" 0
check_eq "release: the claim and its devices" "$(jq -c '.released[] | [.id, .state, .devices]' <<<"$out")" \
	"[$idA,\"released\",[\"0000:01:10.0\",\"0000:01:10.2\"]]"
run -j release --consumer "$A"
check_eq "a second release: exit 0" "$rc" 0
check_eq "a second release: nothing" "$(jq -c .released <<<"$out")" "[]"
run release --consumer "$A"
check_eq "a second release, text" "$out" "consumer $A holds nothing: nothing to release"
run release --consumer dddddddd-0000-4000-8000-000000000004
check_eq "unknown consumer: exit 1" "$rc" 1
check_eq "unknown consumer: the line" "$err" \
	"sriovctl: release: consumer: dddddddd-0000-4000-8000-000000000004 is not known to the ledger (it never claimed anything)"
run release --consumer "$B" --claim "$idA"
check_eq "another consumer's claim: exit 1" "$rc" 1
check_eq "another consumer's claim: the line" "$err" "sriovctl: release: claim: $idA is not a claim of consumer $B"
run -j match --spec '{"product_id":"10ca"}'
check_eq "released VFs are free again" "$(jq -c '[.devices[].claimed_by]' <<<"$out")" "[null,null,null,\"$B\",null,null]"
run numvfs eth0 1
check_eq "numvfs once the VFs are free: exit 0" "$rc" 0

# the crash-point hook: killed after the claim was committed
rc=$(
	SRIOV_TEST_CRASH_AT=active "$real_ctl" "${tb[@]}" claim "${cf[@]}" --consumer "$A" --device eth7 >/dev/null 2>&1
	echo $?
)
check_eq "SRIOV_TEST_CRASH_AT=active: killed (128 + SIGKILL)" "$rc" 137
run -j claims --consumer "$A"
check_eq "killed after the commit: the claim is there" "$(jq -r '.claims[0].devices[0].address' <<<"$out")" \
	"0000:02:10.4"

# where the ledger lives
check "the ledger is in the tree's own folder" test -f "$tmp/tb/.sriovd/ledger.db"
check_eq "the ledger is 0600" "$(stat -c %a "$tmp/tb/.sriovd/ledger.db")" 600
mkdir "$tmp/state"
run --state-dir "$tmp/state" -j claim --consumer "$A" --device eth6
check_eq "--state-dir: exit 0" "$rc" 0
check "--state-dir: the ledger is there" test -f "$tmp/state/ledger.db"
run --state-dir "$tmp/state" -j claims
check_eq "--state-dir: its own claims" "$(jq -r '[.claims[].devices[].address] | join(" ")' <<<"$out")" "0000:02:10.2"

# a newer schema is refused (user_version: byte 60 of the header)
cp "$tmp/state/ledger.db" "$tmp/newer.db"
mkdir "$tmp/newer" && mv "$tmp/newer.db" "$tmp/newer/ledger.db"
printf '\x00\x00\x00\x02' | dd of="$tmp/newer/ledger.db" bs=1 seek=60 conv=notrunc status=none
run --state-dir "$tmp/newer" claims
check_eq "a newer schema: exit 1" "$rc" 1
check_eq "a newer schema: says so" "$err" \
	"sriovctl: claims: ledger $tmp/newer/ledger.db: schema version 2 is newer than this sriovd knows (1); use the sriovd that wrote it, or a newer one"
mkdir "$tmp/linked" && ln -s "$tmp/state/ledger.db" "$tmp/linked/ledger.db"
run --state-dir "$tmp/linked" claims
check_eq "a symlink in the ledger's place: exit 1" "$rc" 1

schema_done
tap_done
