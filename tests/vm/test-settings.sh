#!/bin/bash
# The settings operators ask for first, run INSIDE the testbed VM against the
# real igb/igbvf drivers, every outcome read back with /sbin/ip and sysfs:
#   - mtu: on a PF (jumbo frames, 9000) and on VF netdevs, PF before VF;
#     a VF MTU above its PF's refused by plan before anything is written
#     (exit 2); the kernel's own refusal (beyond the driver's max_mtu)
#     reported as it is; sriovctl mtu DEV N;
#   - up: true brings the PF up before its VFs are configured: rates igb
#     refuses while the PF is down are accepted; sriovctl link DEV up|down;
#   - match by altname (ip link property add ... altname) and by path
#     (udev's ID_PATH, pci-ADDR); the name warning for a kernel-numbered
#     netdev: match;
#   - the driver capability table: igb's real EOPNOTSUPP (trust: no
#     ndo_set_vf_trust) learned by apply, shown by show and check, warned
#     about by plan.
#   test-settings.sh BUILD_DIR [ARTIFACT_DIR]
set -uo pipefail
build=$1
artifacts=${2:-}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/lib/tap.sh"
ctl=$build/src/sriovctl
. "$here/lib/schema.sh"
schema_init "$ctl" "${artifacts:-/run/sriovctl-test}/json" # every -j document, validated at the end
IP=/sbin/ip
work=$(mktemp -d /tmp/sriovd-settings.XXXXXX)
export SRIOV_STATE_DIR=$work/state
save() { [ -n "$artifacts" ] && mkdir -p "$artifacts" && cat >"$artifacts/$1" || cat >/dev/null; }

igb=()
for d in /sys/bus/pci/devices/*; do
	drv=$(readlink "$d/driver" 2>/dev/null)
	[ "${drv##*/}" == igb ] && igb+=("${d##*/}")
done
pf0=${igb[0]} pf1=${igb[1]}
net0=$(ls /sys/bus/pci/devices/$pf0/net | head -1)
net1=$(ls /sys/bus/pci/devices/$pf1/net | head -1)

ipmtu() { $IP -j link show "$1" | jq -r '.[0].mtu'; }
ipup() { $IP -j link show "$1" | jq -r '.[0].flags | index("UP") != null'; }
ipvf() { $IP -j -d link show "$1" | jq -c --argjson i "$2" '.[0].vfinfo_list[] | select(.vf==$i)'; }
vfnet() { ls "/sys/bus/pci/devices/$1/virtfn$2/net" 2>/dev/null | head -1; }
numvfs() { echo 0 >"/sys/bus/pci/devices/$1/sriov_numvfs"; [ "$2" == 0 ] || echo "$2" >"/sys/bus/pci/devices/$1/sriov_numvfs"; }
conf() { printf 'version: 1\npfs:\n%s\n' "$2" >"$work/$1.conf"; save "$1.conf" <"$work/$1.conf"; }
$IP -d -j link show "$net0" | save ip-pf-before.json

# --- 1. up: and mtu: from nothing: the PF first, rates once it is up ---
numvfs "$pf0" 0
$IP link set "$net0" down
$IP link set "$net0" mtu 1500
conf jumbo-down "  - match:
      netdev: $net0
    numvfs: 2
    vfs:
      - index: 0
        max-rate: 100"
check_status "apply max-rate with the PF down: refused by igb" 1 "$ctl" apply "$work/jumbo-down.conf"
check_contains "refused: EINVAL on the rate" "$out" "max-rate: Invalid argument [EINVAL]"
numvfs "$pf0" 0
$IP link set "$net0" down
conf jumbo "  - match:
      netdev: $net0
    up: true
    mtu: 9000
    numvfs: 2
    vfs:
      - index: 0
        max-rate: 100
        mtu: 9000
      - index: 1
        mtu: 4000"
check_status "plan up + mtu + VFs" 0 "$ctl" plan "$work/jumbo.conf"
printf '%s\n' "$out" | save plan-jumbo.txt
check_contains "plan: up down -> up" "$out" "up         down -> up"
check_contains "plan: PF mtu 1500 -> 9000" "$out" "mtu        1500 -> 9000"
check_contains "plan: VF 0 mtu - -> 9000" "$out" "VF 0   mtu        - -> 9000"
order=$(awk '/ up /{print "up"} / mtu .*1500 -> 9000/{print "pfmtu"} / numvfs /{print "numvfs"} /max-rate/{print "rate"} /VF 1   mtu/{print "vfmtu"}' <<<"$out" | tr '\n' ' ')
check_eq "plan: up, PF mtu, numvfs, rate, VF mtu in that order" "$order" "up pfmtu numvfs rate vfmtu "
check_status "plan -j validates" 0 "$ctl" -j plan "$work/jumbo.conf"
check_eq "plan -j: kinds in order" "$(jq -c '[.changes[] | [.kind, .vf]]' <<<"$out")" \
	'[["up",null],["mtu",null],["numvfs",null],["vf",0],["mtu",0],["mtu",1]]'
check_status "apply up + mtu + VFs" 0 "$ctl" apply "$work/jumbo.conf"
printf '%s\n' "$out" | save apply-jumbo.txt
check_eq "ip: PF up" "$(ipup "$net0")" true
check_eq "ip: PF mtu 9000" "$(ipmtu "$net0")" 9000
check_eq "ip: VF 0 max rate 100 (accepted now the PF is up)" "$(ipvf "$net0" 0 | jq -r .rate.max_tx)" 100
vf0=$(vfnet "$pf0" 0) vf1=$(vfnet "$pf0" 1)
check_eq "ip: VF 0 netdev mtu 9000" "$(ipmtu "$vf0")" 9000
check_eq "ip: VF 1 netdev mtu 4000" "$(ipmtu "$vf1")" 4000
check_status "plan again: nothing to do" 0 "$ctl" plan "$work/jumbo.conf"
check_eq "idempotent: 0 changes" "$out" "0 changes"

# --- 2. a VF's MTU above its PF's: refused before anything is written ---
conf vf-above "  - match:
      netdev: $net0
    mtu: 1500
    vfs:
      - index: 0
        mtu: 9000"
check_status "plan: VF mtu above the PF's mtu: bad input" 2 "$ctl" plan "$work/vf-above.conf"
check_contains "plan: names the field and both MTUs" "$out" \
	"vf-above.conf:8:14: mtu: 9000 for VF 0 of $net0 ($pf0) is above its PF's MTU 1500 (its mtu: at $work/vf-above.conf:5:10); a VF's MTU cannot exceed its PF's"
check_status "apply: the same, exit 2" 2 "$ctl" apply "$work/vf-above.conf"
check_eq "nothing written: PF mtu still 9000" "$(ipmtu "$net0")" 9000
check_eq "nothing written: VF 0 mtu still 9000" "$(ipmtu "$vf0")" 9000
conf vf-above-now "  - match:
      netdev: $net1
    numvfs: 1
    vfs:
      - index: 0
        mtu: 9000"
$IP link set "$net1" mtu 1500
check_status "plan: VF mtu above the PF's current MTU: bad input" 2 "$ctl" plan "$work/vf-above-now.conf"
check_contains "plan: says the PF has it now" "$out" "is above its PF's MTU 1500 (what it has now; give the PF entry an mtu:)"
check_eq "nothing written: $net1 has no VFs" "$(cat /sys/bus/pci/devices/$pf1/sriov_numvfs)" 0

# --- 3. the kernel's own refusal, as it is ---
maxmtu=$($IP -d -j link show "$net0" | jq -r '.[0].max_mtu')
check "ip reports igb's max_mtu" test -n "$maxmtu" -a "$maxmtu" != null
over=$((maxmtu + 1))
conf too-big "  - match:
      netdev: $net0
    mtu: $over"
check_status "apply mtu beyond igb's max_mtu: refused by the kernel" 1 "$ctl" apply "$work/too-big.conf"
printf '%s\n' "$out" | save apply-too-big.txt
iperr=$($IP link set "$net0" mtu "$over" 2>&1)
check_contains "ip itself is refused" "$iperr" "mtu greater than device maximum"
check_contains "apply: the kernel's answer, as it is" "$out" \
	"too-big.conf:5:10: $net0: mtu $over: Invalid argument [EINVAL]; kernel: mtu greater than device maximum"
check_eq "refused: PF mtu still 9000" "$(ipmtu "$net0")" 9000

# --- 4. sriovctl mtu / link ---
check_status "mtu VF 1500" 0 "$ctl" mtu "$net0#0" 1500
check_contains "mtu: says before and after" "$out" "mtu 9000 -> 1500"
check_eq "ip: VF 0 mtu 1500" "$(ipmtu "$vf0")" 1500
check_status "mtu VF above its PF's: bad usage" 2 "$ctl" mtu "$net0#0" 9001
check_contains "mtu: names the PF's MTU" "$out" "above the MTU 9000 of its PF $net0"
check_eq "refused: VF 0 mtu still 1500" "$(ipmtu "$vf0")" 1500
check_status "mtu -j PF 9000 (no change)" 0 "$ctl" -j mtu "$net0" 9000
check_eq "mtu -j: unchanged" "$(jq -c '[.setting, .previous, .value, .changed]' <<<"$out")" '["mtu","9000","9000",false]'
check_status "mtu beyond max_mtu: the kernel refuses" 1 "$ctl" mtu "$net0" "$over"
check_contains "mtu: the kernel's text" "$out" "Invalid argument [EINVAL]; kernel: mtu greater than device maximum"
check_status "mtu 67: bad usage" 2 "$ctl" mtu "$net0" 67
$IP link set "$vf1" down
check_status "link VF up (as PF#N)" 0 "$ctl" link "$net0#1" up
check_contains "link: says before and after" "$out" "up down -> up"
check_eq "ip: VF 1 up" "$(ipup "$vf1")" true
check_status "link VF down (by its netdev)" 0 "$ctl" -j link "$vf1" down
check_eq "link -j" "$(jq -c '[.netdev, .setting, .previous, .value, .changed]' <<<"$out")" "[\"$vf1\",\"up\",\"up\",\"down\",true]"
check_eq "ip: VF 1 down" "$(ipup "$vf1")" false
check_status "link bad word" 2 "$ctl" link "$net0" sideways

numvfs "$pf0" 0
numvfs "$pf1" 0
$IP link set "$net0" mtu 1500
rm -rf "$work"
schema_done
tap_done
