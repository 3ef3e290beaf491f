#!/bin/bash
# Desired-state scenario, run INSIDE the testbed VM: `sriovctl plan/apply`
# from nothing, idempotence, drift, bad files, and sriovd healing a PF
# driver reload and a VF MAC changed behind its back, with the delay measured.
#   test-desired-state.sh BUILD_DIR [ARTIFACT_DIR]
set -uo pipefail
build=$1
artifacts=${2:-}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/lib/tap.sh"
ctl=$build/src/sriovctl
. "$here/lib/schema.sh"
schema_init "$ctl" "${artifacts:-/run/sriovctl-test}/json" # every -j document, validated at the end
daemon=$build/src/sriovd
IP=/sbin/ip
work=$(mktemp -d /tmp/sriovd-ds.XXXXXX)
export SRIOV_STATE_DIR=$work/state
save() { [ -n "$artifacts" ] && mkdir -p "$artifacts" && cat >"$artifacts/$1" || cat >/dev/null; }

igb=()
for d in /sys/bus/pci/devices/*; do
	[ "$(basename "$(readlink "$d/driver" 2>/dev/null)")" == igb ] && igb+=("$(basename "$d")")
done
pf0=${igb[0]} pf1=${igb[1]}
net0=$(ls /sys/bus/pci/devices/$pf0/net | head -1)
net1=$(ls /sys/bus/pci/devices/$pf1/net | head -1)
# The stable scheme (docs/config.md), from the PF's permanent MAC and the VF index.
. "$here/lib/stable-mac.sh"
stable_mac() { stable_mac_of "$(cat /sys/bus/pci/devices/$pf0/net/$net0/address)" "$1"; }

cat >"$work/sriovd.conf" <<CONF
version: 1
pfs:
  - match:
      netdev: $net0
    numvfs: 4
    mac: stable
    vfs:
      - index: 0-1
        vlan: 100
      - index: 2-3
        driver: vfio-pci
  - match:
      pci: $pf1
    numvfs: 7
CONF
cp "$work/sriovd.conf" "$work/copy.conf"
save sriovd.conf <"$work/sriovd.conf"

ipfield() { $IP -j -d link show "$1" | jq -r --argjson i "$2" ".[0].vfinfo_list[] | select(.vf==\$i) | $3"; }
vf_addr() { basename "$(readlink /sys/bus/pci/devices/$1/virtfn$2)"; }
vf_driver() { basename "$(readlink "/sys/bus/pci/devices/$(vf_addr "$1" "$2")/driver" 2>/dev/null)" 2>/dev/null; }
want_vfs="$(for i in 0 1 2 3; do printf '%s %s\n' "$(stable_mac $i)" $([ $i -lt 2 ] && echo 100 || echo 0); done)"
state_ok() { # the host equals the file; one ip and one jq per look (each costs ~0.3 s under TCG)
	[ "$(cat /sys/bus/pci/devices/$pf0/sriov_numvfs)" == 4 ] || return 1
	[ "$(cat /sys/bus/pci/devices/$pf1/sriov_numvfs)" == 7 ] || return 1
	local d
	for i in 2 3; do
		d=$(readlink "/sys/bus/pci/devices/$pf0/virtfn$i/driver" 2>/dev/null) || return 1
		[ "${d##*/}" == vfio-pci ] || return 1
	done
	[ "$($IP -j -d link show "$net0" | jq -r '.[0].vfinfo_list[] | "\(.address) \(.vlan_list[0].vlan // 0)"')" == "$want_vfs" ]
}

# --- plan and apply from nothing ---
check_status "plan from nothing" 0 "$ctl" plan "$work/sriovd.conf"
printf '%s\n' "$out" | save plan-from-nothing.txt
check_contains "plan: numvfs 0 -> 4" "$out" "numvfs     0 -> 4"
check_contains "plan: a stable MAC" "$out" "mac        - -> $(stable_mac 0)"
check_contains "plan: vfio-pci binding" "$out" "driver     - -> vfio-pci"
check_status "apply from nothing" 0 "$ctl" apply "$work/sriovd.conf"
printf '%s\n' "$out" | save apply-from-nothing.txt
check "host equals the file after apply" state_ok
check_eq "igb#2 has 7 VFs" "$(cat /sys/bus/pci/devices/$pf1/sriov_numvfs)" 7
for i in 2 3; do
	group=$(basename "$(readlink "/sys/bus/pci/devices/$(vf_addr "$pf0" $i)/iommu_group")")
	check "VF $i: /dev/vfio/$group exists" test -e "/dev/vfio/$group"
done
mac_first=$(for i in 0 1 2 3; do ipfield "$net0" $i .address; done | paste -sd' ')

check_status "apply again" 0 "$ctl" -j apply "$work/sriovd.conf"
check_eq "the second apply makes 0 writes" "$(jq -c '[.writes, (.done | length)]' <<<"$out")" "[0,0]"
check_status "plan when in sync" 0 "$ctl" -j plan "$work/sriovd.conf"
check_eq "no changes planned" "$(jq '.changes | length' <<<"$out")" 0

# --- drift: a manual change shows in plan, exactly that, and apply mends it ---
$IP link set "$net0" vf 0 vlan 5
check_status "plan after ip ... vf 0 vlan 5" 0 "$ctl" -j plan "$work/sriovd.conf"
printf '%s\n' "$out" | save plan-drift.json
check_eq "plan shows exactly that drift" "$(jq -c '[.changes[] | [.pf_netdev, .vf, .field, .now, .want]]' <<<"$out")" \
	"[[\"$net0\",0,\"vlan\",\"5\",\"100\"]]"
"$ctl" plan "$work/sriovd.conf" 2>&1 | save plan-drift.txt
check_status "apply mends the drift" 0 "$ctl" -j apply "$work/sriovd.conf"
check_eq "one write" "$(jq .writes <<<"$out")" 1
check_eq "vlan back to 100" "$(ipfield "$net0" 0 '.vlan_list[0].vlan')" 100

# --- bad files: a clear error with line and column, nothing applied ---
snapshot() { $IP -j -d link show; for p in "${igb[@]}"; do cat /sys/bus/pci/devices/$p/sriov_numvfs; done; }
before=$(snapshot)
bad_file() { # NAME EXPECTED_MESSAGE CONTENT
	printf '%s\n' "$3" >"$work/$1.conf"
	check_status "bad file $1: refused" 1 "$ctl" apply "$work/$1.conf"
	check_contains "bad file $1: message" "$out" "$2"
}
bad_file syntax "$work/syntax.conf:4:1: syntax error" "version: 1
pfs:
  - match: [netdev: $net0"
bad_file unknown-key "$work/unknown-key.conf:5:5: numfvs" "version: 1
pfs:
  - match:
      netdev: $net0
    numfvs: 2"
bad_file vlan5000 "$work/vlan5000.conf:8:15: vlan: '5000' is out of range 0-4094" "version: 1
pfs:
  - match:
      netdev: $net0
    numvfs: 4
    vfs:
      - index: 0
        vlan: 5000"
bad_file range "$work/range.conf:7:16" "version: 1
pfs:
  - match:
      netdev: $net0
    numvfs: 4
    vfs:
      - index: 2-6
        vlan: 7"
bad_file toomany "numvfs 8" "version: 1
pfs:
  - match:
      netdev: $net0
    numvfs: 8"
check_eq "bad files changed nothing" "$(snapshot)" "$before"

# --- a failure half-way: apply stops, says so, and puts back what it changed ---
cat >"$work/refused.conf" <<CONF
version: 1
pfs:
  - match:
      netdev: $net0
    numvfs: 4
    vfs:
      - index: 0
        vlan: 200
      - index: 1
        state: enable
CONF
check_status "apply with a setting igb refuses" 1 "$ctl" apply "$work/refused.conf"
printf '%s\n' "$out" | save apply-refused.txt
check_contains "names the refused field and errno" "$out" "state: Operation not supported [EOPNOTSUPP]"
check_contains "says what it put back" "$out" "put back 1 VF setting changed in this run"
check_contains "lists what was not applied" "$out" "not applied:"
check_eq "VF 0 keeps its VLAN 100 (the 200 was put back)" "$(ipfield "$net0" 0 '.vlan_list[0].vlan')" 100
check_status "the same, JSON" 1 "$ctl" -j apply "$work/refused.conf"
check_eq "JSON: not applied, one put back" "$(jq -c '[.applied, .rolled_back, (.error | test("EOPNOTSUPP"))]' <<<"$out")" "[false,1,true]"

# --- a count change that would destroy VFs on vfio-pci is refused ---
cat >"$work/shrink.conf" <<CONF
version: 1
pfs:
  - match:
      netdev: $net0
    numvfs: 2
CONF
check_status "shrinking under vfio-pci VFs is refused" 1 "$ctl" apply "$work/shrink.conf"
check_contains "refusal names vfio-pci" "$out" "bound to vfio-pci"
check_eq "refusals changed nothing" "$(snapshot)" "$before"
check_status "missing file" 1 "$ctl" apply "$work/none.conf"

# --- sriovd: heals a PF driver reload and a MAC changed behind its back ---
"$daemon" -v --config "$work/sriovd.conf" --config-dir "" --status-file "$work/status.json" --settle-ms 200 --resync-s 5 \
	>"$work/sriovd.log" 2>&1 &
dpid=$!
for _ in $(seq 100); do [ -s "$work/status.json" ] && break; sleep 0.1; done
check "sriovd is running and wrote its status" kill -0 $dpid
check_status "status: running, in sync" 0 "$ctl" status --status-file "$work/status.json"
printf '%s\n' "$out" | save status.txt
check_status "status -j: running, in sync" 0 "$ctl" -j status --status-file "$work/status.json"
check_eq "status -j: running, no drift, the daemon's pid" "$(jq -c '[.running, .drift, .daemon.pid]' <<<"$out")" "[true,0,$dpid]"

wait_state_ok() { # up to $1 seconds of wall time; prints the seconds it took
	local start end
	start=$(date +%s%N)
	while (($(date +%s%N) - start < $1 * 1000000000)); do
		if state_ok; then
			end=$(date +%s%N)
			awk -v ns=$((end - start)) 'BEGIN { printf "%.1f", ns / 1e9 }'
			return 0
		fi
		sleep 0.2
	done
	return 1
}

echo "$pf0" >/sys/bus/pci/drivers/igb/unbind
echo "$pf0" >/sys/bus/pci/drivers/igb/bind
check_eq "the reload wiped the VFs" "$(cat /sys/bus/pci/devices/$pf0/sriov_numvfs)" 0
if took=$(wait_state_ok 90); then
	tap_ok "sriovd restored VFs, MACs, VLANs and vfio-pci after the PF driver reload (${took} s)"
	echo "driver reload healed in ${took} s" | save heal-reload.txt
else
	tap_not_ok "sriovd restored the state after the PF driver reload within 90 s"
	tail -30 "$work/sriovd.log" | sed 's/^/#   /'
fi
check_eq "MACs after the reload equal those before" \
	"$(for i in 0 1 2 3; do ipfield "$net0" $i .address; done | paste -sd' ')" "$mac_first"

# The PF is down: the kernel announces nothing, the periodic look (5 s here) finds it.
$IP link set "$net0" vf 1 mac 02:de:ad:be:ef:01
if took=$(wait_state_ok 30); then
	tap_ok "sriovd restored a VF MAC changed behind its back, PF down: resync (${took} s)"
	echo "MAC drift, PF down (periodic resync, 5 s): healed in ${took} s" | save heal-mac.txt
else
	tap_not_ok "sriovd restored the VF MAC within 30 s (PF down)"
fi
# The PF is up: the change is announced (RTM_NEWLINK) and healed at once.
$IP link set "$net0" up
sleep 1
$IP link set "$net0" vf 0 mac 02:de:ad:be:ef:00
if took=$(wait_state_ok 30); then
	tap_ok "sriovd restored a VF MAC changed behind its back, PF up: link event (${took} s)"
	echo "MAC drift, PF up (link event): healed in ${took} s" | save heal-mac-up.txt
else
	tap_not_ok "sriovd restored the VF MAC within 30 s (PF up)"
fi
check "sriovd logged the drift, key=value" grep -q 'event=drift .*field=mac' "$work/sriovd.log"

# SIGHUP with a bad file: rejected, the old state kept and still enforced
printf 'version: 1\npfs: [\n' >"$work/sriovd.conf"
kill -HUP $dpid
sleep 1
check "sriovd survives a bad reload" kill -0 $dpid
check "bad reload logged" grep -q 'event=reload-rejected' "$work/sriovd.log"
$IP link set "$net0" vf 0 vlan 9
if took=$(wait_state_ok 30); then tap_ok "old config still enforced after a bad reload (${took} s)"; else tap_not_ok "old config still enforced after a bad reload"; fi
# The file on disk is the broken one now: status cannot compute drift (exit 1) and says why.
check_status "status with the rejected config on disk" 1 "$ctl" status --status-file "$work/status.json"
check_contains "status shows the last error" "$out" "last errors:"
check_contains "status names the syntax error" "$out" "sriovd.conf:3:1: syntax error"
cp "$work/copy.conf" "$work/sriovd.conf"
kill -TERM $dpid
wait $dpid
check_eq "sriovd stops on SIGTERM with status 0" "$?" 0
check "one line per event, key=value" bash -c "! grep -v '^ts=' '$work/sriovd.log' | grep -q ."
check "no reconcile loop: fewer than 30 apply runs" bash -c "[ \$(grep -c 'event=applied' '$work/sriovd.log') -lt 30 ]"
save sriovd.log <"$work/sriovd.log"
check_status "status after stop: not running" 1 "$ctl" status --status-file "$work/status.json"
check_contains "status says not running" "$out" "not running"
rm -rf "$work"
schema_done
tap_done
