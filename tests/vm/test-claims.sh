#!/bin/bash
# Claims scenario, run INSIDE the testbed VM (tests/vm/run-vm.sh), as root,
# against the real kernel, in one boot: on the two igb PFs (3 VFs each),
# consumer A claims 2 VFs by alias and B 1 VF by network (its VLAN) with its
# own MAC; the over-assignment answer; the same claim again returns the same
# VFs; the PF whose VFs are held and a count change of it are refused naming
# the consumer; two claims of one VF at once give it to one consumer; a
# --vfio claim is bound to vfio-pci and passes the pre-flight; release
# scrubs each VF back (stable MAC, VLAN 0, spoof checking on, trust off,
# driver), read back with /sbin/ip and sysfs. The ledger lives on the
# guest's tmpfs (--state-dir), never in the host's /var/lib.
#   test-claims.sh BUILD_DIR [ARTIFACT_DIR]
set -uo pipefail
build=$1
artifacts=${2:-}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/lib/tap.sh"
ctl=$build/src/sriovctl
. "$here/lib/schema.sh"
schema_init "$ctl" "${artifacts:-/run/sriovctl-test}/json"
IP=/sbin/ip
D=/sys/bus/pci/devices
work=/run/claims
mkdir -p "$work"
state=(--state-dir "$work/state")
A=aaaaaaaa-0000-4000-8000-000000000001
B=bbbbbbbb-0000-4000-8000-000000000002
C=cccccccc-0000-4000-8000-000000000003
V=dddddddd-0000-4000-8000-000000000004

drv() { local l; l=$(readlink "$D/$1/driver" 2>/dev/null) && echo "${l##*/}" || echo -; }
group() { local l; l=$(readlink "$D/$1/iommu_group") && echo "${l##*/}"; }
vf_n() { local l; l=$(readlink "$D/$1/virtfn$2") && echo "${l##*/}"; }
pfs_by_driver() {
	local d l
	for d in "$D"/*; do
		l=$(readlink "$d/driver" 2>/dev/null) && [ "${l##*/}" == "$1" ] && echo "${d##*/}"
	done
}
wait_driver() { # wait_driver ADDR DRIVER
	for _ in $(seq 100); do
		[ "$(drv "$1")" == "$2" ] && return 0
		sleep 0.1
	done
	return 1
}
# vfline PF N: the PF's "vf N ..." line of ip link show
vfline() { $IP link show "$1" | grep -E "^ +vf $2 " | head -1; }
vfmac() { vfline "$1" "$2" | sed -n 's/.* link\/ether \([0-9a-f:]*\).*/\1/p'; }
# stable PF N: the stable MAC of docs/config.md, from the PF's permanent MAC
stable() {
	local perm h x o n
	perm=$(cat "/sys/class/net/$1/address")
	IFS=: read -r -a h <<<"$perm"
	o=$((16#${h[0]} << 16 | 16#${h[1]} << 8 | 16#${h[2]}))
	n=$((16#${h[3]} << 16 | 16#${h[4]} << 8 | 16#${h[5]}))
	x=$(((o * 0x9E3779) & 0xFFFFFF)); x=$((x ^ (x >> 12)))
	x=$(((x * 0x2C1B3D) & 0xFFFFFF)); x=$((x ^ (x >> 12)))
	x=$((n ^ x))
	printf '02:%02x:%02x:%02x:%02x:%02x\n' $((x >> 16)) $(((x >> 8) & 255)) $((x & 255)) $(($2 >> 8)) $(($2 & 255))
}
# run ARGS...: sriovctl ARGS with the scenario's ledger; $rc, $out, $err
run() {
	rc=0
	"$ctl" "${state[@]}" "$@" >"$work/out" 2>"$work/err" || rc=$?
	out=$(<"$work/out")
	err=$(<"$work/err")
}
devs() { jq -r '[.claim.devices[].address] | join(" ")' <<<"$out"; }

igb_pfs=($(pfs_by_driver igb))
pf0=${igb_pfs[0]} pf1=${igb_pfs[1]}
n0=$(ls "$D/$pf0/net") n1=$(ls "$D/$pf1/net")
check_status "numvfs $n0 3" 0 "$ctl" "${state[@]}" numvfs "$n0" 3
check_status "numvfs $n1 3" 0 "$ctl" "${state[@]}" numvfs "$n1" 3
a0=$(vf_n "$pf0" 0) a1=$(vf_n "$pf0" 1) a2=$(vf_n "$pf0" 2)
b0=$(vf_n "$pf1" 0) b2=$(vf_n "$pf1" 2)
check "every VF on igbvf" wait_driver "$a0" igbvf && wait_driver "$a2" igbvf && wait_driver "$b0" igbvf
cat >"$work/sriovd.conf" <<EOF
version: 1
aliases:
  - {name: nic, vendor_id: '8086', product_id: 10ca, device_type: type-VF}
networks:
  - {name: blue, vlan: 100, pfs: [$n1]}
EOF
cf=(--config "$work/sriovd.conf" --config-dir "")

# --- claims ------------------------------------------------------------------------
run -j claim "${cf[@]}" --consumer "$A" --request nic:2
check_eq "A: nic:2 by alias: exit 0" "$rc" 0
check_eq "A: the first two VFs of $n0" "$(devs)" "$a0 $a1"
check_eq "A: ip shows VF 0 with its stable MAC" "$(vfmac "$n0" 0)" "$(stable "$n0" 0)"
check_eq "A: ip shows VF 1 with its stable MAC" "$(vfmac "$n0" 1)" "$(stable "$n0" 1)"
check_eq "A: the MAC it says it gave is the one ip shows" "$(jq -r '.claim.devices[0].mac' <<<"$out")" "$(vfmac "$n0" 0)"
idA=$(jq -r .claim.id <<<"$out")
run -j claim "${cf[@]}" --consumer "$B" --network blue --mac 02:aa:bb:cc:dd:01
check_eq "B: blue by network: exit 0" "$rc" 0
check_eq "B: a VF of $n1" "$(devs)" "$b0"
check_contains "B: ip shows the network's VLAN on it" "$(vfline "$n1" 0)" "vlan 100"
check_eq "B: ip shows its MAC" "$(vfmac "$n1" 0)" "02:aa:bb:cc:dd:01"
run claim "${cf[@]}" --consumer "$C" --request nic:5
check_eq "over-assignment: exit 1" "$rc" 1
check_contains "over-assignment: how many are free" "$err" "request nic:5: 5 wanted, 3 free; the others do not count: 3 claimed, 0 on the wrong NUMA node"
run -j claim "${cf[@]}" --consumer "$A" --request nic:2
check_eq "A again: the same VFs" "$(devs)" "$a0 $a1"
check_eq "A again: the same claim, a repeat" "$(jq -r '"\(.claim.id) \(.repeat)"' <<<"$out")" "$idA true"
run claim "${cf[@]}" --consumer "$C" --device "$n0"
check_eq "the PF whose VFs A holds: exit 1" "$rc" 1
check_contains "the PF: names the consumer" "$err" "a VF of it is held by consumer $A"
run numvfs "$n0" 1
check_eq "numvfs of that PF: exit 1" "$rc" 1
check_contains "numvfs: names the consumer" "$err" "VF 0 ($a0) is held by consumer $A (claim $idA)"
check_eq "sysfs: still 3 VFs" "$(<"$D/$pf0/sriov_numvfs")" 3
run -j list
check_eq "list -j: who holds each VF of $n0" "$(jq -c --arg p "$pf0" '[.pfs[] | select(.address == $p) | .vfs[].claimed_by]' <<<"$out")" \
	"[\"$A\",\"$A\",null]"

# two claims of one VF at once: one consumer gets it
( "$ctl" "${state[@]}" claim "${cf[@]}" --consumer "$C" --device "$n1#2" >"$work/c.out" 2>&1; echo $? >"$work/c.rc" ) &
( "$ctl" "${state[@]}" claim "${cf[@]}" --consumer "$V" --device "$n1#2" >"$work/v.out" 2>&1; echo $? >"$work/v.rc" ) &
wait
check_eq "two claims at once: one exit 0, one exit 1" "$(sort "$work/c.rc" "$work/v.rc" | tr '\n' ' ')" "0 1 "
run -j claims
check_eq "two claims at once: the VF in one claim" \
	"$(jq --arg d "$b2" '[.claims[] | select(.devices[].address == $d)] | length' <<<"$out")" 1
winner=$C
[ "$(<"$work/c.rc")" == 0 ] || winner=$V
check_status "release the winner" 0 "$ctl" "${state[@]}" release "${cf[@]}" --consumer "$winner"

# --- vfio ----------------------------------------------------------------------------
run -j claim "${cf[@]}" --consumer "$V" --device "$n0#2" --vfio
check_eq "--vfio: exit 0" "$rc" 0
check_eq "--vfio: sysfs says vfio-pci" "$(drv "$a2")" vfio-pci
check_eq "--vfio: its VFIO node" "$(jq -r '.claim.devices[0].vfio_device' <<<"$out")" "/dev/vfio/$(group "$a2")"
check "--vfio: the node exists" test -c "/dev/vfio/$(group "$a2")"
check_status "release the vfio claim" 0 "$ctl" "${state[@]}" release "${cf[@]}" --consumer "$V"
check "released: back on igbvf" wait_driver "$a2" igbvf

# --- release scrubs ----------------------------------------------------------------
# What a consumer may have done to its VFs meanwhile.
$IP link set "$n0" vf 0 vlan 7 qos 2 spoofchk off trust on
$IP link set "$n1" vf 0 trust on spoofchk off
check_contains "A's VF 0 as its consumer left it" "$(vfline "$n0" 0)" "vlan 7"
run -j release "${cf[@]}" --consumer "$A"
check_eq "release A: exit 0" "$rc" 0
check_eq "release A: released, both VFs" "$(jq -c '.released[] | [.state, .devices]' <<<"$out")" "[\"released\",[\"$a0\",\"$a1\"]]"
l=$(vfline "$n0" 0)
check_eq "scrubbed: VF 0 has its stable MAC (ip)" "$(vfmac "$n0" 0)" "$(stable "$n0" 0)"
check "scrubbed: no VLAN (ip)" bash -c "! grep -q ' vlan ' <<<'$l'"
check_contains "scrubbed: spoof checking on (ip)" "$l" "spoof checking on"
check_contains "scrubbed: trust off (ip)" "$l" "trust off"
check_contains "scrubbed: link-state auto (ip)" "$l" "link-state auto"
check_eq "scrubbed: VF 0 on igbvf (sysfs)" "$(drv "$a0")" igbvf
run -j release "${cf[@]}" --consumer "$B"
check_eq "release B: exit 0" "$rc" 0
l=$(vfline "$n1" 0)
check_eq "scrubbed: B's VF back to its stable MAC (ip)" "$(vfmac "$n1" 0)" "$(stable "$n1" 0)"
check "scrubbed: B's VF without VLAN 100 (ip)" bash -c "! grep -q ' vlan ' <<<'$l'"
check_contains "scrubbed: B's VF spoof checking on (ip)" "$l" "spoof checking on"
check_contains "scrubbed: B's VF trust off (ip)" "$l" "trust off"
run -j release "${cf[@]}" --consumer "$A"
check_eq "a second release: exit 0" "$rc" 0
check_eq "a second release: nothing" "$(jq -c .released <<<"$out")" "[]"
run release "${cf[@]}" --consumer eeeeeeee-0000-4000-8000-000000000005
check_eq "an unknown consumer: exit 1" "$rc" 1
check_contains "an unknown consumer: says so" "$err" "is not known to the ledger"
run -j claims
check_eq "nothing held any more" "$(jq -c .claims <<<"$out")" "[]"
check_status "numvfs $n0 1 once the VFs are free" 0 "$ctl" "${state[@]}" numvfs "$n0" 1
check "the ledger is on the guest's tmpfs, not in /var/lib" test -f "$work/state/ledger.db"

schema_done
tap_done
