#!/bin/bash
# The relay's real data path, run INSIDE the testbed VM: sriovd applies a
# config whose PF entry gives VF 0 to vfio-pci and asks for a relay on it
# (relays:); sriov-relay drives VF 0 with DPDK's igb VF poll-mode driver and
# serves a vhost-user socket; dpdk-testpmd with net_virtio_user is the VM on
# its other end. Frames go both ways between that end and VF 1's kernel
# netdev of the same PF (the emulated NIC switches between the VFs of one
# PF), counted on both sides: /sbin/ip -s for VF 1, testpmd's own counters
# for the VM end, and the relay's stats between them. Then the PF's driver
# is reloaded under the relay: the relay says the VF went, sriovd re-applies
# the config when the PF comes back, and the relay resumes on the new VF 0
# with the same socket and the same VM connection.
#   test-relay.sh BUILD_DIR [ARTIFACT_DIR]
set -uo pipefail
build=$1
artifacts=${2:-}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/lib/tap.sh"
ctl=$build/src/sriovctl
daemon=$build/src/sriovd
relay=$build/src/relay/sriov-relay
IP=/sbin/ip
run=/run/sriovd-relay-test
mkdir -p "$run"
export SRIOV_STATE_DIR=$run/state SRIOV_RELAY_SOCKET=$run/relay.sock
vmsock=$run/vm0.sock
# The logs straight into the artifacts (the host's folder): readable even
# when the guest is cut off.
logs=${artifacts:-$run/logs}
mkdir -p "$logs"
rpid= dpid= ppid=
stop() { # PID: SIGINT (testpmd prints its counters), then SIGKILL
	[ -n "$1" ] || return 0
	kill -INT "$1" 2>/dev/null
	for _ in $(seq 100); do kill -0 "$1" 2>/dev/null || break; sleep 0.1; done
	kill -KILL "$1" 2>/dev/null
	wait "$1" 2>/dev/null
}
cleanup() {
	stop "$ppid"
	stop "$dpid"
	stop "$rpid"
}
trap cleanup EXIT

for t in "$relay" "$daemon" "$ctl"; do
	[ -x "$t" ] || { tap_not_ok "$t is built"; tap_done; exit 1; }
done
command -v dpdk-testpmd >/dev/null || { tap_not_ok "dpdk-testpmd is installed"; tap_done; exit 1; }

# Hugepages for both DPDK processes (the VF's DMA goes through the IOMMU).
echo 256 >/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages
mkdir -p /dev/hugepages
mountpoint -q /dev/hugepages || mount -t hugetlbfs none /dev/hugepages
check "256 hugepages reserved" [ "$(cat /sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages)" -ge 256 ]

pf=
for d in /sys/bus/pci/devices/*; do
	[ "$(basename "$(readlink "$d/driver" 2>/dev/null)")" == igb ] && { pf=${d##*/}; break; }
done
mac0=02:00:00:00:00:10 mac1=02:00:00:00:00:11
cat >"$run/c.conf" <<EOF
version: 1
pfs:
  - match: {pci: $pf}
    numvfs: 2
    up: true
    vfs:
      - {index: 0, mac: $mac0, spoofchk: off, driver: vfio-pci}
      - {index: 1, mac: $mac1}
    relays:
      - {vf: 0, name: vm0, socket: $vmsock, lcores: [1]}
EOF

# sriov-relay first, with no relay: sriovd asks it for vm0 once VF 0 is on
# vfio-pci. Main lcore 0 (the control socket), forwarding lcore 1.
"$relay" -l 0,1 -n 1 --file-prefix sriov-relay-vm -m 128 -- --socket "$SRIOV_RELAY_SOCKET" \
	>"$logs/relay.log" 2>&1 &
rpid=$!
# wait_for SECONDS CMD...: until CMD succeeds (a deadline, not a count:
# every fork costs under TCG).
wait_for() {
	local end=$((SECONDS + $1))
	shift
	while [ "$SECONDS" -lt "$end" ]; do "$@" && return 0; sleep 0.5; done
	return 1
}
health() { curl -sf --unix-socket "$SRIOV_RELAY_SOCKET" -o /dev/null http://r/v1/health; }
wait_for 90 health
check "sriov-relay answers on its control socket" health

"$daemon" --config "$run/c.conf" --config-dir "" --status-file "$run/status.json" --resync-s 0 \
	--socket "$run/api.sock" --state-dir "$run/ledger" -v 2>"$logs/sriovd.log" &
dpid=$!
wait_for 90 grep -q 'event=relay-added' "$logs/sriovd.log"
vf0=$(basename "$(readlink "/sys/bus/pci/devices/$pf/virtfn0")")
vf1=$(basename "$(readlink "/sys/bus/pci/devices/$pf/virtfn1")")
check_eq "sriovd made 2 VFs" "$(cat "/sys/bus/pci/devices/$pf/sriov_numvfs")" 2
check_eq "VF 0 ($vf0) is on vfio-pci (sysfs)" "$(basename "$(readlink "/sys/bus/pci/devices/$vf0/driver")")" vfio-pci
check_contains "sriovd added the config's relay" "$(cat "$logs/sriovd.log")" "event=relay-added relay=\"vm0: $vf0 <-> $vmsock\""
check_status "sriovctl relay list" 0 "$ctl" relay list --relay-socket "$SRIOV_RELAY_SOCKET"
check_contains "... vm0 on VF 0, waiting for its VM" "$out" "vm0          $vf0 <-> $vmsock (server) waiting-vm"
out=$(curl -s --unix-socket "$run/api.sock" http://l/v1/relays/vm0)
check_eq "sriovd's API serves the relay's own document" "$(jq -r '[.name, .vf, .socket] | join(" ")' <<<"$out")" \
	"vm0 $vf0 $vmsock"
vf1dev() { ls "/sys/bus/pci/devices/$vf1/net" 2>/dev/null | head -1; }
net1=$(vf1dev)
$IP link set "$net1" up
# Only our frames on VF 1: no IPv6 chatter.
echo 1 >"/proc/sys/net/ipv6/conf/$net1/disable_ipv6"

# counters NETDEV: "rx tx" packets, as the kernel counts them.
counters() { $IP -s -j link show dev "$1" | jq -r '.[0].stats64 | "\(.rx.packets) \(.tx.packets)"'; }
# peer MODE [ARGS]: the VM end, dpdk-testpmd with net_virtio_user on the socket.
peer() {
	local mode=$1
	shift
	dpdk-testpmd -l 0,1 --main-lcore 1 -n 1 --file-prefix sriov-relay-peer -m 128 --no-pci --single-file-segments \
		--vdev "net_virtio_user0,path=$vmsock,queues=1,mac=$mac0" -- --forward-mode="$mode" "$@" -a \
		--total-num-mbufs=4096 >"$logs/peer-$mode.log" 2>&1 &
	ppid=$!
}
# peer_counts LOG: "rx tx" of port 0 at testpmd's exit.
peer_counts() {
	awk '/Forward statistics for port 0/ {s = 1} s && /RX-packets:/ {rx = $2} s && /TX-packets:/ {tx = $2; exit}
		END {print rx + 0, tx + 0}' "$1"
}
stat_of() { curl -s --unix-socket "$SRIOV_RELAY_SOCKET" http://r/v1/relays/vm0/stats | jq -r "$1"; }
show_of() { curl -s --unix-socket "$SRIOV_RELAY_SOCKET" http://r/v1/relays/vm0 | jq -r "$1"; }
state_is() { [ "$(show_of .state)" == "$1" ]; }
wait_state() { wait_for "$2" state_is "$1"; } # STATE SECONDS

# --- VF 1 -> the VM: frames sent on VF 1's netdev, to VF 0's MAC ---
peer rxonly
check "the VM end connected: the relay runs" wait_state running 90
N=300
read -r rx1 tx1 <<<"$(counters "$net1")"
python3 - "$net1" "$mac0" "$mac1" "$N" <<'PY'
import socket, sys
dev, dst, src, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind((dev, 0))
frame = bytes.fromhex(dst.replace(":", "")) + bytes.fromhex(src.replace(":", "")) + b"\x88\xb5" + bytes(50)
for _ in range(n):
    s.send(frame)
PY
sleep 3
read -r rx2 tx2 <<<"$(counters "$net1")"
to_vm=$(stat_of .vf_to_vm.packets)
stop "$ppid"
ppid=
read -r prx _ <<<"$(peer_counts "$logs/peer-rxonly.log")"
echo "# VF 1 sent $((tx2 - tx1)); the relay passed $to_vm to the VM; the VM end received $prx"
check "VF 1's netdev sent the $N frames (ip -s)" [ $((tx2 - tx1)) -ge "$N" ]
check "the relay passed them to the VM (stats vf_to_vm >= $N)" [ "$to_vm" -ge "$N" ]
check "the VM end received them (testpmd RX-packets >= $N)" [ "$prx" -ge "$N" ]
check "... no more than the relay passed" [ "$prx" -le "$to_vm" ]

# --- the VM -> VF 1: testpmd txonly to VF 1's MAC; the VM end reconnects ---
read -r rx1 _ <<<"$(counters "$net1")"
peer txonly --eth-peer=0,$mac1 --txpkts=64
check "the VM end connected again: running" wait_state running 90
check_eq "... the relay counts 2 connections" "$(show_of .vm_connects)" 2
sleep 5
read -r rx2 _ <<<"$(counters "$net1")"
to_vf=$(stat_of .vm_to_vf.packets)
got=$((rx2 - rx1))
echo "# VF 1 received $got; the relay passed $to_vf to VF 0"
check "VF 1's netdev received the VM's frames (ip -s: $got)" [ "$got" -ge 100 ]
check "the relay passed at least as many (stats vm_to_vf $to_vf)" [ "$to_vf" -ge "$got" ]
check_status "sriovctl relay stats vm0" 0 "$ctl" relay stats vm0 --relay-socket "$SRIOV_RELAY_SOCKET"
check_contains "... prints both directions" "$out" "vm_to_vf"

# --- the PF's driver reloaded under the relay (the VM end keeps sending) ---
losses=$(show_of .vf_losses)
timeout 60 sh -c "echo $pf > /sys/bus/pci/drivers/igb/unbind"
check_eq "igb unbound from the PF (the relay let VF 0 go)" "$(readlink "/sys/bus/pci/devices/$pf/driver")" ""
check "the relay says the VF is gone" wait_state vf-gone 20
check_eq "... vf_losses counts it" "$(show_of .vf_losses)" $((losses + 1))
check_contains "... its log says why" "$(cat "$logs/relay.log")" "vf-gone"
echo "$pf" >/sys/bus/pci/drivers/igb/bind
vf0_on_vfio() { [ "$(basename "$(readlink "/sys/bus/pci/devices/$pf/virtfn0/driver" 2>/dev/null)")" == vfio-pci ]; }
wait_for 90 vf0_on_vfio
check_eq "sriovd re-applied: VF 0 on vfio-pci again" \
	"$(basename "$(readlink "/sys/bus/pci/devices/$pf/virtfn0/driver" 2>/dev/null)")" vfio-pci
check "the relay resumed on the new VF 0" wait_state running 30
check_contains "... its log says so" "$(cat "$logs/relay.log")" "vf-back"
check_eq "... with the same VM connection" "$(show_of .vm_connects)" 2
has_net1() { net1=$(vf1dev); [ -n "$net1" ]; }
wait_for 30 has_net1
$IP link set "$net1" up
echo 1 >"/proc/sys/net/ipv6/conf/$net1/disable_ipv6"
read -r rx1 _ <<<"$(counters "$net1")"
sleep 5
read -r rx2 _ <<<"$(counters "$net1")"
echo "# after the reload VF 1 received $((rx2 - rx1))"
check "frames flow again: VF 1 receives the VM's (ip -s: $((rx2 - rx1)))" [ $((rx2 - rx1)) -ge 100 ]
stop "$ppid"
ppid=
read -r _ ptx <<<"$(peer_counts "$logs/peer-txonly.log")"
echo "# the VM end sent $ptx in all; the relay: $(curl -s --unix-socket "$SRIOV_RELAY_SOCKET" http://r/v1/relays/vm0/stats | jq -c .)"
check "the relay's stats stay below what the VM end sent" [ "$(stat_of .vm_to_vf.packets)" -le "$ptx" ]
tap_done
