#!/bin/bash
# VF settings scenario, run INSIDE the testbed VM: `sriovctl vf set` with
# every field on igb, values read back with /sbin/ip (the oracle); fields igb
# lacks reported one by one with EOPNOTSUPP and the rest of the call rolled
# back; every malformed value refused with the VF unchanged; `stats`.
#   test-vf-settings.sh BUILD_DIR [ARTIFACT_DIR]
set -uo pipefail
build=$1
artifacts=${2:-}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/lib/tap.sh"
ctl=$build/src/sriovctl
. "$here/lib/schema.sh"
schema_init "$ctl" "${artifacts:-/run/sriovctl-test}/json" # every -j document, validated at the end
IP=/sbin/ip
artifacts_list=$(mktemp)
save() { [ -n "$artifacts" ] && mkdir -p "$artifacts" && cat >"$artifacts/$1" || cat >/dev/null; }

pf=
for d in /sys/bus/pci/devices/*; do
	[ "$(basename "$(readlink "$d/driver" 2>/dev/null)")" == igb ] && { pf=$(basename "$d"); break; }
done
net=$(ls /sys/bus/pci/devices/$pf/net | head -1)
echo 3 >/sys/bus/pci/devices/$pf/sriov_numvfs
# igb checks rates against the link speed: the PF link must be up.
$IP link set "$net" up
for _ in $(seq 100); do
	[ "$(cat /sys/class/net/$net/carrier 2>/dev/null)" == 1 ] && break
	sleep 0.1
done
check_eq "PF $net has carrier" "$(cat /sys/class/net/$net/carrier)" 1

# ip's view of VF N, as JSON
ipvf() { $IP -j -d link show "$net" | jq -c --argjson i "$1" '.[0].vfinfo_list[] | select(.vf==$i)'; }
ipfield() { ipvf "$1" | jq -r "$2"; }

# --- every field igb supports, in one call ---
check_status "vf set mac vlan qos spoofchk max-rate" 0 \
	"$ctl" vf set "$net#0" mac 02:11:22:33:44:55 vlan 100 qos 3 spoofchk off max-rate 100
printf '%s\n' "$out" | save vf-set-ok.txt
check_contains "each setting reported ok" "$out" "max-rate   100                ok (was 0)"
check_eq "ip: mac" "$(ipfield 0 .address)" 02:11:22:33:44:55
check_eq "ip: vlan" "$(ipfield 0 '.vlan_list[0].vlan')" 100
check_eq "ip: qos" "$(ipfield 0 '.vlan_list[0].qos')" 3
check_eq "ip: spoofchk" "$(ipfield 0 .spoofchk)" false
check_eq "ip: max_tx_rate" "$(ipfield 0 .rate.max_tx)" 100
check_eq "list -j shows the same" "$("$ctl" -j show "$net#0" | jq -c '.link | [.mac,.vlan,.qos,.spoof_check,.max_tx_rate]')" \
	'["02:11:22:33:44:55",100,3,false,100]'
check_status "spoofchk back on, max-rate 0, vlan 0" 0 "$ctl" vf set "$net#0" spoofchk on max-rate 0 vlan 0
check_eq "ip: spoofchk on" "$(ipfield 0 .spoofchk)" true
check_eq "ip: rate unlimited" "$(ipfield 0 .rate.max_tx)" 0
check_eq "ip: vlan cleared" "$(ipfield 0 '.vlan_list[0].vlan // 0')" 0

# by the VF's PCI address and by its own netdev
vf1=$(basename "$(readlink /sys/bus/pci/devices/$pf/virtfn1)")
check_status "vf set by PCI address" 0 "$ctl" vf set "$vf1" mac 02:00:00:00:00:11
check_eq "ip: VF 1 mac" "$(ipfield 1 .address)" 02:00:00:00:00:11
vf2=$(basename "$(readlink /sys/bus/pci/devices/$pf/virtfn2)")
vf2_net=$(ls /sys/bus/pci/devices/$vf2/net 2>/dev/null | head -1)
check_status "vf set by the VF's netdev" 0 "$ctl" vf set "$vf2_net" vlan 42
check_eq "ip: VF 2 vlan" "$(ipfield 2 '.vlan_list[0].vlan')" 42

# igb (kernel 6.1) implements trust: on and off read back through ip.
check_status "trust on" 0 "$ctl" vf set "$net#1" trust on
check_eq "ip: trust on" "$(ipfield 1 .trust)" true
check_status "trust off" 0 "$ctl" vf set "$net#1" trust off
check_eq "ip: trust off" "$(ipfield 1 .trust)" false

# --- what igb lacks: one answer per field, naming it, the driver, EOPNOTSUPP ---
check_status "state enable: refused" 1 "$ctl" vf set "$net#1" state enable
check_contains "state: EOPNOTSUPP per field" "$out" "state      enable             FAILED: Operation not supported [EOPNOTSUPP]: igb does not support"
check_status "query-rss on: refused" 1 "$ctl" vf set "$net#1" query-rss on
check_contains "query-rss: EOPNOTSUPP" "$out" "[EOPNOTSUPP]"
check_status "proto 802.1ad: refused" 1 "$ctl" vf set "$net#1" vlan 7 proto 802.1ad
check_contains "proto: the kernel's answer" "$out" "FAILED"
check_status "min-rate on igb: refused" 1 "$ctl" vf set "$net#1" min-rate 10
check_contains "min-rate: EINVAL with a hint" "$out" "[EINVAL]: the driver refused the rate"

# --- all or nothing: MAC, VLAN and trust accepted, link state refused -> all put back ---
before=$(ipvf 1)
check_status "mac+vlan+trust+state: refused as a whole" 1 "$ctl" vf set "$net#1" mac 02:00:00:00:00:99 vlan 300 trust on state enable
printf '%s\n' "$out" | save vf-set-rollback.txt
check_contains "mac rolled back" "$out" "rolled back to 02:00:00:00:00:11"
check_contains "vlan rolled back" "$out" "rolled back to 0"
check_contains "trust rolled back" "$out" "rolled back to off"
check_contains "says not applied" "$out" "not applied"
check_eq "ip: VF 1 unchanged after the rollback" "$(ipvf 1)" "$before"
check_status "the same in JSON" 1 "$ctl" -j vf set "$net#1" mac 02:00:00:00:00:98 query-rss on
printf '%s\n' "$out" | save vf-set-rollback.json
check_eq "JSON statuses" "$(jq -c '[.applied, [.settings[] | [.setting, .status, .error]]]' <<<"$out")" \
	'[false,[["mac","rolled_back",null],["query-rss","failed","EOPNOTSUPP"]]]'
check_eq "ip: VF 1 still unchanged" "$(ipvf 1)" "$before"

# --- malformed input: a clear error, exit 2, nothing sent ---
before=$($IP -j -d link show "$net")
bad_input() { # DESCRIPTION EXPECTED_TEXT ARGS...
	local desc=$1 want=$2
	shift 2
	check_status "bad input: $desc" 2 "$ctl" vf set "$@"
	check_contains "bad input: $desc: message" "$out" "$want"
}
bad_input "mac garbage" "is not a MAC address" "$net#0" mac zz:11:22:33:44:55
bad_input "multicast mac" "multicast" "$net#0" mac 01:00:5e:00:00:01
bad_input "zero mac" "all-zero" "$net#0" mac 00:00:00:00:00:00
bad_input "vlan 4095" "out of range 0-4094" "$net#0" vlan 4095
bad_input "vlan 5000" "out of range 0-4094" "$net#0" vlan 5000
bad_input "vlan -1" "'-1' is not a number" "$net#0" vlan -1
bad_input "vlan abc" "not a number" "$net#0" vlan abc
bad_input "qos 8" "out of range 0-7" "$net#0" vlan 5 qos 8
bad_input "qos without vlan" "needs vlan" "$net#0" qos 3
bad_input "proto garbage" "not 802.1Q or 802.1ad" "$net#0" vlan 5 proto qinq
bad_input "spoofchk yes" "not on or off" "$net#0" spoofchk yes
bad_input "state up" "not auto, enable or disable" "$net#0" state up
bad_input "min > max" "above max-rate" "$net#0" min-rate 100 max-rate 10
bad_input "unknown setting" "unknown setting 'speed'" "$net#0" speed 10
bad_input "missing value" "needs a value" "$net#0" mac
bad_input "no settings" "no settings given" "$net#0"
bad_input "valid then invalid" "out of range" "$net#0" mac 02:00:00:00:00:77 vlan 9999
check_eq "bad input changed nothing" "$($IP -j -d link show "$net")" "$before"
check_status "VF beyond numvfs" 1 "$ctl" vf set "$net#7" vlan 5
check_contains "VF beyond numvfs: message" "$out" "VF 7 does not exist"
check_status "a PF is not a VF" 1 "$ctl" vf set "$net" vlan 5
check_contains "a PF is not a VF: message" "$out" "is not a VF"
check_status "no subcommand" 2 "$ctl" vf
check_status "unknown subcommand" 2 "$ctl" vf get "$net#0"
nvme=
for d in /sys/bus/pci/devices/*; do
	[ "$(basename "$(readlink "$d/driver" 2>/dev/null)")" == nvme ] && { nvme=$(basename "$d"); break; }
done
echo 1 >/sys/bus/pci/devices/$nvme/sriov_numvfs
check_status "VF of a PF without netdev" 1 "$ctl" vf set "$nvme#0" vlan 5
check_contains "no-netdev PF: message" "$out" "has no network interface"
echo 0 >/sys/bus/pci/devices/$nvme/sriov_numvfs
check_eq "nothing changed by the refusals" "$($IP -j -d link show "$net")" "$before"

# --- batch: many commands, one process; stops at the first failure ---
batch=$(mktemp)
printf '# three VFs at once\nvf set %s#0 vlan 11\n\nvf set %s#1 vlan 12\nvf set %s#2 vlan 13 spoofchk off\n' "$net" "$net" "$net" >"$batch"
check_status "batch of three vf set" 0 "$ctl" --batch "$batch"
check_eq "batch: all three applied" "$(for i in 0 1 2; do ipfield $i '.vlan_list[0].vlan'; done | paste -sd' ')" "11 12 13"
printf 'vf set %s#0 vlan 21\nvf set %s#1 state enable\nvf set %s#2 vlan 23\n' "$net" "$net" "$net" >"$batch"
check_status "batch stops at the failing line" 1 "$ctl" --batch "$batch"
check_contains "batch names the line" "$out" "$batch:2: 'vf' failed; stopping"
check_eq "batch: line 1 applied, line 3 not run" "$(for i in 0 2; do ipfield $i '.vlan_list[0].vlan'; done | paste -sd' ')" "21 13"
check_status "batch from stdin" 0 bash -c "echo 'vf set $net#2 vlan 33' | '$ctl' -b -"
check_eq "batch from stdin: applied" "$(ipfield 2 '.vlan_list[0].vlan')" 33
check_status "--batch after the command is refused" 2 "$ctl" list --batch "$batch"
rm -f "$batch"

# --- options after the command, batch lines with their own options ---
check_status "vf set ... -j (the option after the settings)" 0 "$ctl" vf set "$net#0" mac 02:aa:bb:cc:dd:01 -j
check_eq "vf set ... -j: JSON says applied" "$(jq -c '[.applied, .settings[0].setting, .settings[0].status]' <<<"$out")" \
	'[true,"mac","ok"]'
check_eq "vf set ... -j: ip reads the MAC back" "$(ipfield 0 .address)" 02:aa:bb:cc:dd:01
batch=$(mktemp)
printf 'vf set %s#1 vlan 77 -j\n--json vf set %s#2 vlan 78\n' "$net" "$net" >"$batch"
check_status "batch lines with -j after and before" 0 "$ctl" --batch "$batch"
check_eq "batch -j lines: two JSON reports" "$(jq -sc 'map(.vf_index)' <<<"$out")" "[1,2]"
check_eq "batch -j lines: ip reads both VLANs back" "$(for i in 1 2; do ipfield $i '.vlan_list[0].vlan'; done | paste -sd' ')" "77 78"
rm -f "$batch"

# --- the real tree passes the scan's VF-link rules; names are escaped ---
check_status "-j list on the real tree" 0 "$ctl" -j list
check_eq "real tree: no warnings" "$(jq -c .warnings <<<"$out")" "[]"
check_eq "real tree: every VF's pf is its physfn" \
	"$(jq -r '.pfs[].vfs[] | "\(.address) \(.pf)"' <<<"$out" | sort)" \
	"$(for v in /sys/bus/pci/devices/*/physfn; do d=${v%/physfn}; echo "${d##*/} $(basename "$(readlink "$v")")"; done | sort)"
odd=$'vf\e[2J'
$IP link set "$vf2_net" down
check "rename VF 2's netdev to a name with ESC" $IP link set "$vf2_net" name "$odd"
"$ctl" list >"$artifacts_list" 2>&1
check_contains "list: the ESC name escaped" "$(cat "$artifacts_list")" 'vf\x1b[2J'
check_eq "list: no raw ESC byte" "$(od -An -v -tx1 "$artifacts_list" | tr ' ' '\n' | grep -c '^1b$')" 0
check_eq "-j show: the name as the kernel has it" "$("$ctl" -j show "$net#2" | jq -r '.netdevs[0]')" "$odd"
$IP link set "$odd" name "$vf2_net"
check_eq "VF 2's netdev has its name back" "$(ls /sys/bus/pci/devices/$vf2/net)" "$vf2_net"

# --- stats: per-VF counters, equal to ip -s ---
$IP link set "$vf2_net" up 2>/dev/null # a VF that is up sends a few packets (IPv6 DAD/RS)
sleep 2
check_status "stats PF" 0 "$ctl" -j stats "$net"
stats=$out
printf '%s\n' "$stats" | save stats.json
check_eq "stats: one entry per VF" "$(jq '.vfs | length' <<<"$stats")" 3
check_eq "stats: counters present" "$(jq -c '[.vfs[].stats | type]' <<<"$stats")" '["object","object","object"]'
ips=$($IP -j -s link show "$net")
printf '%s\n' "$ips" | save ip-s.json # iproute2 names the VF TX counters tx.tx_packets, tx.tx_bytes
for i in 0 1 2; do
	check_eq "stats VF $i = ip -s (rx/tx packets and bytes)" \
		"$(jq -c --argjson i $i '.vfs[] | select(.vf_index==$i) | .stats | [.rx_packets,.rx_bytes,.tx_packets,.tx_bytes]' <<<"$stats")" \
		"$(jq -c --argjson i $i '.[0].vfinfo_list[] | select(.vf==$i) | .stats | [.rx.packets,.rx.bytes,.tx.tx_packets,.tx.tx_bytes]' <<<"$ips")"
done
check_status "stats of one VF" 0 "$ctl" -j stats "$net#2"
check_eq "stats of one VF: that VF" "$(jq -c '[.vfs[] | .vf_index]' <<<"$out")" "[2]"
check_status "stats text" 0 "$ctl" stats "$net"
printf '%s\n' "$out" | save stats.txt
check_contains "stats text header" "$out" "RX_PACKETS"
check_status "stats of a non-SR-IOV device fails" 1 "$ctl" stats lo
check_status "a successful vf set in JSON" 0 "$ctl" -j vf set "$net#2" vlan 34 spoofchk on
check_eq "vf set -j: schema_version, applied, statuses" \
	"$(jq -c '[.schema_version, .applied, [.settings[] | [.setting, .value, .status]]]' <<<"$out")" \
	'[1,true,[["vlan","34","ok"],["spoofchk","on","ok"]]]'
check_eq "ip: VF 2 vlan 34" "$(ipfield 2 '.vlan_list[0].vlan')" 34
schema_done
tap_done
