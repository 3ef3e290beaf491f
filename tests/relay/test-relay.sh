#!/usr/bin/env bash
# sriov-relay on a CPU-only machine (TAP): a network namespace with a veth
# pair; the relay between net_af_packet on one end (the VF stand-in) and a
# vhost-user socket whose other end is dpdk-testpmd with net_virtio_user (the
# VM stand-in). Frames both ways, counted by the kernel (ip -s link on the
# other veth end) and by testpmd against the relay's own counters; a relay
# added and removed at run time; the VM side leaving and coming back (server
# and client mode); jumbo frames (MTU 9000, net_pcap on a veth); starts that
# cannot work say why. No hugepages needed:
# both DPDK processes run with --no-huge (memfd-backed, shareable).
#   test-relay.sh SRIOV_RELAY
set -uo pipefail

relay_bin=$1
IP=/sbin/ip
n=0 failed=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $1"; shift; for l in "$@"; do echo "# $l"; done; }
check() { # check DESC CMD...
	local d=$1
	shift
	if "$@"; then ok "$d"; else not_ok "$d"; fi
}
check_eq() { # check_eq DESC GOT WANT
	if [ "$2" = "$3" ]; then ok "$1"; else not_ok "$1" "got:  $2" "want: $3"; fi
}

if [ "$(id -u)" != 0 ]; then
	echo "1..0 # SKIP needs root (a network namespace)"
	exit 77
fi
for t in dpdk-testpmd python3 curl jq unshare "$IP"; do
	if ! command -v "$t" >/dev/null; then
		echo "1..0 # SKIP $t is not installed (scripts/install-deps.sh)"
		exit 77
	fi
done

ns=sriov-relay-$$
dir=$(mktemp -d /tmp/sriov-relay-test.XXXXXX)
ctl=$dir/ctl.sock
relay_pid= tp_pid=
cleanup() {
	exec 9>&- 2>/dev/null
	[ -n "$tp_pid" ] && kill "$tp_pid" 2>/dev/null && wait "$tp_pid" 2>/dev/null
	[ -n "$relay_pid" ] && kill "$relay_pid" 2>/dev/null && wait "$relay_pid" 2>/dev/null
	$IP netns del "$ns" 2>/dev/null
	rm -rf "$dir"
}
trap cleanup EXIT

$IP netns add "$ns"
$IP -n "$ns" link add v0 type veth peer name v1
$IP -n "$ns" link add w0 type veth peer name w1
$IP -n "$ns" link add x0 type veth peer name x1
# j0/j1: jumbo frames (MTU 9000 on both ends).
$IP -n "$ns" link add j0 mtu 9000 type veth peer name j1 mtu 9000
for l in lo v0 v1 w0 w1 x0 x1 j0 j1; do $IP -n "$ns" link set "$l" up; done
# No IPv6 (router solicitations and the like): every frame on v1 is ours.
$IP netns exec "$ns" sh -c 'for f in /proc/sys/net/ipv6/conf/*/disable_ipv6; do echo 1 > $f; done'
inns() { $IP netns exec "$ns" "$@"; }

C() { curl -s --unix-socket "$ctl" "$@"; }
post() { C -X POST -H 'Content-Type: application/json' -d "$1" -w '\n%{http_code}' http://relay/v1/relays; }
field() { C "http://relay/v1/relays/$1" | jq -r "$2"; }
stat_of() { C "http://relay/v1/relays/$1/stats" | jq -r "$2"; }
link_stat() { $IP -n "$ns" -j -s link show "$1" | jq -r ".[0].stats64.$2.${3:-packets}"; }
# wait_for SECONDS CMD...: until CMD succeeds.
wait_for() {
	local s=$1
	shift
	for ((i = 0; i < s * 10; i++)); do
		"$@" && return 0
		sleep 0.1
	done
	return 1
}
state_is() { [ "$(field "$1" .state)" = "$2" ]; }
# inject IFACE COUNT [PAYLOAD]: COUNT frames of 14 + PAYLOAD (default 100)
# bytes sent from IFACE (raw socket).
inject() {
	inns python3 - "$1" "$2" "${3:-100}" <<'EOF'
import socket, sys
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind((sys.argv[1], 0))
frame = bytes.fromhex("ffffffffffff020000000001") + b"\x88\xb5" + bytes(int(sys.argv[3]))
for _ in range(int(sys.argv[2])):
    s.send(frame)
EOF
}

echo "1..50"

# ---- starts that cannot work ----------------------------------------------
out=$(unshare -m sh -c "mount -t tmpfs none /sys/kernel/mm/hugepages && exec $relay_bin -l 0-1 --no-pci --in-memory -- --socket $ctl" 2>&1)
rc=$?
check "no hugepages: exit 1" [ "$rc" = 1 ]
check "no hugepages: one line that says so" grep -qx 'sriov-relay: hugepages: none free (reserve some: echo 256 > /sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages), or give EAL --no-huge' <<<"$out"

eal=(-l 0-1 --no-huge -m 128 --no-pci)
start_relay() { # start_relay FILE_PREFIX ARGS...
	local p=$1
	shift
	$IP netns exec "$ns" "$relay_bin" "${eal[@]}" --file-prefix "$p" -- --socket "$ctl" --sysfs-root "$dir/sys" "$@" \
		>"$dir/relay.log" 2>&1 &
	relay_pid=$!
	wait_for 20 grep -q '^sriov-relay: ready on' "$dir/relay.log"
}
check "the relay starts (one relay given with --relay)" start_relay rly$$ \
	--relay "{\"name\": \"r0\", \"vf\": \"net_af_packet0,iface=v0\", \"socket\": \"$dir/vm.sock\", \"lcores\": [1]}"

out=$(inns "$relay_bin" "${eal[@]}" --file-prefix rly2$$ -- --socket "$ctl" 2>&1)
rc=$?
check "control socket in use: exit 1" [ "$rc" = 1 ]
check "control socket in use: says so, naming --socket" grep -qx "sriov-relay: --socket $ctl: another process serves it" <<<"$out"

out=$(post "{\"vf\": \"net_null0\", \"socket\": \"$ctl\", \"lcores\": [1]}")
check_eq "vhost socket in use: 409 naming socket" "$(head -n -1 <<<"$out" | jq -c .error)" \
	"{\"code\":\"conflict\",\"message\":\"socket: $ctl: another process serves it\",\"field\":\"socket\"}"
out=$(post "{\"vf\": \"net_null0\", \"socket\": \"$dir/n.sock\", \"lcores\": [0]}")
check_eq "the main lcore is refused: 400 naming lcores" "$(head -n -1 <<<"$out" | jq -r '.error.field + ": " + .error.message')" \
	"lcores: lcores: 0 is not a worker lcore of this process (EAL's -l/--lcores; lcore 0 is the main one, it serves the control socket)"
# A sysfs tree that plays the kernel's PCI devices: one VF on igbvf, one on no driver.
mkdir -p "$dir/sys/bus/pci/drivers/igbvf" "$dir/sys/bus/pci/devices/0000:03:10.0" "$dir/sys/bus/pci/devices/0000:03:10.2"
ln -s ../../../../bus/pci/drivers/igbvf "$dir/sys/bus/pci/devices/0000:03:10.0/driver"
out=$(post "{\"vf\": \"0000:03:10.0\", \"socket\": \"$dir/p.sock\", \"lcores\": [1]}")
check_eq "a VF on its kernel driver: 400 naming vf, and how to bind it" "$(head -n -1 <<<"$out" | jq -r '.error.field + ": " + .error.message')" \
	"vf: vf: 0000:03:10.0 is bound to igbvf, not vfio-pci (sriovctl bind 0000:03:10.0 vfio-pci)"
out=$(post "{\"vf\": \"03:10.2\", \"socket\": \"$dir/p.sock\", \"lcores\": [1]}")
check_eq "a VF on no driver: 400 naming vf" "$(head -n -1 <<<"$out" | jq -r '.error.field + ": " + .error.message')" \
	"vf: vf: 0000:03:10.2 has no driver; bind it to vfio-pci first (sriovctl bind 0000:03:10.2 vfio-pci)"
out=$(post "{\"vf\": \"0000:03:11.0\", \"socket\": \"$dir/p.sock\", \"lcores\": [1]}")
check_eq "no such PCI device: 400 naming vf" "$(head -n -1 <<<"$out" | jq -r '.error.field + ": " + .error.message')" \
	"vf: vf: no PCI device 0000:03:11.0"
check_eq "nothing half-done after refusals" "$(C http://relay/v1/relays | jq -r '[.relays[].name] | join(",")')" "r0"

# ---- frames both ways ------------------------------------------------------
check_eq "r0 waits for its VM" "$(field r0 .state)" "waiting-vm"
check_eq "r0 offers no offload it cannot carry" "$(field r0 '.features.offered | map(select(test("csum|tso|ufo|ecn"))) | length')" "0"
rm -f "$dir/tp.in"
mkfifo "$dir/tp.in"
start_testpmd() { # start_testpmd VDEV_ARGS [TESTPMD_ARGS]: testpmd reading commands from the fifo
	stdbuf -oL dpdk-testpmd -l 0-1 --no-huge -m 256 --no-pci --file-prefix tp$$ --vdev "net_virtio_user0,$1" -- -i \
		--total-num-mbufs=8192 --forward-mode=rxonly ${2:-} <"$dir/tp.in" >"$dir/tp.log" 2>&1 &
	tp_pid=$!
	exec 9>"$dir/tp.in"
}
stop_testpmd() {
	echo quit >&9
	exec 9>&-
	wait "$tp_pid" 2>/dev/null
	tp_pid=
}
# testpmd's own counters of port 0: "RX TX".
tp_stats() {
	local before
	before=$(grep -c 'NIC statistics for port 0' "$dir/tp.log")
	echo "show port stats 0" >&9
	wait_for 10 sh -c "[ \$(grep -c 'NIC statistics for port 0' '$dir/tp.log') -gt $before ]" || return 1
	sleep 0.2
	awk '/NIC statistics for port 0/ {s = 1} s && /RX-packets:/ {rx = $2} s && /TX-packets:/ {tx = $2} END {print rx, tx}' \
		"$dir/tp.log"
}
start_testpmd "path=$dir/vm.sock,queues=1"
check "the VM connects: running" wait_for 20 state_is r0 running
check_eq "negotiated features are listed" "$(field r0 '.features.negotiated | index("version_1") != null')" "true"

v1_rx0=$(link_stat v1 rx) v1_tx0=$(link_stat v1 tx)
echo "start tx_first 4" >&9 # 4 bursts of 32 frames of 64 bytes toward the VF
wait_for 10 sh -c "[ \$($IP -n $ns -j -s link show v1 | jq .[0].stats64.rx.packets) -ge $((v1_rx0 + 128)) ]"
inject v1 200
wait_for 10 sh -c "[ \"\$(curl -s --unix-socket $ctl http://relay/v1/relays/r0/stats | jq .vf_to_vm.packets)\" = 200 ]"
read -r tp_rx tp_tx < <(tp_stats)
check_eq "VM -> VF: testpmd sent 128" "$tp_tx" 128
check_eq "VM -> VF: v1 received 128 (ip -s link)" "$(($(link_stat v1 rx) - v1_rx0))" 128
check_eq "VM -> VF: the relay counts 128 frames, 8192 bytes, no drop" \
	"$(stat_of r0 '[.vm_to_vf.packets, .vm_to_vf.bytes, .vm_to_vf.drops] | join(" ")')" "128 8192 0"
check_eq "VF -> VM: v1 sent 200 (ip -s link)" "$(($(link_stat v1 tx) - v1_tx0))" 200
check_eq "VF -> VM: testpmd received 200" "$tp_rx" 200
check_eq "VF -> VM: the relay counts 200 frames, 22800 bytes, no drop" \
	"$(stat_of r0 '[.vf_to_vm.packets, .vf_to_vm.bytes, .vf_to_vm.drops] | join(" ")')" "200 22800 0"

# ---- the VM goes and comes back (server mode) -------------------------------
stop_testpmd
check "the VM leaves: r0 waits again, the relay still runs" wait_for 10 state_is r0 waiting-vm
inject v1 10 # nobody to take them: the relay does not count them as sent
start_testpmd "path=$dir/vm.sock,queues=1"
check "the VM reconnects: running, second connection" wait_for 20 sh -c \
	"[ \"\$(curl -s --unix-socket $ctl http://relay/v1/relays/r0 | jq -r '.state + \" \" + (.vm_connects|tostring)')\" = 'running 2' ]"
v1_rx0=$(link_stat v1 rx)
echo "start tx_first 1" >&9
wait_for 10 sh -c "[ \"\$(curl -s --unix-socket $ctl http://relay/v1/relays/r0/stats | jq .vm_to_vf.packets)\" = 160 ]"
check_eq "after the reconnect frames flow again (v1 got 32 more)" "$(($(link_stat v1 rx) - v1_rx0))" 32
stop_testpmd

# ---- add and remove at run time; client mode and a VM restart ----------------
out=$(post "{\"name\": \"c1\", \"vf\": \"net_af_packet1,iface=w0,qpairs=2\", \"socket\": \"$dir/vmc.sock\", \"mode\": \"client\", \"queues\": 2, \"lcores\": 1}")
check_eq "POST a second relay (client mode, 2 queue pairs): 201" "$(tail -n1 <<<"$out")" 201
check_eq "two relays listed" "$(C http://relay/v1/relays | jq -r '[.relays[].name] | join(",")')" "r0,c1"
out=$(post "{\"name\": \"c2\", \"vf\": \"net_af_packet1,iface=w0\", \"socket\": \"$dir/other.sock\", \"lcores\": [1]}")
check_eq "the same VF twice: 409 naming vf" "$(head -n -1 <<<"$out" | jq -r '.error.field')" vf
out=$(post "{\"name\": \"x\", \"vf\": \"net_af_packet2,iface=x0\", \"socket\": \"$dir/x.sock\", \"mtu\": 9000, \"lcores\": [1]}")
check_eq "an MTU above the VF's largest frame: 400 naming mtu" "$(head -n -1 <<<"$out" | jq -r '.error.field + ": " + .error.message')" \
	"mtu: mtu: net_af_packet2 takes an MTU of 46..1500 (frames up to 1518 bytes), not 9000"
check "the refused relay left nothing behind (its socket)" [ ! -e "$dir/x.sock" ]
start_testpmd "path=$dir/vmc.sock,queues=2,server=1" "--rxq=2 --txq=2" # the VM's QEMU makes the socket
check "client mode: the relay connects to the VM" wait_for 20 state_is c1 running
w1_rx0=$(link_stat w1 rx)
echo "start tx_first 2" >&9 # 2 bursts of 32 on each of the 2 queues
check "client mode, 2 queues: w1 gets the VM's 128 frames" wait_for 10 sh -c \
	"[ \$($IP -n $ns -j -s link show w1 | jq .[0].stats64.rx.packets) -ge $((w1_rx0 + 128)) ]"
check_eq "client mode, 2 queues: the relay counts 128" "$(stat_of c1 .vm_to_vf.packets)" 128
stop_testpmd
check "client mode: the VM is gone" wait_for 10 state_is c1 waiting-vm
start_testpmd "path=$dir/vmc.sock,queues=2,server=1" "--rxq=2 --txq=2"
check "client mode: the VM restarted, the relay reconnects by itself" wait_for 20 state_is c1 running
stop_testpmd
check_eq "DELETE c1: 204" "$(C -X DELETE -o /dev/null -w '%{http_code}' http://relay/v1/relays/c1)" 204
check_eq "c1 is gone: 404" "$(C -o /dev/null -w '%{http_code}' http://relay/v1/relays/c1)" 404
out=$(post "{\"name\": \"c1\", \"vf\": \"net_af_packet1,iface=w0\", \"socket\": \"$dir/vmc.sock\", \"mode\": \"client\", \"lcores\": [1]}")
check_eq "the same VF added again after its removal: 201" "$(tail -n1 <<<"$out")" 201
check_eq "r0 kept running through it all (its counters)" "$(stat_of r0 .vm_to_vf.packets)" 160

# ---- jumbo frames: MTU 9000 on a VF that takes them ---------------------------
# net_af_packet takes no frame above 1518 bytes whatever its framesz (DPDK's
# ethdev holds it to the largest frame its info gives); net_pcap on the same
# kind of veth takes frames up to 64 KiB.
out=$(post "{\"name\": \"j\", \"vf\": \"net_pcap3,iface=j0\", \"socket\": \"$dir/vmj.sock\", \"mtu\": 9000, \"lcores\": [1]}")
check_eq "a relay with mtu 9000 on a VF that takes it: 201" "$(tail -n1 <<<"$out")" 201
check_eq "... it says so (mtu, largest frame)" "$(field j '[.mtu, .max_frame] | join(" ")')" "9000 9022"
check_eq "... and offers the guest its MTU (virtio-net's mtu feature)" "$(field j '.features.offered | index("mtu") != null')" "true"
start_testpmd "path=$dir/vmj.sock,queues=1" "--mbuf-size=10240 --max-pkt-len=9018 --txpkts=9000"
check "jumbo: the VM connects" wait_for 20 state_is j running
j1_rx0=$(link_stat j1 rx) j1_rxb0=$(link_stat j1 rx bytes) j1_tx0=$(link_stat j1 tx)
echo "start tx_first 1" >&9 # 32 frames of 9000 bytes toward the VF
wait_for 10 sh -c "[ \$($IP -n $ns -j -s link show j1 | jq .[0].stats64.rx.packets) -ge $((j1_rx0 + 32)) ]"
inject j1 20 8986 # 20 frames of 9000 bytes toward the VM
wait_for 10 sh -c "[ \"\$(curl -s --unix-socket $ctl http://relay/v1/relays/j/stats | jq .vf_to_vm.packets)\" = 20 ]"
read -r tp_rx tp_tx < <(tp_stats)
check_eq "jumbo VM -> VF: j1 received 32 frames, 288000 bytes (ip -s link)" \
	"$(($(link_stat j1 rx) - j1_rx0)) $(($(link_stat j1 rx bytes) - j1_rxb0))" "32 288000"
check_eq "jumbo VM -> VF: the relay counts 32 frames, 288000 bytes, no drop" \
	"$(stat_of j '[.vm_to_vf.packets, .vm_to_vf.bytes, .vm_to_vf.drops] | join(" ")')" "32 288000 0"
check_eq "jumbo VF -> VM: j1 sent 20 (ip -s link)" "$(($(link_stat j1 tx) - j1_tx0))" 20
check_eq "jumbo VF -> VM: testpmd received 20" "$tp_rx" 20
check_eq "jumbo VF -> VM: the relay counts 20 frames, 180000 bytes, no drop" \
	"$(stat_of j '[.vf_to_vm.packets, .vf_to_vm.bytes, .vf_to_vm.drops] | join(" ")')" "20 180000 0"
stop_testpmd
check_eq "DELETE j: 204" "$(C -X DELETE -o /dev/null -w '%{http_code}' http://relay/v1/relays/j)" 204

kill "$relay_pid"
wait "$relay_pid"
rc=$?
relay_pid=
check_eq "SIGTERM: the relay exits 0" "$rc" 0
grep -q 'event=vm-disconnected relay=r0' "$dir/relay.log" && grep -q 'event=relay-removed relay=c1' "$dir/relay.log"
check "the log says when the VM went and when a relay was removed" [ $? = 0 ]

exit $((failed > 0))
