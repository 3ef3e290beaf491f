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
#   - the driver capability table: igb's real EOPNOTSUPP (VF link state:
#     no ndo_set_vf_link_state; query-rss) learned by apply and vf set,
#     shown by show and check, warned about by plan.
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
check_eq "idempotent: 0 changes" "$(tail -1 <<<"$out")" "0 changes"

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

# --- 5. match by altname and by path; the warning for a kernel-numbered name ---
nat=$(cat "/sys/class/net/$net1/name_assign_type" 2>/dev/null)
check_eq "sysfs: $net1 is a name the kernel numbered (no udev renamed it)" "$nat" 1
$IP link property add dev "$net1" altname sriovtest-up1
check_eq "ip: the altname names $net1" "$($IP -j link show sriovtest-up1 | jq -r '.[0].ifname')" "$net1"
conf alt "  - match:
      altname: sriovtest-up1
    numvfs: 1"
check_status "plan by altname" 0 "$ctl" plan "$work/alt.conf"
check_contains "the altname's PF" "$out" "$net1 ($pf1)           numvfs     0 -> 1"
check_eq "no name warning for an altname" "$(grep -c 'name the kernel numbered' <<<"$out")" 0
check_status "apply by altname" 0 "$ctl" apply "$work/alt.conf"
check_eq "sysfs: 1 VF on $pf1" "$(cat /sys/bus/pci/devices/$pf1/sriov_numvfs)" 1
conf path "  - match:
      path: pci-$pf1
    numvfs: 1"
check_status "plan by path" 0 "$ctl" plan "$work/path.conf"
check_eq "by path: the same PF, nothing to do" "$out" "0 changes"
conf path2 "  - match:
      path: pci-$pf1
    numvfs: 2"
check_status "plan by path, a change" 0 "$ctl" plan "$work/path2.conf"
check_contains "by path: $pf1" "$out" "$net1 ($pf1)           numvfs     1 -> 2"
conf byname "  - match:
      netdev: $net1
    numvfs: 1"
check_status "plan by the kernel's name" 0 "$ctl" plan "$work/byname.conf"
check_contains "plan: warns, suggesting the path and the address" "$out" \
	"warning: $work/byname.conf:4:7: match: netdev $net1 is a name the kernel numbered (name_assign_type 1, enum) that udev may still change, or the kernel give to another device; match by path: pci-$pf1 or pci: $pf1 instead"
check_status "plan -j by the kernel's name" 0 "$ctl" -j plan "$work/byname.conf"
check_eq "plan -j: the warning in the document" "$(jq '[.warnings[] | select(contains("name the kernel numbered"))] | length' <<<"$out")" 1
$IP link property del dev "$net1" altname sriovtest-up1
check_status "the altname gone: the entry is a missing PF" 1 "$ctl" plan "$work/alt.conf"
check_contains "names the altname" "$out" "match: altname sriovtest-up1 matches no SR-IOV PF on this host"

# --- 6. the driver capability table: igb has no ndo_set_vf_link_state ---
caps=$SRIOV_STATE_DIR/capabilities
check "no table before the first refusal" test ! -e "$caps"
iperr=$($IP link set "$net1" vf 0 state enable 2>&1)
check_contains "ip: igb answers EOPNOTSUPP to a VF link state" "$iperr" "Operation not supported"
conf state "  - match:
      netdev: $net1
    numvfs: 1
    vfs:
      - index: 0
        state: enable"
check_status "plan state enable: no capability warning yet" 0 "$ctl" plan "$work/state.conf"
check_eq "no capability warning yet" "$(grep -c 'capability table' <<<"$out")" 0
check_status "apply state enable on igb: refused" 1 "$ctl" apply "$work/state.conf"
check_contains "apply: the kernel's answer" "$out" "state: Operation not supported [EOPNOTSUPP]"
check_eq "the table learned it" "$(grep -v '^#' "$caps")" "igb state EOPNOTSUPP"
check_status "show PF" 0 "$ctl" show "$net1"
check_contains "show: what the driver cannot do" "$out" "driver cannot:       state (igb: EOPNOTSUPP)"
check_status "show -j VF" 0 "$ctl" -j show "$net1#0"
check_eq "show -j VF: its PF driver's VF setting" "$(jq -c .unsupported_settings <<<"$out")" '[{"setting":"state","driver":"igb","error":"EOPNOTSUPP"}]'
out=$("$ctl" -j check 2>/dev/null)
check_eq "check: a warning on each igb PF" "$(jq -c '[.findings[] | select(.check == "capabilities") | [.subject, .status]]' <<<"$out")" "[[\"$pf0\",\"warn\"],[\"$pf1\",\"warn\"]]"
check_contains "check: says what and how it was learned" "$(jq -r '.findings[] | select(.check == "capabilities") | .summary' <<<"$out")" \
	"$net1 (driver igb) cannot: state (the kernel answered EOPNOTSUPP)"
"$ctl" -j check >/dev/null 2>&1 # the document, for the schema
check_status "plan now warns" 0 "$ctl" plan "$work/state.conf"
check_contains "plan: before apply sends it" "$out" \
	"warning: $work/state.conf:7:16: $net1 VF 0: state enable: driver igb answered EOPNOTSUPP to state before (driver capability table); apply will send it, and the driver is expected to refuse it"
check_status "apply again: sent, and refused again" 1 "$ctl" apply "$work/state.conf"
check_eq "the table holds it once" "$(grep -vc '^#' "$caps")" 1
check_status "vf set query-rss on: igb has no RSS query either" 1 "$ctl" vf set "$net1#0" query-rss on
check_eq "vf set taught the table too" "$(grep -v '^#' "$caps" | tr '\n' ' ')" "igb query-rss EOPNOTSUPP igb state EOPNOTSUPP "
check_status "vf set trust on (igb has it): accepted, nothing learned" 0 "$ctl" vf set "$net1#0" trust on
check_eq "still two" "$(grep -vc '^#' "$caps")" 2

numvfs "$pf1" 0
rm -rf "$work"
schema_done
tap_done
