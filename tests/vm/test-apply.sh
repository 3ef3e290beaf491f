#!/bin/bash
# Apply scenario, run INSIDE the testbed VM: nothing half-done and the plan
# is the truth, against the real igb/nvme drivers, every outcome read back
# with /sbin/ip and sysfs (the oracles):
#   - rollback of `vf set` and of `apply` with the PF down (max-rate refused,
#     spoof checking put back on), and the put-back's own outcome reported;
#   - apply from 0 VFs with max-rate on igb (the count change resets the PF
#     link; rates are sent once it is back), and the VFs removed again when
#     the rate still fails;
#   - L2 settings on nvme VFs refused by plan before anything is written;
#   - plan and apply line for line, from nothing and from drift, for several
#     configs; apply --force;
#   - both PFs' counts in one apply, then 14 VFs to vfio-pci and back to
#     igbvf, rebound together (the kernel's uevents as record).
#   test-apply.sh BUILD_DIR [ARTIFACT_DIR]
set -uo pipefail
build=$1
artifacts=${2:-}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/lib/tap.sh"
ctl=$build/src/sriovctl
. "$here/lib/schema.sh"
schema_init "$ctl" "${artifacts:-/run/sriovctl-test}/json" # every -j document, validated at the end
IP=/sbin/ip
work=$(mktemp -d /tmp/sriovd-apply.XXXXXX)
export SRIOV_STATE_DIR=$work/state
save() { [ -n "$artifacts" ] && mkdir -p "$artifacts" && cat >"$artifacts/$1" || cat >/dev/null; }

igb=() nvme=
for d in /sys/bus/pci/devices/*; do
	drv=$(readlink "$d/driver" 2>/dev/null)
	[ "${drv##*/}" == igb ] && igb+=("${d##*/}")
	[ "${drv##*/}" == nvme ] && [ -e "$d/sriov_totalvfs" ] && nvme=${d##*/}
done
pf0=${igb[0]} pf1=${igb[1]}
net0=$(ls /sys/bus/pci/devices/$pf0/net | head -1)
net1=$(ls /sys/bus/pci/devices/$pf1/net | head -1)
sys0=/sys/bus/pci/devices/$pf0

ipvf() { $IP -j -d link show "$1" | jq -c --argjson i "$2" '.[0].vfinfo_list[] | select(.vf==$i)'; }
ipfield() { ipvf "$1" "$2" | jq -r "$3"; }
numvfs() { echo 0 >"/sys/bus/pci/devices/$1/sriov_numvfs"; [ "$2" == 0 ] || echo "$2" >"/sys/bus/pci/devices/$1/sriov_numvfs"; }
carrier() { # wait for NETDEV's carrier (up to 10 s)
	for _ in $(seq 100); do
		[ "$(cat /sys/class/net/$1/carrier 2>/dev/null)" == 1 ] && return 0
		sleep 0.1
	done
	return 1
}
conf() { printf 'version: 1\npfs:\n%s\n' "$2" >"$work/$1.conf"; save "$1.conf" <"$work/$1.conf"; }

# --- 1. vf set with the PF down: max-rate refused, spoof checking put back ---
numvfs "$pf0" 1
$IP link set "$net0" down
check_status "vf set spoofchk off max-rate 100, PF down: refused" 1 "$ctl" vf set "$net0#0" spoofchk off max-rate 100
printf '%s\n' "$out" | save vf-set-pf-down.txt
check_contains "vf set: max-rate refused with EINVAL" "$out" "FAILED: Invalid argument [EINVAL]"
check_contains "vf set: spoofchk rolled back" "$out" "rolled back to on"
check_eq "vf set: never 'FAILED: Success'" "$(grep -c 'FAILED: Success' <<<"$out")" 0
check_contains "vf set: says the accepted ones were put back" "$out" "so the accepted ones were put back"
check_eq "ip: spoof checking on after the vf set rollback" "$(ipfield "$net0" 0 .spoofchk)" true
check_status "the same, JSON" 1 "$ctl" -j vf set "$net0#0" spoofchk off max-rate 100
check_eq "vf set JSON: spoofchk rolled_back, max-rate failed" \
	"$(jq -c '[.settings[] | [.setting, .status, .error]]' <<<"$out")" '[["spoofchk","rolled_back",null],["max-rate","failed","EINVAL"]]'
check_eq "ip: spoof checking still on" "$(ipfield "$net0" 0 .spoofchk)" true

# --- 2. apply of the same settings, PF down: put back, and said so ---
conf down "  - match:
      netdev: $net0
    numvfs: 1
    vfs:
      - index: 0
        spoofchk: off
        max-rate: 100"
check_status "apply spoofchk off max-rate 100, PF down: fails" 1 "$ctl" apply "$work/down.conf"
printf '%s\n' "$out" | save apply-pf-down.txt
check_contains "apply: names max-rate, the attribute and the hint" "$out" \
	"$net0 VF 0: max-rate: Invalid argument [EINVAL] (min-rate and max-rate are one IFLA_VF_RATE attribute): the driver refused the rate"
check_contains "apply: spoofchk put back" "$out" "$net0 VF 0 spoofchk: put back to on"
check_contains "apply: counts the writes it sent" "$out" "0 changes applied, 2 writes"
check_eq "ip: spoof checking on after the apply rollback" "$(ipfield "$net0" 0 .spoofchk)" true
check_eq "ip: no rate" "$(ipfield "$net0" 0 .rate.max_tx)" 0
check_status "the same, JSON" 1 "$ctl" -j apply "$work/down.conf"
check_eq "apply JSON: not applied, 1 put back, the sentence" \
	"$(jq -c '[.applied, .rolled_back, .rollback]' <<<"$out")" "[false,1,[\"$net0 VF 0 spoofchk: put back to on\"]]"
check_eq "ip: spoof checking still on" "$(ipfield "$net0" 0 .spoofchk)" true

# An earlier VF's change put back when a later one fails (PF up).
$IP link set "$net0" up
numvfs "$pf0" 2
conf later "  - match:
      netdev: $net0
    numvfs: 2
    vfs:
      - index: 0
        vlan: 200
        qos: 2
      - index: 1
        state: enable"
check_status "apply: VF 1 state refused after VF 0's VLAN" 1 "$ctl" apply "$work/later.conf"
printf '%s\n' "$out" | save apply-later-vf.txt
check_contains "apply: VF 0's VLAN put back" "$out" "$net0 VF 0 vlan: put back to 0"
check_eq "ip: VF 0 VLAN 0 QoS 0 again" "$(ipvf "$net0" 0 | jq -c '[.vlan_list[0].vlan // 0, .vlan_list[0].qos // 0]')" "[0,0]"

# --- 3. apply from 0 VFs with max-rate on igb ---
numvfs "$pf0" 0
check "$net0 has carrier" carrier "$net0"
conf rate0 "  - match:
      netdev: $net0
    numvfs: 2
    vfs:
      - index: 0
        max-rate: 100"
check_status "apply from 0 VFs with max-rate 100 (PF up)" 0 "$ctl" apply "$work/rate0.conf"
printf '%s\n' "$out" | save apply-rate-from-0.txt
check_eq "sysfs: 2 VFs" "$(cat $sys0/sriov_numvfs)" 2
check_eq "ip: VF 0 max_tx_rate 100" "$(ipfield "$net0" 0 .rate.max_tx)" 100
# with the PF down the rate cannot be met: the VFs created are removed again
numvfs "$pf0" 0
$IP link set "$net0" down
check_status "apply from 0 VFs with max-rate 100 (PF down): fails" 1 "$ctl" apply "$work/rate0.conf"
printf '%s\n' "$out" | save apply-rate-from-0-down.txt
check_contains "names max-rate (not min-rate)" "$out" "$net0 VF 0: max-rate: Invalid argument [EINVAL] (min-rate and max-rate are one IFLA_VF_RATE attribute)"
check_contains "says the VFs created were removed" "$out" "the 2 VFs created in this run were removed again (numvfs 2 -> 0)"
check_eq "sysfs: 0 VFs again" "$(cat $sys0/sriov_numvfs)" 0
$IP link set "$net0" up

# --- 4. L2 settings on nvme VFs: refused by plan, nothing written ---
conf nvme "  - match:
      pci: $nvme
    numvfs: 2
    vfs:
      - index: 0
        vlan: 7"
for verb in plan apply; do
	check_status "$verb: VLAN on an nvme VF refused" 1 "$ctl" $verb "$work/nvme.conf"
	check_contains "$verb: names the PF and why" "$out" \
		"$work/nvme.conf:7:16: VF 0: vlan: PF $nvme (driver nvme) has no network interface, so its VFs have no L2 settings"
	check_eq "$verb: nvme sriov_numvfs still 0" "$(cat /sys/bus/pci/devices/$nvme/sriov_numvfs)" 0
done
conf ad "  - match:
      netdev: $net0
    numvfs: 1
    vfs:
      - index: 0
        vlan: 7
        proto: 802.1ad"
check_status "plan: 802.1ad on igb refused" 1 "$ctl" plan "$work/ad.conf"
check_contains "plan: 802.1ad: the driver's limit" "$out" "proto 802.1ad: $net0 (igb) supports only 802.1Q VLANs"
conf notloaded "  - match:
      netdev: $net0
    numvfs: 1
    vfs:
      - index: 0
        driver: ixgbevf"
check_status "apply: a driver that is not loaded refused" 1 "$ctl" apply "$work/notloaded.conf"
check_contains "apply: names the driver" "$out" "driver ixgbevf is not loaded: modprobe ixgbevf"
check_eq "nothing written: eth0 sriov_numvfs still 0" "$(cat $sys0/sriov_numvfs)" 0

# --- 5. plan lists exactly what apply does, from nothing and from drift ---
lines_plan() { jq -c '[.changes[] | [.pf, .vf, .field, .want, .conditional]]' <<<"$1"; }
lines_done() { jq -c '[.done[] | [.pf, .vf, .field, .want, .conditional]]' <<<"$1"; }
plan_vs_apply() { # NAME
	local p a
	check_status "$1: plan" 0 "$ctl" -j plan "$work/$1.conf"
	p=$out
	last_plan=$p
	printf '%s\n' "$p" | save "$1-plan.json"
	check_status "$1: apply" 0 "$ctl" -j apply "$work/$1.conf"
	a=$out
	printf '%s\n' "$a" | save "$1-apply.json"
	check_eq "$1: apply did exactly the plan's $(jq '.changes | length' <<<"$p") changes" "$(lines_done "$a")" "$(lines_plan "$p")"
	check_eq "$1: nothing conditional on igb" "$(jq '[.changes[] | select(.conditional)] | length' <<<"$p")" 0
	check_status "$1: plan afterwards" 0 "$ctl" -j plan "$work/$1.conf"
	check_eq "$1: nothing left to do" "$(jq '.changes | length' <<<"$out")" 0
}
# the README's demo
cp "$here/../../examples/sriovd.conf" "$work/demo.conf"
numvfs "$pf0" 0
numvfs "$pf1" 0
plan_vs_apply demo
check_eq "demo: no no-op line (qos 0, proto 802.1Q, spoofchk on) in the plan from nothing" \
	"$(jq '[.changes[] | select(.field=="qos" or .field=="proto" or .field=="spoofchk")] | length' <<<"$last_plan")" 0
check_eq "demo: the plan's count (4 + 7 VFs with MACs, VLAN on 2, 2 bindings)" "$(jq '.changes | length' <<<"$last_plan")" 17
# an operator's own: VLAN with QoS, defaults spelled out, a rate, a driver
conf operator "  - match:
      netdev: $net1
    numvfs: 3
    vfs:
      - index: all
        spoofchk: on
        trust: off
        state: auto
      - index: 0-1
        vlan: 300
        qos: 0
        proto: 802.1Q
      - index: 1
        max-rate: 200
      - index: 2
        driver: vfio-pci"
numvfs "$pf1" 0
$IP link set "$net1" up
check "$net1 has carrier" carrier "$net1"
plan_vs_apply operator
check_eq "operator: ip VF 1 VLAN 300, rate 200" \
	"$(ipvf "$net1" 1 | jq -c '[.vlan_list[0].vlan, .rate.max_tx]')" "[300,200]"
# drift: settings changed behind its back, and a count changed
$IP link set "$net1" vf 0 vlan 5 spoofchk off
$IP link set "$net1" vf 1 max_tx_rate 50
plan_vs_apply operator
check_eq "operator after drift: ip VF 0 VLAN 300, spoof checking on" \
	"$(ipvf "$net1" 0 | jq -c '[.vlan_list[0].vlan, .spoofchk]')" "[300,true]"
numvfs "$pf1" 0
numvfs "$pf1" 1
carrier "$net1"
plan_vs_apply operator
# stable MACs over every VF
conf stable "  - match:
      netdev: $net0
    numvfs: 3
    mac: stable
    vfs:
      - index: 2
        vlan: 9"
numvfs "$pf0" 0
plan_vs_apply stable
$IP link set "$net0" vf 1 mac 02:00:00:00:00:42
plan_vs_apply stable

# --- 6. apply --force: the numvfs meaning ---
conf shrink "  - match:
      netdev: $net1
    numvfs: 1"
numvfs "$pf1" 0
conf keep "  - match:
      netdev: $net1
    numvfs: 3
    vfs:
      - index: 2
        driver: vfio-pci"
check_status "apply: 3 VFs, VF 2 on vfio-pci" 0 "$ctl" apply "$work/keep.conf"
check_status "apply: shrinking to 1 refused (VF 2 on vfio-pci)" 1 "$ctl" apply "$work/shrink.conf"
check_contains "refusal says --force" "$out" "--force"
check_eq "refused: still 3 VFs" "$(cat /sys/bus/pci/devices/$pf1/sriov_numvfs)" 3
check_status "apply --force goes ahead" 0 "$ctl" apply --force "$work/shrink.conf"
printf '%s\n' "$out" | save apply-force.txt
check_eq "forced: 1 VF" "$(cat /sys/bus/pci/devices/$pf1/sriov_numvfs)" 1
check_status "plan has no --force" 2 "$ctl" plan --force "$work/shrink.conf"

# --- 7. one apply, one wait: both PFs' counts written, then waited for
# together; 14 VFs rebound together, with at most one shared settle window
# (none for igbvf, whose probe is over when the write returns; before: a 1 s
# hold per VF, one VF after another). The kernel's own uevents, logged by
# an independent listener, are the record of when each VF was bound.
numvfs "$pf0" 0
numvfs "$pf1" 0
ulog=$work/uevents.log
python3 "$here/lib/uevent-log.py" >>"$ulog" &
ulog_pid=$!
for _ in $(seq 50); do grep -q ready "$ulog" 2>/dev/null && break; sleep 0.1; done
bound_to() { # DRIVER PF...: how many VFs of the PFs are bound to DRIVER (sysfs)
	local drv=$1 n=0 pf v
	shift
	for pf in "$@"; do
		for v in /sys/bus/pci/devices/$pf/virtfn*; do
			[ "$(basename "$(readlink "$v/driver" 2>/dev/null)")" == "$drv" ] && n=$((n + 1))
		done
	done
	echo $n
}
binds_since() { # LINE DRIVER: the bind events of DRIVER after line LINE of the log: count and span in ms
	tail -n +"$(($1 + 1))" "$ulog" | awk -v d="$2" '$2 == "bind" && $4 == d { n++; if (!a) a = $1; b = $1 }
		END { printf "%d %d\n", n, n ? (b - a) / 1000000 : 0 }'
}
two() { # DRIVER-OR-EMPTY: both PFs at 7 VFs, every VF on DRIVER
	local vfs=""
	[ -n "$1" ] && vfs="
    vfs:
      - index: all
        driver: $1"
	printf 'version: 1\npfs:\n  - match:\n      netdev: %s\n    numvfs: 7%s\n  - match:\n      netdev: %s\n    numvfs: 7%s\n' \
		"$net0" "$vfs" "$net1" "$vfs"
}
two "" >"$work/two.conf"
two vfio-pci >"$work/two-vfio.conf"
two igbvf >"$work/two-igbvf.conf"
check_status "apply: both PFs 0 -> 7 VFs in one apply" 0 "$ctl" -j apply "$work/two.conf"
printf '%s\n' "$out" | save apply-two-counts.json
check_eq "apply: both counts done" "$(jq -c '[.done[] | select(.field == "numvfs") | .want]' <<<"$out")" '["7","7"]'
check_eq "sysfs: 7 and 7 VFs" "$(cat /sys/bus/pci/devices/$pf0/sriov_numvfs) $(cat /sys/bus/pci/devices/$pf1/sriov_numvfs)" "7 7"
check_eq "sysfs: every VF of both PFs on igbvf when apply returns (it waited for their drivers)" \
	"$(bound_to igbvf "$pf0" "$pf1")" 14
check_status "apply: all 14 VFs to vfio-pci" 0 "$ctl" apply "$work/two-vfio.conf"
printf '%s\n' "$out" | save apply-two-vfio.txt
check_eq "sysfs: 14 VFs on vfio-pci" "$(bound_to vfio-pci "$pf0" "$pf1")" 14
mark=$(wc -l <"$ulog")
t0=$(date +%s%N)
check_status "apply: all 14 VFs back to igbvf" 0 "$ctl" apply "$work/two-igbvf.conf"
ms=$((($(date +%s%N) - t0) / 1000000))
printf '%s\n' "$out" | save apply-two-igbvf.txt
check_eq "sysfs: 14 VFs on igbvf" "$(bound_to igbvf "$pf0" "$pf1")" 14
read -r nb span <<<"$(binds_since "$mark" igbvf)"
echo "# 14 VFs back to igbvf: apply took $ms ms; the kernel announced $nb igbvf binds within $span ms"
check_eq "uevents: 14 igbvf binds announced" "$nb" 14
check "uevents: the 14 binds came within one settle window (1 s), not one window apart each" test "$span" -lt 1000
check "apply: 14 VFs back to igbvf in well under 14 settle windows (before: 14.7 s)" test "$ms" -lt 7000
check_status "apply again: nothing to do" 0 "$ctl" -j apply "$work/two-igbvf.conf"
check_eq "idempotent: 0 writes" "$(jq .writes <<<"$out")" 0
kill "$ulog_pid" 2>/dev/null
wait "$ulog_pid" 2>/dev/null
save uevents.log <"$ulog"

numvfs "$pf0" 0
numvfs "$pf1" 0
rm -rf "$work"
schema_done
tap_done
