#!/bin/bash
# The relay's real data path, run INSIDE the testbed VM (one boot): sriovd
# applies a config whose PF entries give VF 0 to vfio-pci and ask for a
# relay on it (relays:); sriov-relay drives VF 0 with DPDK's igb VF
# poll-mode driver (hugepages, the IOMMU) and serves a vhost-user socket;
# dpdk-testpmd with net_virtio_user is the VM on its other end. Frames go
# both ways between that end and VF 1's kernel netdev of the same PF (the
# emulated NIC switches between the VFs of one PF), counted on both sides:
# /sbin/ip -s for VF 1, testpmd's own counters for the VM end, and the
# relay's stats between them. The VM end leaves and comes back to the same
# relay. Then the first PF's driver is reloaded under the relay: the relay
# says the VF went, sriovd re-applies the config when the PF comes back,
# and the relay resumes on the new VF 0 with the same socket and the same VM
# connection. The second PF runs jumbo frames: MTU 9000 on the PF and VF 1,
# a relay with mtu 9000, frames of 8000 bytes both ways.
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
# The logs straight into the artifacts (the host's folder): readable even
# when the guest is cut off.
logs=${artifacts:-$run/logs}
mkdir -p "$logs"
rpid='' dpid='' ppid=''
stop() { # PID: SIGTERM, then SIGKILL
	[ -n "$1" ] || return 0
	kill -TERM "$1" 2>/dev/null
	for _ in $(seq 100); do kill -0 "$1" 2>/dev/null || break; sleep 0.1; done
	kill -KILL "$1" 2>/dev/null
	wait "$1" 2>/dev/null
}
cleanup() {
	exec 9>&- 2>/dev/null
	stop "$ppid"
	stop "$dpid"
	stop "$rpid"
}
trap cleanup EXIT

for t in "$relay" "$daemon" "$ctl"; do
	[ -x "$t" ] || { tap_not_ok "$t is built"; tap_done; exit 1; }
done
for t in dpdk-testpmd python3 stdbuf curl jq; do
	command -v "$t" >/dev/null || { tap_not_ok "$t is installed"; tap_done; exit 1; }
done

# No IPv6 on any netdev, the VFs' to come included (router solicitations,
# MLD): every frame VF 1 sends or receives is the test's.
echo 1 >/proc/sys/net/ipv6/conf/default/disable_ipv6
echo 1 >/proc/sys/net/ipv6/conf/all/disable_ipv6

# Hugepages for the relay (the VF's DMA goes through the IOMMU).
echo 256 >/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages
mkdir -p /dev/hugepages
mountpoint -q /dev/hugepages || mount -t hugetlbfs none /dev/hugepages
check "256 hugepages reserved (sysfs)" [ "$(</sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages)" -ge 256 ]

igb=()
for d in /sys/bus/pci/devices/*; do
	[ "$(basename "$(readlink "$d/driver" 2>/dev/null)")" == igb ] && igb+=("${d##*/}")
done
pf=${igb[0]} jpf=${igb[1]}
mac0=02:00:00:00:00:10 mac1=02:00:00:00:00:11
jmac0=02:00:00:00:00:20 jmac1=02:00:00:00:00:21
vmsock=$run/vm0.sock jsock=$run/vm1.sock
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
  - match: {pci: $jpf}
    numvfs: 2
    up: true
    mtu: 9000
    vfs:
      - {index: 0, mac: $jmac0, spoofchk: off, driver: vfio-pci}
      - {index: 1, mac: $jmac1, mtu: 9000}
    relays:
      - {vf: 0, name: vm1, socket: $jsock, lcores: [1], mtu: 9000}
EOF
cp "$run/c.conf" "$logs/sriovd.conf"

# wait_for SECONDS CMD...: until CMD succeeds (a deadline, not a count:
# every fork costs under TCG).
wait_for() {
	local end=$((SECONDS + $1))
	shift
	while [ "$SECONDS" -lt "$end" ]; do "$@" && return 0; sleep 0.5; done
	return 1
}
R() { curl -s --unix-socket "$SRIOV_RELAY_SOCKET" "$@"; }
health() { R -f -o /dev/null http://r/v1/health; }

# sriov-relay first, with no relay: sriovd asks it for vm0 and vm1 once
# their VFs are on vfio-pci. Main lcore 0 (the control socket), forwarding
# lcore 1.
"$relay" -l 0,1 -n 1 --file-prefix sriov-relay-vm -m 128 -- --socket "$SRIOV_RELAY_SOCKET" \
	>"$logs/relay.log" 2>&1 &
rpid=$!
wait_for 120 health
check "sriov-relay answers on its control socket" health

"$daemon" --config "$run/c.conf" --config-dir "" --status-file "$run/status.json" --resync-s 0 \
	--socket "$run/api.sock" --state-dir "$run/ledger" -v 2>"$logs/sriovd.log" &
dpid=$!
both_added() { [ "$(grep -c 'event=relay-added' "$logs/sriovd.log")" -ge 2 ]; }
wait_for 180 both_added
vf0=$(basename "$(readlink "/sys/bus/pci/devices/$pf/virtfn0")")
vf1=$(basename "$(readlink "/sys/bus/pci/devices/$pf/virtfn1")")
driver_of() { basename "$(readlink "/sys/bus/pci/devices/$1/driver" 2>/dev/null)" 2>/dev/null; }
check_eq "sriovd made 2 VFs on $pf (sysfs)" "$(<"/sys/bus/pci/devices/$pf/sriov_numvfs")" 2
check_eq "VF 0 ($vf0) is on vfio-pci (sysfs)" "$(driver_of "$vf0")" vfio-pci
check_contains "sriovd added the config's relay vm0" "$(<"$logs/sriovd.log")" \
	"event=relay-added relay=\"vm0: $vf0 <-> $vmsock\""
jvf0=$(basename "$(readlink "/sys/bus/pci/devices/$jpf/virtfn0")")
check_contains "... and vm1 on the second PF's VF 0" "$(<"$logs/sriovd.log")" \
	"event=relay-added relay=\"vm1: $jvf0 <-> $jsock\""
check_status "sriovctl relay list" 0 "$ctl" relay list --relay-socket "$SRIOV_RELAY_SOCKET"
check_contains "... vm0 on VF 0, waiting for its VM" "$out" "vm0          $vf0 <-> $vmsock (server) waiting-vm"
out=$(curl -s --unix-socket "$run/api.sock" http://l/v1/relays/vm0)
check_eq "sriovd's API serves the relay's own document" "$(jq -r '[.name, .vf, .socket] | join(" ")' <<<"$out")" \
	"vm0 $vf0 $vmsock"
check_eq "the relay drives VF 0 with the MAC sriovd gave it" "$(R http://r/v1/relays/vm0 | jq -r '.vf_mac | ascii_downcase')" \
	"$mac0"

# VF 1's netdev (new after the PF's reload: looked up again).
netdev_of() { local n=("/sys/bus/pci/devices/$1"/net/*); [ -e "${n[0]}" ] && echo "${n[0]##*/}"; }
vf1_up() { net1=$(netdev_of "$vf1") && [ -n "$net1" ] && $IP link set "$net1" up; }
wait_for 30 vf1_up
# carrier NETDEV...: each has its link (sysfs carrier): the PF's, after
# sriovd's up: (igb resets), and VF 1's, which follows it.
carrier() {
	local n
	for n; do [ "$(cat "/sys/class/net/$n/carrier" 2>/dev/null)" == 1 ] || return 1; done
}
wait_for 60 carrier "$(netdev_of "$pf")" "$net1"

# counters NETDEV: "rx_packets tx_packets rx_bytes tx_bytes", as the kernel counts them.
counters() {
	$IP -s -j link show dev "$1" |
		jq -r '.[0].stats64 | "\(.rx.packets) \(.tx.packets) \(.rx.bytes) \(.tx.bytes)"'
}
# inject NETDEV DST SRC COUNT SIZE: COUNT frames of SIZE bytes (without
# the CRC) sent on NETDEV through a raw socket.
inject() {
	python3 - "$@" <<'PY'
import socket, sys
dev, dst, src, n, size = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind((dev, 0))
frame = bytes.fromhex(dst.replace(":", "")) + bytes.fromhex(src.replace(":", "")) + b"\x88\xb5"
frame += bytes(size - len(frame))
for _ in range(n):
    s.send(frame)
PY
}

# The VM end: dpdk-testpmd with net_virtio_user on a relay's socket,
# forwarding on lcore 0 (the relay forwards on 1),
# interactive, its commands from a fifo (fd 9), its output in LOG.
#   peer_start LOG SOCKET MAC PEER_MAC [TESTPMD_ARGS...]
peer_log=
peer_start() {
	peer_log=$1
	local sock=$2 mac=$3 peer=$4
	shift 4
	rm -f "$run/peer.in"
	mkfifo "$run/peer.in"
	stdbuf -oL dpdk-testpmd -l 0,1 --main-lcore 1 -n 1 --no-huge -m 256 --no-pci --file-prefix sriov-relay-peer \
		--vdev "net_virtio_user0,path=$sock,queues=1,mac=$mac" -- -i --forward-mode=rxonly \
		--eth-peer=0,"$peer" --total-num-mbufs=4096 "$@" <"$run/peer.in" >"$peer_log" 2>&1 &
	ppid=$!
	exec 9>"$run/peer.in"
	# Its first prompt: the port is started, its receive ring filled (the
	# relay runs from the VM's DRIVER_OK on, which comes before that:
	# frames sent meanwhile have no buffer in the VM and are drops).
	wait_for 120 prompts_above 0
}
# prompts_above N: testpmd printed more than N prompts (one after each
# command it finished).
prompts() { grep -o 'testpmd> ' "$peer_log" | wc -l; }
prompts_above() { [ "$(prompts)" -gt "$1" ]; }
# peer_cmd CMD...: sends CMD and waits until testpmd is done with it.
peer_cmd() {
	local n
	n=$(prompts)
	echo "$*" >&9
	wait_for 60 prompts_above "$n"
}
peer_quit() {
	echo quit >&9
	exec 9>&-
	local end=$((SECONDS + 30))
	while kill -0 "$ppid" 2>/dev/null && [ "$SECONDS" -lt "$end" ]; do sleep 0.5; done
	stop "$ppid"
	ppid=
}
# peer_stats: "rx tx rx_bytes tx_bytes" of port 0, testpmd's own counters
# (show port stats: its block ends with the Tx-pps line and a rule).
peer_stats() {
	local before
	before=$(grep -c 'Tx-pps:' "$peer_log")
	peer_cmd show port stats 0
	[ "$(grep -c 'Tx-pps:' "$peer_log")" -gt "$before" ] || return 1
	awk '/NIC statistics for port 0/ {s = 1; next} s && /RX-packets:/ {rx = $2; rxb = $6}
		s && /TX-packets:/ {tx = $2; txb = $6} s && /^ *#+ *$/ {s = 0} END {print rx + 0, tx + 0, rxb + 0, txb + 0}' \
		"$peer_log"
}
# A relay's document and stats, one field: NAME JQ.
show_of() { R "http://r/v1/relays/$1" | jq -r "$2"; }
stat_of() { R "http://r/v1/relays/$1/stats" | jq -r "$2"; }
state_is() { [ "$(show_of "$1" .state)" == "$2" ]; } # NAME STATE
stat_ge() { [ "$(stat_of "$1" "$2")" -ge "$3" ]; }  # NAME JQ N
rx_ge() { local a; read -r a _ <<<"$(counters "$1")"; [ "$a" -ge "$2" ]; } # NETDEV N

# --- VF 1 -> the VM: frames sent on VF 1's netdev to VF 0's MAC ---------
peer_start "$logs/peer-vm0-a.log" "$vmsock" "$mac0" "$mac1"
check "the VM end connected: vm0 runs" wait_for 120 state_is vm0 running
check_eq "... its first connection" "$(show_of vm0 .vm_connects)" 1
peer_cmd start
N=300
read -r rx1 tx1 _ <<<"$(counters "$net1")"
relay_in0=$(stat_of vm0 .vf_to_vm.packets)
inject "$net1" "$mac0" "$mac1" "$N" 60
wait_for 60 stat_ge vm0 .vf_to_vm.packets $((relay_in0 + N))
read -r rx2 tx2 _ <<<"$(counters "$net1")"
read -r prx ptx _ <<<"$(peer_stats)"
to_vm=$(stat_of vm0 .vf_to_vm.packets)
echo "# VF 1 sent $((tx2 - tx1)); the VM end received $prx; the relay: $(R http://r/v1/relays/vm0/stats | jq -c .)"
check_eq "VF 1's netdev sent the $N frames (ip -s)" $((tx2 - tx1)) "$N"
check_eq "the relay passed them to the VM (stats vf_to_vm)" "$to_vm" "$N"
check_eq "the VM end received them (testpmd RX-packets)" "$prx" "$N"
check_eq "... none dropped on the way to the VM (stats)" "$(stat_of vm0 .vf_to_vm.drops)" 0

# --- the VM -> VF 1: 4 bursts of 32 frames of 64 bytes to VF 1's MAC -----
peer_cmd stop
read -r rx1 _ <<<"$(counters "$net1")"
peer_cmd start tx_first 4
wait_for 60 rx_ge "$net1" $((rx1 + 128))
read -r rx2 _ <<<"$(counters "$net1")"
read -r _ ptx _ <<<"$(peer_stats)"
to_vf=$(stat_of vm0 .vm_to_vf.packets)
echo "# the VM end sent $ptx; the relay passed $to_vf to VF 0; VF 1 received $((rx2 - rx1))"
check_eq "the VM end sent 128 (testpmd TX-packets)" "$ptx" 128
check_eq "the relay passed them to VF 0 (stats vm_to_vf)" "$to_vf" 128
check_eq "VF 1's netdev received them (ip -s)" $((rx2 - rx1)) 128
check_status "sriovctl relay stats vm0" 0 "$ctl" relay stats vm0 --relay-socket "$SRIOV_RELAY_SOCKET"
check_contains "... prints both directions" "$out" "vm_to_vf"

# --- the VM end leaves and comes back; the relay stays -------------------
peer_quit
check "the VM end left: vm0 waits for its VM" wait_for 30 state_is vm0 waiting-vm
check_eq "... the relay kept its process (the same pid)" "$(kill -0 "$rpid" && echo alive)" alive
peer_start "$logs/peer-vm0-b.log" "$vmsock" "$mac0" "$mac1"
check "the VM end connected again: running" wait_for 120 state_is vm0 running
check_eq "... the relay counts 2 connections" "$(show_of vm0 .vm_connects)" 2
read -r rx1 _ <<<"$(counters "$net1")"
peer_cmd start tx_first 1
wait_for 60 rx_ge "$net1" $((rx1 + 32))
read -r rx2 _ <<<"$(counters "$net1")"
check_eq "after the reconnect frames flow again: VF 1 received 32 (ip -s)" $((rx2 - rx1)) 32
check_eq "... the relay's counters went on (stats vm_to_vf)" "$(stat_of vm0 .vm_to_vf.packets)" 160

# --- the PF's driver reloaded under the relay, the VM end connected -----
losses=$(show_of vm0 .vf_losses)
timeout 120 sh -c "echo $pf > /sys/bus/pci/drivers/igb/unbind"
check_eq "igb unbound from the PF (the relay let VF 0 go)" "$(driver_of "$pf")" ""
check "the relay says the VF is gone" wait_for 30 state_is vm0 vf-gone
check_eq "... vf_losses counts it" "$(show_of vm0 .vf_losses)" $((losses + 1))
check_contains "... its log says so" "$(<"$logs/relay.log")" "event=vf-gone relay=vm0"
echo "$pf" >/sys/bus/pci/drivers/igb/bind
vf0_on_vfio() { [ "$(driver_of "$pf/virtfn0")" == vfio-pci ]; }
wait_for 120 vf0_on_vfio
check_eq "sriovd re-applied: VF 0 on vfio-pci again (sysfs)" "$(driver_of "$pf/virtfn0")" vfio-pci
check "the relay resumed on the new VF 0" wait_for 60 state_is vm0 running
check_contains "... its log says so" "$(<"$logs/relay.log")" "event=vf-back relay=vm0"
check_eq "... with the same VM connection" "$(show_of vm0 .vm_connects)" 2
wait_for 60 vf1_up
vf1_mac() { [ "$($IP -j link show dev "$net1" | jq -r '.[0].address')" == "$mac1" ]; }
wait_for 60 vf1_mac
check "the PF and VF 1 have their links again (sysfs carrier)" wait_for 60 carrier "$(netdev_of "$pf")" "$net1"
read -r rx1 tx1 _ <<<"$(counters "$net1")"
to_vf1=$(stat_of vm0 .vm_to_vf.packets) to_vm1=$(stat_of vm0 .vf_to_vm.packets)
peer_cmd stop
peer_cmd start tx_first 2
wait_for 60 rx_ge "$net1" $((rx1 + 64))
read -r rx2 _ <<<"$(counters "$net1")"
echo "# after the reload VF 1 received $((rx2 - rx1))"
check_eq "after the reload the VM's frames reach VF 1 again (ip -s: 64)" $((rx2 - rx1)) 64
check_eq "... the relay counts them (stats vm_to_vf +64)" "$(stat_of vm0 .vm_to_vf.packets)" $((to_vf1 + 64))
inject "$net1" "$mac0" "$mac1" 100 60
wait_for 60 stat_ge vm0 .vf_to_vm.packets $((to_vm1 + 100))
read -r _ tx2 _ <<<"$(counters "$net1")"
read -r prx ptx _ <<<"$(peer_stats)"
check_eq "... and VF 1's reach the VM: VF 1 sent 100 (ip -s)" $((tx2 - tx1)) 100
check_eq "... the relay passed 100 (stats vf_to_vm)" "$(stat_of vm0 .vf_to_vm.packets)" $((to_vm1 + 100))
check_eq "... the VM end received 100 (testpmd RX-packets)" "$prx" 100
check_eq "... the VM end sent 96 on this connection (testpmd TX-packets)" "$ptx" 96
peer_quit

# --- jumbo frames on the second PF: MTU 9000, a relay with mtu 9000 -------
jvf1=$(basename "$(readlink "/sys/bus/pci/devices/$jpf/virtfn1")")
jnet=$(netdev_of "$jpf")
check_eq "the second PF has MTU 9000 (ip)" "$($IP -j link show dev "$jnet" | jq -r '.[0].mtu')" 9000
jvf1_up() { jnet1=$(netdev_of "$jvf1") && [ -n "$jnet1" ] && $IP link set "$jnet1" up; }
wait_for 30 jvf1_up
wait_for 60 carrier "$jnet" "$jnet1"
check_eq "its VF 1 has MTU 9000 (ip)" "$($IP -j link show dev "$jnet1" | jq -r '.[0].mtu')" 9000
check_eq "relay vm1 carries MTU 9000, frames up to 9022 bytes" "$(show_of vm1 '"\(.mtu) \(.max_frame)"')" "9000 9022"
peer_start "$logs/peer-vm1.log" "$jsock" "$jmac0" "$jmac1" --mbuf-size=9216 --max-pkt-len=9018 --txpkts=8000
check "the VM end connected to vm1" wait_for 120 state_is vm1 running
peer_cmd start
read -r rx1 tx1 rxb1 txb1 <<<"$(counters "$jnet1")"
inject "$jnet1" "$jmac0" "$jmac1" 50 8000
wait_for 60 stat_ge vm1 .vf_to_vm.packets 50
read -r _ tx2 _ txb2 <<<"$(counters "$jnet1")"
read -r prx _ prxb _ <<<"$(peer_stats)"
echo "# jumbo: VF 1 sent $((tx2 - tx1)) frames, $((txb2 - txb1)) bytes; the VM end received $prx, $prxb bytes"
echo "# the relay: $(R http://r/v1/relays/vm1/stats | jq -c .)"
check_eq "jumbo VF 1 -> VM: VF 1 sent 50 frames of 8000 bytes (ip -s)" "$((tx2 - tx1)) $((txb2 - txb1))" "50 400000"
check_eq "... the relay passed 50 frames, 400000 bytes (stats)" "$(stat_of vm1 '"\(.vf_to_vm.packets) \(.vf_to_vm.bytes)"')" \
	"50 400000"
check_eq "... the VM end received 50 frames, 400000 bytes (testpmd)" "$prx $prxb" "50 400000"
peer_cmd stop
read -r rx1 _ rxb1 _ <<<"$(counters "$jnet1")"
peer_cmd start tx_first 1
wait_for 60 rx_ge "$jnet1" $((rx1 + 32))
read -r rx2 _ rxb2 _ <<<"$(counters "$jnet1")"
read -r _ ptx _ ptxb <<<"$(peer_stats)"
echo "# jumbo: the VM end sent $ptx, $ptxb bytes; VF 1 received $((rx2 - rx1)), $((rxb2 - rxb1)) bytes"
check_eq "jumbo VM -> VF 1: the VM end sent 32 frames of 8000 bytes (testpmd)" "$ptx $ptxb" "32 256000"
check_eq "... the relay passed them (stats)" "$(stat_of vm1 '"\(.vm_to_vf.packets) \(.vm_to_vf.bytes) \(.vm_to_vf.drops)"')" \
	"32 256000 0"
check_eq "... VF 1 received 32 frames, 256000 bytes (ip -s)" "$((rx2 - rx1)) $((rxb2 - rxb1))" "32 256000"
peer_quit

check "sriov-relay still runs" kill -0 "$rpid"
check "sriovd still runs" kill -0 "$dpid"
tap_done
