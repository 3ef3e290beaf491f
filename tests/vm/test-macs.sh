#!/bin/bash
# MAC scenario, run INSIDE the testbed VM: a VF on igbvf really carries the
# MAC it is given (its own netdev's address in sysfs and the PF's view in
# `ip -j link`, both the wanted MAC) after `apply` with `mac: stable` and
# after `vf set VF mac M`, also with the VF's netdev up (igbvf then refuses
# the address and its driver is reloaded); `list` shows both values when
# they differ, `plan` counts the difference as drift and `apply` heals it;
# MACs two VFs would share are refused with nothing written.
#   test-macs.sh BUILD_DIR [ARTIFACT_DIR]
set -uo pipefail
build=$1
artifacts=${2:-}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/lib/tap.sh"
. "$here/lib/stable-mac.sh"
ctl=$build/src/sriovctl
IP=/sbin/ip
save() { [ -n "$artifacts" ] && mkdir -p "$artifacts" && cat >"$artifacts/$1" || cat >/dev/null; }
work=$(mktemp -d)
export SRIOV_STATE_DIR=$work/state

igb=()
for d in /sys/bus/pci/devices/*; do
	[ "$(basename "$(readlink "$d/driver" 2>/dev/null)")" == igb ] && igb+=("$(basename "$d")")
done
pf0=${igb[0]} pf1=${igb[1]}
net0=$(ls /sys/bus/pci/devices/$pf0/net | head -1)
net1=$(ls /sys/bus/pci/devices/$pf1/net | head -1)
perm0=$(cat /sys/class/net/$net0/address)
# igbvf learns the PF's MAC at probe only while the PF is up.
$IP link set "$net0" up
$IP link set "$net1" up

vf_net() { ls "/sys/bus/pci/devices/$1/virtfn$2/net" 2>/dev/null | head -1; }
vf_sysfs_mac() { cat "/sys/bus/pci/devices/$1/virtfn$2/net/$(vf_net "$1" "$2")/address"; }
ip_vf_mac() { $IP -j link show "$1" | jq -r --argjson i "$2" '.[0].vfinfo_list[] | select(.vf==$i) | .address'; }

cat >"$work/sriovd.conf" <<CONF
version: 1
pfs:
  - match:
      netdev: $net0
    numvfs: 3
    mac: stable
  - match:
      pci: $pf1
    numvfs: 2
CONF
save sriovd.conf <"$work/sriovd.conf"

# --- mac: stable reaches the VF's own netdev ---
check_status "apply mac: stable from nothing" 0 "$ctl" apply --config-dir "$work/none" "$work/sriovd.conf"
printf '%s\n' "$out" | save apply-stable.txt
for i in 0 1 2; do
	want=$(stable_mac_of "$perm0" $i)
	check_eq "VF $i: ip shows the stable MAC" "$(ip_vf_mac "$net0" $i)" "$want"
	check_eq "VF $i: its netdev $(vf_net "$pf0" $i) carries it (sysfs)" "$(vf_sysfs_mac "$pf0" $i)" "$want"
done
check_status "plan when in sync" 0 "$ctl" -j plan --config-dir "$work/none" "$work/sriovd.conf"
check_eq "no changes planned" "$(jq '.changes | length' <<<"$out")" 0

# --- vf set mac, with the VF's netdev down and up ---
check_status "vf set eth1#0 mac (netdev down)" 0 "$ctl" vf set "$net1#0" mac 02:00:00:00:00:70
check_eq "eth1 VF 0: ip" "$(ip_vf_mac "$net1" 0)" 02:00:00:00:00:70
check_eq "eth1 VF 0: sysfs" "$(vf_sysfs_mac "$pf1" 0)" 02:00:00:00:00:70
n=$(vf_net "$pf1" 1)
$IP link set "$n" up
check_status "vf set eth1#1 mac (PF gave one before)" 0 "$ctl" vf set "$net1#1" mac 02:00:00:00:00:71
# Once the VF's link is up, igbvf refuses an address other than the PF's.
for _ in $(seq 100); do [ "$(cat /sys/class/net/$n/carrier 2>/dev/null)" == 1 ] && break; sleep 0.1; done
check_eq "eth1 VF 1: netdev $n has carrier" "$(cat /sys/class/net/$n/carrier)" 1
check_status "ip: igbvf now refuses another address itself" 2 $IP link set "$n" address 02:00:00:00:00:7f
check_status "vf set eth1#1 another mac (netdev up)" 0 "$ctl" vf set "$net1#1" mac 02:00:00:00:00:72
printf '%s\n' "$out" | save vf-set-up.txt
check_contains "the VF's driver was reloaded" "$out" "(its driver was reloaded)"
check_eq "eth1 VF 1: ip" "$(ip_vf_mac "$net1" 1)" 02:00:00:00:00:72
check_eq "eth1 VF 1: sysfs" "$(vf_sysfs_mac "$pf1" 1)" 02:00:00:00:00:72
n=$(vf_net "$pf1" 1)
check_eq "eth1 VF 1: its netdev $n is up again" "$(( $(cat /sys/class/net/$n/flags) & 1 ))" 1

# A netdev the host uses is not reloaded: refused, and the PF's view put back.
for _ in $(seq 100); do [ "$(cat /sys/class/net/$n/carrier 2>/dev/null)" == 1 ] && break; sleep 0.1; done
$IP addr add 192.0.2.7/24 dev "$n"
check_status "vf set on a VF whose netdev carries an address: refused" 1 "$ctl" vf set "$net1#1" mac 02:00:00:00:00:73
printf '%s\n' "$out" | save vf-set-in-use.txt
check_contains "says why" "$out" "reloading its driver igbvf would drop its network"
check_contains "and that it was put back" "$out" "the settings of this call were put back"
check_eq "ip: the PF's view put back" "$(ip_vf_mac "$net1" 1)" 02:00:00:00:00:72
check_eq "sysfs: the netdev kept its MAC" "$(vf_sysfs_mac "$pf1" 1)" 02:00:00:00:00:72
check_contains "and its address" "$($IP -4 addr show dev "$n")" 192.0.2.7
$IP addr flush dev "$n"

# --- vf set: a MAC another VF has is refused, naming it ---
have=$(stable_mac_of "$perm0" 2)
check_status "vf set a MAC VF 2 of $net0 has: refused" 1 "$ctl" vf set "$net1#1" mac "$have"
check_contains "names the VF that has it" "$out" "VF 2 of $net0 ($(basename "$(readlink /sys/bus/pci/devices/$pf0/virtfn2)")) already has it"
check_eq "eth1 VF 1 unchanged" "$(ip_vf_mac "$net1" 1)" 02:00:00:00:00:72

# --- the two values differ: list shows both, plan counts it, apply heals ---
n0=$(vf_net "$pf0" 0)
stable0=$(stable_mac_of "$perm0" 0)
# igbvf takes a netdev address against the PF's only while the PF is down.
$IP link set "$net0" down
$IP link set "$n0" address 02:cc:00:00:00:09
$IP link set "$net0" up
check_eq "made to differ (sysfs)" "$(vf_sysfs_mac "$pf0" 0)" 02:cc:00:00:00:09
check_status "list" 0 "$ctl" list
printf '%s\n' "$out" | save list-differ.txt
check_contains "list shows the netdev's MAC beside the PF's" "$(grep " $n0 " <<<"$out")" "$stable0"
check_contains "list: and the netdev's" "$(grep " $n0 " <<<"$out")" "netdev-mac 02:cc:00:00:00:09"
check_status "list -j" 0 "$ctl" -j list
check_eq "list -j: link.mac and netdev_mac" \
	"$(jq -r --arg a "$(basename "$(readlink /sys/bus/pci/devices/$pf0/virtfn0)")" '.pfs[].vfs[] | select(.address==$a) | "\(.link.mac) \(.netdev_mac)"' <<<"$out")" \
	"$stable0 02:cc:00:00:00:09"
check_status "plan sees the drift" 0 "$ctl" -j plan --config-dir "$work/none" "$work/sriovd.conf"
printf '%s\n' "$out" | save plan-differ.json
check_eq "plan: exactly that change" "$(jq -c '[.changes[] | [.pf_netdev, .vf, .field, .now, .want]]' <<<"$out")" \
	"[[\"$net0\",0,\"mac\",\"$stable0 (netdev 02:cc:00:00:00:09)\",\"$stable0\"]]"
check_status "apply heals it" 0 "$ctl" apply --config-dir "$work/none" "$work/sriovd.conf"
printf '%s\n' "$out" | save apply-heal.txt
check_eq "healed (sysfs)" "$(vf_sysfs_mac "$pf0" 0)" "$stable0"
check_eq "healed (ip)" "$(ip_vf_mac "$net0" 0)" "$stable0"
check_status "plan after healing" 0 "$ctl" -j plan --config-dir "$work/none" "$work/sriovd.conf"
check_eq "no changes planned" "$(jq '.changes | length' <<<"$out")" 0

# --- duplicate MACs: refused before anything is written ---
snapshot() { $IP -j -d link show; for p in "${igb[@]}"; do cat /sys/bus/pci/devices/$p/sriov_numvfs; done
	for p in "${igb[@]}"; do for i in 0 1; do vf_sysfs_mac "$p" $i; done; done; }
before=$(snapshot)
mkdir -p "$work/d"
cat >"$work/dup.conf" <<CONF
version: 1
pfs:
  - match:
      netdev: $net1
    vfs:
      - index: 0
        mac: 02:00:00:00:00:20
CONF
cat >"$work/d/50-dup.conf" <<CONF
version: 1
pfs:
  - match:
      pci: $pf1
    vfs:
      - index: 1
        mac: 02:00:00:00:00:20
CONF
msg="$work/d/50-dup.conf:7:14: mac: 02:00:00:00:00:20 for VF 1 of $net1 ($pf1), which VF 0 of $net1 ($pf1) gets too ($work/dup.conf:7:14); two VFs cannot share a MAC"
check_status "plan: duplicate across files refused" 1 "$ctl" plan --config-dir "$work/d" "$work/dup.conf"
check_contains "plan: names both places" "$out" "$msg"
check_status "apply: duplicate across files refused" 1 "$ctl" apply --config-dir "$work/d" "$work/dup.conf"
check_contains "apply: the same message" "$out" "$msg"
cat >"$work/dup2.conf" <<CONF
version: 1
pfs:
  - match:
      netdev: $net1
    vfs:
      - index: 0
        mac: $(stable_mac_of "$perm0" 1)
CONF
check_status "apply: a MAC a VF the file does not mention has: refused" 1 "$ctl" apply --config-dir "$work/none" "$work/dup2.conf"
check_contains "names that VF" "$out" "which VF 1 of $net0 ($pf0) already has (the config does not set its MAC)"
check_eq "nothing was written" "$(snapshot)" "$before"

tap_done
