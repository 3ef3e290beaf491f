#!/bin/bash
# sriovd's service API on the real kernel, run INSIDE the testbed VM, with
# real users made by useradd. The guest runs on this machine's own root
# (9p), so /etc first becomes the guest's own (an overlay with a tmpfs on
# top): useradd, groupadd and usermod write there only, and the scenario
# checks at the end that this machine's /etc/passwd, group, shadow,
# gshadow (and lastlog, faillog) are what they were.
#
# sriovd runs as root with its defaults: the socket /run/sriovd/api.sock,
# mode 0660, root and the group sriovd. Who can connect is the socket
# file's permission: apicarol (neither in the group nor given the file)
# cannot even connect. apialice is given the file (an ACL entry, the
# socket stays 0660 root:sriovd) but not the group: she reads the
# inventory and gets 403 on a claim (mutating routes go by the peer's
# kernel credentials). After `usermod -aG sriovd apialice` her next login
# claims a VF by network: 201, the claim's MAC and VLAN are on the real VF
# (/sbin/ip), the claim records her uid. apibob, in the group, gets 403
# releasing her claim (only root or the same uid). Packets sent on the
# claimed VF's netdev move its counters in GET /metrics (source
# "vf_netdev", compared with sysfs and /sbin/ip -s; the igb PF driver
# keeps no per-VF counters, its IFLA_VF_STATS stay 0: source "pf", compared
# with /sbin/ip); promtool accepts the output. Her DELETE scrubs the VF
# (/sbin/ip, sysfs). The log ends with the curl session as TAP comments
# (also artifacts/curl-session.txt).
#   test-api.sh BUILD_DIR [ARTIFACT_DIR]
set -uo pipefail
build=$1
artifacts=${2:-}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/lib/tap.sh"
. "$here/../lib/sriovd.sh"
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
sock=/run/sriovd/api.sock
save() { [ -n "$artifacts" ] && mkdir -p "$artifacts" && cat >"$artifacts/$1" || cat >/dev/null; }
trap sriovd_stop EXIT

# --- /etc of the guest's own: never this machine's ---
host_etc=$run/host-etc # this machine's /etc, as the share shows it
etc_files=(passwd group shadow gshadow subuid subgid)
host_sums() {
	(cd "$host_etc" && sha256sum "${etc_files[@]}") 2>&1
	sha256sum /var/log/lastlog /var/log/faillog 2>&1
	ls /home /var/mail 2>&1
}
private_etc() {
	mkdir -p "$host_etc" "$run/etc-rw" || return 1
	mount --bind /etc "$host_etc" || return 1
	modprobe -d "$SRIOV_VM_KERNEL_DIR" overlay || return 1
	mount -t tmpfs -o mode=0755 etc-rw "$run/etc-rw" || return 1
	mkdir -p "$run/etc-rw/upper" "$run/etc-rw/work" || return 1
	mount -t overlay guest-etc -o "lowerdir=$host_etc,upperdir=$run/etc-rw/upper,workdir=$run/etc-rw/work" /etc ||
		return 1
	[ "$(stat -f -c %T /etc)" == overlayfs ]
}
if ! private_etc; then
	tap_not_ok "/etc is the guest's own (an overlay): without it useradd would write this machine's"
	echo "Bail out! no private /etc"
	exit 1
fi
sums_before=$(host_sums)
tap_ok "/etc is the guest's own: an overlay of this machine's with a tmpfs on top"

# --- the group and the users, made by the tools an administrator uses ---
check "groupadd sriovd" groupadd sriovd
check "useradd apialice (no lastlog/faillog entry: -l)" useradd -l -M -s /bin/bash apialice
check "useradd apibob, in the group sriovd" useradd -l -M -s /bin/bash -G sriovd apibob
check "useradd apicarol" useradd -l -M -s /bin/bash apicarol
alice_uid=$(id -u apialice)
bob_uid=$(id -u apibob)
# A fresh login of USER: its uid, its group and initgroups(3) from
# /etc/group as it is now (what a new session after usermod gets).
as() {
	local u=$1
	shift
	(cd / && setpriv --reuid="$u" --regid="$u" --init-groups "$@")
}
check_eq "apialice logs in outside the group" "$(as apialice id -nG)" "apialice"

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
check "sriovd starts with its default socket and group" sriovd_start "$daemon" "$work/d.log" "$sock" \
	--config "$work/c.conf" --config-dir "" --status-file "$run/status.json" --resync-s 0 --state-dir "$run/ledger"
check_eq "the socket: 0660, root:sriovd" "$(stat -c '%a %U:%G' "$sock")" "660 root:sriovd"
check_eq "eth0 has its 2 VFs" "$(cat /sys/bus/pci/devices/$pf0/sriov_numvfs)" 2

# --- the curl session: each command as its user typed it, and the answer ---
session=$work/curl-session.txt
: >"$session"
# shown USER COMMAND: runs COMMAND (a shell line) as USER (root: as root),
# writes both to the session; the answer in $out, its last line (curl's
# -w '%{http_code}', when asked) in $code, the rest in $body.
shown() {
	local u=$1 line=$2 prompt='$'
	[ "$u" == root ] && prompt='#'
	printf '%s@testbed %s %s\n' "$u" "$prompt" "$line" >>"$session"
	if [ "$u" == root ]; then out=$(bash -c "$line" 2>&1); else out=$(as "$u" bash -c "$line" 2>&1); fi
	printf '%s\n' "$out" >>"$session"
	code=$(tail -1 <<<"$out")
	body=$(sed '$d' <<<"$out")
}
C="curl -s --unix-socket $sock -w '%{http_code}\n'"
J="-H 'Content-Type: application/json'"

# --- who can connect: the file's permission ---
out=$(as apicarol curl -sS --unix-socket "$sock" http://localhost/v1/health 2>&1)
check_eq "apicarol (no group, no ACL) cannot connect to the 0660 socket: curl exit 7" "$?" 7
out=$(as apicarol python3 -c 'import socket, sys; socket.socket(socket.AF_UNIX).connect(sys.argv[1])' "$sock" 2>&1)
check_contains "... connect(2) says EACCES" "$out" "PermissionError: [Errno 13] Permission denied"
shown root "setfacl -m u:apialice:rw $sock"
check_eq "apialice is given the socket file (ACL), not the group" "$(getfacl -cp "$sock" 2>/dev/null | grep '^user:apialice:')" \
	"user:apialice:rw-"
check_eq "the socket still 0660 root:sriovd" "$(stat -c '%a %U:%G' "$sock")" "660 root:sriovd"

# --- apialice outside the group: reads, 403 on a claim ---
shown apialice "id"
shown apialice "curl -s --unix-socket $sock http://localhost/v1/inventory | jq -c '[.pfs[] | [.address, [.vfs[].address]]]'"
check_eq "apialice reads GET /v1/inventory: the PFs and VFs of sriovctl -j list" "$out" \
	"$("$ctl" -j list | jq -c '[.pfs[] | [.address, [.vfs[].address]]]')"
check_eq "... with 200" "$(as apialice curl -s -o /dev/null -w '%{http_code}' --unix-socket "$sock" \
	http://localhost/v1/inventory)" 200
U=6f1c0a3e-2b7d-4c55-9e0b-1a2b3c4d5e6f
claim_body="{\"consumer\": \"$U\", \"network\": \"n1\", \"mac\": \"02:00:00:aa:00:01\"}"
shown apialice "$C $J -d '$claim_body' http://localhost/v1/claims"
check_eq "apialice outside the group: POST /v1/claims 403" "$code" 403
check_eq "... saying why" "$(jq -r .error.message <<<"$body")" \
	"POST /v1/claims needs uid 0 or membership of the group sriovd"
check_contains "the denial is logged with her uid" "$(cat "$work/d.log")" \
	"event=api uid=$alice_uid "
check_contains "... route and decision" "$(grep "event=api uid=$alice_uid " "$work/d.log")" \
	'route="POST /v1/claims" decision=deny'
check_eq "nothing claimed" "$("$ctl" -j claims --state-dir "$run/ledger" --config "$work/c.conf" --config-dir '' |
	jq -c '[.claims[].id]')" "[]"

# --- usermod -aG sriovd: her next login claims ---
shown root "usermod -aG sriovd apialice"
shown apialice "id -nG"
check_eq "apialice's new login is in the group" "$out" "apialice sriovd"
shown apialice "$C $J -d '$claim_body' http://localhost/v1/claims"
check_eq "apialice in the group: POST /v1/claims 201" "$code" 201
save claim.json <<<"$body"
check_contains "the allow is logged with her uid" "$(grep "event=api uid=$alice_uid " "$work/d.log")" \
	'route="POST /v1/claims" decision=allow'
id=$(jq .claim.id <<<"$body")
vf=$(jq .claim.devices[0].vf_index <<<"$body")
vfaddr=$(jq -r .claim.devices[0].address <<<"$body")
check_eq "the claim says MAC and VLAN" "$(jq -c '.claim.devices[0] | [.mac, .vlan]' <<<"$body")" \
	'["02:00:00:aa:00:01",100]'
vfline() { $IP link show "$net0" | grep -E "^ +vf $vf "; }
shown root "$IP link show $net0 | grep -E '^ +vf $vf '"
check_eq "/sbin/ip: the VF has the claimed MAC and VLAN 100" \
	"$($IP -j -d link show "$net0" | jq -r --argjson v "$vf" '.[0].vfinfo_list[] | select(.vf==$v) | "\(.address) \(.vlan_list[0].vlan // 0)"')" \
	"02:00:00:aa:00:01 100"
check_eq "the claim records apialice's uid" \
	"$(curl -sS --unix-socket "$sock" "http://localhost/v1/claims/$id" | jq .claim.uid)" "$alice_uid"
"$ctl" -j claims --state-dir "$run/ledger" --config "$work/c.conf" --config-dir '' >"$work/claims.json" 2>&1
save claims-cli.json <"$work/claims.json"
check_eq "sriovctl claims sees it (one ledger)" "$(jq -c '[.claims[].id]' "$work/claims.json" 2>&1)" "[$id]"

# --- apibob, in the group, cannot release her claim ---
shown apibob "$C -X DELETE http://localhost/v1/claims/$id"
check_eq "apibob (in the group, another uid): DELETE 403" "$code" 403
check_eq "... only root or her uid" "$(jq -r .error.message <<<"$body")" \
	"claim $id was made by uid $alice_uid: only root or that uid may release it"
check_contains "apibob's refusal is logged: the claim is another uid's" \
	"$(grep "event=api uid=$bob_uid " "$work/d.log")" \
	"route=\"DELETE /v1/claims/$id\" decision=deny reason=\"claim of another uid\""
check_eq "the VF keeps the claimed MAC" \
	"$($IP -j -d link show "$net0" | jq -r --argjson v "$vf" '.[0].vfinfo_list[] | select(.vf==$v) | .address')" \
	"02:00:00:aa:00:01"

# --- /metrics: the claimed VF's counters move with packets on its netdev ---
metrics() { curl -sS --unix-socket "$sock" http://localhost/metrics; }
labels="pf=\"$pf0\",vf=\"$vf\",vf_pci=\"$vfaddr\",consumer=\"$U\""
# metric NAME SOURCE [TEXT]: the claimed VF's value
metric() { awk -v k="$1{$labels,source=\"$2\"}" '$1 == k { print $2 }' <<<"${3:-$(metrics)}"; }
metrics >"$work/metrics0"
check "promtool check metrics accepts the real output" promtool check metrics <"$work/metrics0"
check_contains "one VF of eth0 claimed" "$(cat "$work/metrics0")" \
	"sriovd_vfs{pf=\"$pf0\",pf_netdev=\"$net0\",state=\"claimed\"} 1"
vfnet=$(ls "/sys/bus/pci/devices/$vfaddr/net" 2>/dev/null | head -1)
check "the claimed VF has its netdev (igbvf)" test -n "$vfnet"
m0=$(metrics)
tx0=$(metric sriovd_vf_tx_packets_total vf_netdev "$m0")
rx0=$(metric sriovd_vf_rx_packets_total vf_netdev "$m0")
check "the claimed VF's tx counter (source vf_netdev) is there, labelled with the consumer" test -n "$tx0"
# Packets from the claimed VF to the other VF of eth0 (in a namespace of
# its own, on the same VLAN 100), through the emulated NIC's switch.
ovf=$((1 - vf))
oaddr=$(basename "$(readlink "/sys/bus/pci/devices/$pf0/virtfn$ovf")")
onet=$(ls "/sys/bus/pci/devices/$oaddr/net" 2>/dev/null | head -1)
noipv6() { [ -w "/proc/sys/net/ipv6/conf/$1/disable_ipv6" ] && echo 1 >"/proc/sys/net/ipv6/conf/$1/disable_ipv6"; }
$IP link set "$net0" up
$IP link set "$net0" vf "$ovf" vlan 100
$IP netns add apipeer
$IP link set "$onet" netns apipeer
$IP netns exec apipeer bash -c "echo 1 >/proc/sys/net/ipv6/conf/$onet/disable_ipv6" 2>/dev/null
$IP netns exec apipeer $IP addr add 192.0.2.2/24 dev "$onet"
$IP netns exec apipeer $IP link set "$onet" up
noipv6 "$vfnet"
$IP addr add 192.0.2.1/24 dev "$vfnet"
$IP link set "$vfnet" up
for _ in $(seq 20); do
	busybox ping -c 3 -W 1 -I "$vfnet" 192.0.2.2 >"$work/ping.txt" 2>&1 && break
	sleep 0.5
done
cat "$work/ping.txt" | save ping.txt
echo "# $(grep -E 'packets transmitted' "$work/ping.txt")"
# Quiet again: two reads a second apart agree.
stat_of() { echo "$(<"/sys/class/net/$vfnet/statistics/$1")"; }
snap() { echo "$(stat_of rx_packets) $(stat_of tx_packets) $(stat_of rx_bytes) $(stat_of tx_bytes)"; }
for _ in $(seq 20); do a=$(snap); sleep 1; [ "$a" == "$(snap)" ] && break; done
# The three reads count the same packets only if none came in between (a
# late ARP or neighbour packet): read again until sysfs is the same before
# and after them.
for _ in $(seq 10); do
	sys1=$(snap)
	m1=$(metrics)
	ip1=$($IP -j -s link show "$vfnet" | jq -r '.[0].stats64 | "\(.rx.packets) \(.tx.packets) \(.rx.bytes) \(.tx.bytes)"')
	[ "$sys1" == "$(snap)" ] && break
	sleep 1
done
printf '%s\n' "$m1" | save metrics.txt
{ $IP -d -s link show "$net0"; $IP -s link show "$vfnet"; } 2>&1 | save ip-after-packets.txt
tx1=$(metric sriovd_vf_tx_packets_total vf_netdev "$m1")
rx1=$(metric sriovd_vf_rx_packets_total vf_netdev "$m1")
check "tx packets (vf_netdev) moved: $tx0 -> $tx1" test "${tx1:-0}" -gt "${tx0:-0}"
check "rx packets (vf_netdev) moved: $rx0 -> $rx1 (the peer VF's replies)" test "${rx1:-0}" -gt "${rx0:-0}"
got="$rx1 $tx1 $(metric sriovd_vf_rx_bytes_total vf_netdev "$m1") $(metric sriovd_vf_tx_bytes_total vf_netdev "$m1")"
check_eq "rx/tx packets and bytes in /metrics are the VF netdev's in sysfs" "$got" "$sys1"
check_eq "... and what /sbin/ip -s link shows for $vfnet" "$got" "$ip1"
check_eq "dropped (vf_netdev) as sysfs says" \
	"$(metric sriovd_vf_rx_dropped_total vf_netdev "$m1") $(metric sriovd_vf_tx_dropped_total vf_netdev "$m1")" \
	"$(stat_of rx_dropped) $(stat_of tx_dropped)"
# The PF's view (IFLA_VF_STATS): igb has no ndo_get_vf_stats, so the
# kernel reports zeros; /metrics says what /sbin/ip says, labelled "pf".
ipvf=$($IP -j -s link show "$net0" | jq -r --argjson v "$vf" '.[0].vfinfo_list[] | select(.vf==$v) | .stats |
	"\(.rx.packets) \(.tx.tx_packets) \(.rx.bytes) \(.tx.tx_bytes)"')
check_eq "source pf: the PF's IFLA_VF_STATS as /sbin/ip shows them" \
	"$(metric sriovd_vf_rx_packets_total pf "$m1") $(metric sriovd_vf_tx_packets_total pf "$m1") $(metric sriovd_vf_rx_bytes_total pf "$m1") $(metric sriovd_vf_tx_bytes_total pf "$m1")" \
	"$ipvf"
echo "# $vfnet's own counters (rx tx packets, rx tx bytes): $sys1; IFLA_VF_STATS of VF $vf on $net0: $ipvf"
printf '%s\n' "$m1" >"$work/metrics1"
check "promtool accepts it after the packets" promtool check metrics <"$work/metrics1"
shown apialice "curl -s --unix-socket $sock http://localhost/metrics | grep 'vf_pci=\"$vfaddr\"' | grep _packets_total"
$IP addr flush dev "$vfnet"
$IP link set "$vfnet" down
$IP netns del apipeer
for _ in $(seq 50); do [ -e "/sys/bus/pci/devices/$oaddr/net/$onet" ] && break; sleep 0.1; done
$IP link set "$net0" vf "$ovf" vlan 0

# --- her release scrubs the VF ---
shown apialice "$C -X DELETE http://localhost/v1/claims/$id"
save release.json <<<"$body"
check_eq "apialice's DELETE /v1/claims/$id: 200" "$code" 200
check_eq "released" "$(jq -r '.released[0].state' <<<"$body")" released
l=$(vfline)
shown root "$IP link show $net0 | grep -E '^ +vf $vf '"
check_eq "/sbin/ip: VLAN 0 again" \
	"$($IP -j -d link show "$net0" | jq -r --argjson v "$vf" '.[0].vfinfo_list[] | select(.vf==$v) | .vlan_list[0].vlan // 0')" 0
check "/sbin/ip: the claimed MAC is gone" test \
	"$($IP -j -d link show "$net0" | jq -r --argjson v "$vf" '.[0].vfinfo_list[] | select(.vf==$v) | .address')" \
	!= "02:00:00:aa:00:01"
check_contains "/sbin/ip: spoof checking on" "$l" "spoof checking on"
check_eq "sysfs: the VF is on igbvf" "$(basename "$(readlink "/sys/bus/pci/devices/$vfaddr/driver")")" igbvf
check_eq "sysfs: eth0 still has its 2 VFs" "$(cat /sys/bus/pci/devices/$pf0/sriov_numvfs)" 2
check_contains "metrics: nothing claimed" "$(metrics)" \
	"sriovd_vfs{pf=\"$pf0\",pf_netdev=\"$net0\",state=\"claimed\"} 0"
check_eq "the ledger: no claims" "$("$ctl" -j claims --state-dir "$run/ledger" --config "$work/c.conf" --config-dir '' |
	jq -c '[.claims[].id]')" "[]"
sriovd_stop
save sriovd.log <"$work/d.log"

# --- this machine's files did not change ---
check_eq "this machine's passwd, group, shadow, gshadow, subuid, subgid, lastlog, faillog, /home, /var/mail: unchanged" \
	"$(host_sums)" "$sums_before"
check "apialice is in the guest's /etc/passwd only" bash -c "grep -q '^apialice:' /etc/passwd && \
	! grep -q '^apialice:' '$host_etc/passwd'"
umount /etc && umount "$run/etc-rw" && umount "$host_etc"
check "after the overlay: no apialice, apibob, apicarol, no group sriovd" bash -c \
	"! getent passwd apialice apibob apicarol && ! grep -q '^sriovd:' /etc/group"

echo "# --- the curl session ---"
sed 's/^/# /' "$session"
save curl-session.txt <"$session"
rm -rf "$work" "$run"
tap_done
