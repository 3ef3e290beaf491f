#!/bin/bash
# sriovd's service API on the real kernel, run INSIDE the testbed VM: sriovd
# as root; an unprivileged uid (no group of ours) reads the inventory and
# gets 403 on a claim; the same uid with the API's group as a supplementary
# group (what `usermod -aG` gives its next session) claims a VF by network;
# the claim's MAC and VLAN are on the real VF (read back with /sbin/ip);
# /metrics labels the VF's IFLA_VF_STATS counters with the consumer and
# they are the kernel's IFLA_VF_STATS after the VF's netdev sent packets
# (QEMU's igb keeps those at 0: the guest log says so); promtool accepts the
# real output; the release (by that uid) scrubs the VF (read back again).
#   test-api.sh BUILD_DIR [ARTIFACT_DIR]
set -uo pipefail
build=$1
artifacts=${2:-}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/lib/tap.sh"
ctl=$build/src/sriovctl
daemon=$build/src/sriovd
IP=/sbin/ip
work=$(mktemp -d /tmp/sriovd-api.XXXXXX)
chmod 755 "$work"
# The guest's own tmpfs: locks, the ledger (SQLite) and the socket stay
# in the guest kernel (the shared root is 9p).
run=/run/sriovd-test
mkdir -p "$run"
export SRIOV_STATE_DIR=$run/state
sock=$run/api.sock
save() { [ -n "$artifacts" ] && mkdir -p "$artifacts" && cat >"$artifacts/$1" || cat >/dev/null; }
dpid=
stop_daemon() {
	[ -n "$dpid" ] || return 0
	kill -TERM "$dpid" 2>/dev/null
	wait "$dpid" 2>/dev/null
	dpid=
}
trap stop_daemon EXIT

igb=()
for d in /sys/bus/pci/devices/*; do
	[ "$(basename "$(readlink "$d/driver" 2>/dev/null)")" == igb ] && igb+=("$(basename "$d")")
done
pf0=${igb[0]}
net0=$(ls /sys/bus/pci/devices/$pf0/net | head -1)
cat >"$work/c.conf" <<EOF
version: 1
pfs:
  - match:
      pci: $pf0
    numvfs: 2
aliases:
  - name: a1
    vendor_id: "8086"
    device_type: type-VF
networks:
  - name: n1
    vlan: 100
    pfs: [$net0]
EOF
"$daemon" --config "$work/c.conf" --config-dir "" --status-file "$run/status.json" --resync-s 0 \
	--socket "$sock" --group daemon --state-dir "$run/ledger" 2>"$work/d.log" &
dpid=$!
for _ in $(seq 200); do grep -q 'event=api-listening' "$work/d.log" && break; sleep 0.1; done
for _ in $(seq 200); do curl -sf --unix-socket "$sock" -o /dev/null http://localhost/v1/health && break; sleep 0.1; done
check_eq "sriovd listens, socket 0660 root:daemon" "$(stat -c '%a %U:%G' "$sock")" "660 root:daemon"
check_eq "eth0 has its 2 VFs" "$(cat /sys/bus/pci/devices/$pf0/sriov_numvfs)" 2
chmod 0666 "$sock" # this host lets every local user read

U=6f1c0a3e-2b7d-4c55-9e0b-1a2b3c4d5e6f
user() { setpriv --reuid 4242 --regid 4242 "$@"; }
ucurl() { curl -sS --unix-socket "$sock" -w '\n%{http_code}' "$@"; }
status_of() { tail -1 <<<"$1"; }
body_of() { sed '$d' <<<"$1"; }

# --- a user outside the group: reads, 403 on a claim ---
out=$(user --clear-groups curl -sS --unix-socket "$sock" -w '\n%{http_code}' http://localhost/v1/inventory)
check_eq "uid 4242 reads GET /v1/inventory" "$(status_of "$out")" 200
check_eq "the same document as sriovctl -j list (the PFs and VFs)" \
	"$(body_of "$out" | jq -c '[.pfs[] | [.address, [.vfs[].address]]]')" \
	"$("$ctl" -j list | jq -c '[.pfs[] | [.address, [.vfs[].address]]]')"
claim_body="{\"consumer\":\"$U\",\"network\":\"n1\",\"mac\":\"02:00:00:aa:00:01\"}"
out=$(user --clear-groups curl -sS --unix-socket "$sock" -w '\n%{http_code}' -H 'Content-Type: application/json' \
	-d "$claim_body" http://localhost/v1/claims)
check_eq "uid 4242 outside the group: 403 on POST /v1/claims" "$(status_of "$out")" 403
check_contains "the denial is logged with the uid" "$(cat "$work/d.log")" "event=api uid=4242"
check_contains "deny" "$(cat "$work/d.log")" 'route="POST /v1/claims" decision=deny'

# --- the same uid in the group: the claim works, on the real VF ---
out=$(user --groups 1 curl -sS --unix-socket "$sock" -w '\n%{http_code}' -H 'Content-Type: application/json' \
	-d "$claim_body" http://localhost/v1/claims)
body_of "$out" | save claim.json
check_eq "uid 4242 in the group: 201" "$(status_of "$out")" 201
id=$(body_of "$out" | jq .claim.id)
vf=$(body_of "$out" | jq .claim.devices[0].vf_index)
vfaddr=$(body_of "$out" | jq -r .claim.devices[0].address)
check_eq "the claim says MAC and VLAN" "$(body_of "$out" | jq -c '.claim.devices[0] | [.mac, .vlan]')" \
	'["02:00:00:aa:00:01",100]'
check_eq "/sbin/ip: the VF has the claimed MAC and VLAN 100" \
	"$($IP -j -d link show "$net0" | jq -r --argjson v "$vf" '.[0].vfinfo_list[] | select(.vf==$v) | "\(.address) \(.vlan_list[0].vlan // 0)"')" \
	"02:00:00:aa:00:01 100"
check_eq "the claim records uid 4242" "$(curl -sS --unix-socket "$sock" "http://localhost/v1/claims/$id" | jq .claim.uid)" 4242
check_eq "sriovctl claims sees it (one ledger)" \
	"$("$ctl" -j claims --state-dir "$run/ledger" --config "$work/c.conf" --config-dir '' | jq -c '[.claims[].id]')" "[$id]"

# --- metrics: the VF's counters, labelled, moving ---
metric() { # NAME: the claimed VF's value
	curl -sS --unix-socket "$sock" http://localhost/metrics |
		awk -v k="$1{pf=\"$pf0\",vf=\"$vf\",vf_pci=\"$vfaddr\",consumer=\"$U\"}" '$1 == k { print $2 }'
}
curl -sS --unix-socket "$sock" http://localhost/metrics >"$work/metrics"
save metrics.txt <"$work/metrics"
check "promtool check metrics accepts the real output" promtool check metrics <"$work/metrics"
check_contains "one VF of eth0 claimed" "$(cat "$work/metrics")" "sriovd_vfs{pf=\"$pf0\",pf_netdev=\"$net0\",state=\"claimed\"} 1"
tx0=$(metric sriovd_vf_tx_packets_total)
check "the claimed VF's tx counter is there, labelled with the consumer" test -n "$tx0"
vfnet=$(ls "/sys/bus/pci/devices/$vfaddr/net" 2>/dev/null | head -1)
# Packets from the claimed VF to the other VF of eth0 (in a namespace of
# its own, on the same VLAN 100), through the emulated NIC's switch.
ovf=$((1 - vf))
oaddr=$(basename "$(readlink "/sys/bus/pci/devices/$pf0/virtfn$ovf")")
onet=$(ls "/sys/bus/pci/devices/$oaddr/net" 2>/dev/null | head -1)
$IP link set "$net0" up
$IP link set "$net0" vf "$ovf" vlan 100
$IP netns add apipeer
$IP link set "$onet" netns apipeer
$IP netns exec apipeer $IP addr add 192.0.2.2/24 dev "$onet"
$IP netns exec apipeer $IP link set "$onet" up
$IP addr add 192.0.2.1/24 dev "$vfnet"
$IP link set "$vfnet" up
for _ in $(seq 30); do
	ping -c 2 -W 1 -I "$vfnet" 192.0.2.2 >/dev/null 2>&1
	tx1=$(metric sriovd_vf_tx_packets_total)
	[ -n "$tx1" ] && [ "$tx1" -gt "${tx0:-0}" ] && break
	sleep 0.5
done
{ $IP -d -s link show "$net0"; $IP -d link show "$vfnet"; } 2>&1 | save ip-after-packets.txt
# The metric is the kernel's IFLA_VF_STATS (read with /sbin/ip). QEMU's
# emulated igb leaves its VF statistics registers at 0, so they stay 0 here
# while the VF's own netdev counts its packets: said, not counted as a pass.
ipvf=$($IP -j -s link show "$net0" | jq -c --argjson v "$vf" '.[0].vfinfo_list[] | select(.vf==$v) | .stats | [.rx.packets, .rx.bytes, .tx.tx_packets, .tx.tx_bytes]')
check_eq "the VF's counters in /metrics are /sbin/ip's IFLA_VF_STATS" \
	"[$(metric sriovd_vf_rx_packets_total),$(metric sriovd_vf_rx_bytes_total),$(metric sriovd_vf_tx_packets_total),$(metric sriovd_vf_tx_bytes_total)]" \
	"$ipvf"
echo "# $vfnet sent $(cat "/sys/class/net/$vfnet/statistics/tx_packets") packets (its netdev); IFLA_VF_STATS tx: $tx0 -> $tx1"
$IP addr flush dev "$vfnet"
$IP link set "$vfnet" down
$IP netns del apipeer
for _ in $(seq 50); do [ -e "/sys/bus/pci/devices/$oaddr/net/$onet" ] && break; sleep 0.1; done
$IP link set "$net0" vf "$ovf" vlan 0

# --- release by the uid that claimed: the VF is scrubbed ---
out=$(user --groups 1 curl -sS --unix-socket "$sock" -w '\n%{http_code}' -X DELETE "http://localhost/v1/claims/$id")
body_of "$out" | save release.json
check_eq "DELETE /v1/claims/$id by uid 4242: 200" "$(status_of "$out")" 200
check_eq "released" "$(body_of "$out" | jq -r '.released[0].state')" released
check_eq "/sbin/ip: VLAN 0 again" \
	"$($IP -j -d link show "$net0" | jq -r --argjson v "$vf" '.[0].vfinfo_list[] | select(.vf==$v) | .vlan_list[0].vlan // 0')" 0
check "/sbin/ip: the claimed MAC is gone" test "$($IP -j -d link show "$net0" | jq -r --argjson v "$vf" '.[0].vfinfo_list[] | select(.vf==$v) | .address')" != "02:00:00:aa:00:01"
check_contains "metrics: nothing claimed" "$(curl -sS --unix-socket "$sock" http://localhost/metrics)" \
	"sriovd_vfs{pf=\"$pf0\",pf_netdev=\"$net0\",state=\"claimed\"} 0"
stop_daemon
save sriovd.log <"$work/d.log"
rm -rf "$work" "$run"
tap_done
