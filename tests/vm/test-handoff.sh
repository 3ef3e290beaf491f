#!/bin/bash
# Hand-off scenario, run INSIDE the testbed VM (tests/vm/run-vm.sh), as root,
# against the real kernel, in one boot: `sriovctl bind --preflight` opens a
# VF the way a hypervisor does (every step passes on vfio-pci; a VF still on
# igbvf fails the driver step; a group a running QEMU holds fails to open),
# `sriovctl export` renders it, and real hypervisors take what it rendered:
# virt-xml-validate accepts the libvirt documents, libvirtd (started here,
# no systemd) defines and starts a paused domain holding the exported
# <interface> and QEMU's query-pci shows the VF while /sbin/ip shows the
# MAC and VLAN on the PF's vf line; plain QEMU started with the exported
# arguments shows it in query-pci too; the nvme VF goes through
# <hostdev> the same way. The oracles are sysfs, /sbin/ip and QEMU itself.
#   test-handoff.sh BUILD_DIR [ARTIFACT_DIR]
set -uo pipefail
build=$1
artifacts=${2:-}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/lib/tap.sh"
ctl=$build/src/sriovctl
. "$here/lib/schema.sh"
schema_init "$ctl" "${artifacts:-/run/sriovctl-test}/json"
IP=/sbin/ip
D=/sys/bus/pci/devices
work=/run/handoff # the guest's own tmpfs: sockets, libvirt's state
mkdir -p "$work"

save() { [ -n "$artifacts" ] && mkdir -p "$artifacts" && cat >"$artifacts/$1" || cat >/dev/null; }
errfile=$work/stderr
check_json() {
	local desc=$1 want=$2
	shift 2
	local rc=0
	out=$("$@" 2>"$errfile") || rc=$?
	err=$(<"$errfile")
	if [ "$rc" == "$want" ] && jq -e . >/dev/null 2>&1 <<<"$out"; then
		tap_ok "$desc"
	else
		tap_not_ok "$desc (exit $rc, wanted $want, or not JSON)"
		printf '%s\n%s\n' "$out" "$err" | sed 's/^/#   /' | head -20
	fi
}
drv() { local l; l=$(readlink "$D/$1/driver" 2>/dev/null) && echo "${l##*/}" || echo -; }
group() { local l; l=$(readlink "$D/$1/iommu_group") && echo "${l##*/}"; }
vf_n() { local l; l=$(readlink "$D/$1/virtfn$2") && echo "${l##*/}"; }
pfs_by_driver() {
	local d l
	for d in "$D"/*; do
		l=$(readlink "$d/driver" 2>/dev/null) && [ "${l##*/}" == "$1" ] && echo "${d##*/}"
	done
}
wait_driver() { # wait_driver ADDR DRIVER
	for _ in $(seq 100); do
		[ "$(drv "$1")" == "$2" ] && return 0
		sleep 0.1
	done
	return 1
}

igb_pfs=($(pfs_by_driver igb))
pf=${igb_pfs[0]}
pf_net=$(ls "$D/$pf/net")
nvme=$(pfs_by_driver nvme | head -1)
check "testbed: vfio-pci is loaded" test -d /sys/bus/pci/drivers/vfio-pci
check "testbed: /dev/vfio/vfio" test -c /dev/vfio/vfio
check_status "numvfs $pf_net 2" 0 "$ctl" numvfs "$pf_net" 2
vf0=$(vf_n "$pf" 0)
vf1=$(vf_n "$pf" 1)
check "VF 0 and 1 on igbvf" wait_driver "$vf0" igbvf && wait_driver "$vf1" igbvf

# --- the pre-flight -------------------------------------------------------------
steps="driver iommu_group open_container VFIO_GET_API_VERSION VFIO_CHECK_EXTENSION open_group VFIO_GROUP_GET_STATUS VFIO_GROUP_SET_CONTAINER VFIO_SET_IOMMU VFIO_GROUP_GET_DEVICE_FD VFIO_DEVICE_GET_INFO VFIO_DEVICE_GET_REGION_INFO read_config"
check_json "bind -j VF 0 vfio-pci --preflight" 0 "$ctl" -j bind "$pf_net#0" vfio-pci --preflight
j=$out
printf '%s\n' "$j" | save preflight.json
check_eq "sysfs: VF 0 on vfio-pci" "$(drv "$vf0")" vfio-pci
check_eq "preflight: ok" "$(jq -r .preflight.ok <<<"$j")" true
check_eq "preflight: every step, in order, each ok" "$(jq -r '[.preflight.steps[] | select(.ok) | .step] | join(" ")' <<<"$j")" "$steps"
check_eq "preflight: the group is the one sysfs names" "$(jq -r .preflight.iommu_group <<<"$j")" "$(group "$vf0")"
check_eq "preflight: config space read through VFIO = 8086:10ca = sysfs" \
	"$(jq -r '.preflight | .vendor_id + ":" + .device_id' <<<"$j")" \
	"$(v=$(<"$D/$vf0/vendor"); d=$(<"$D/$vf0/device"); echo "${v#0x}:${d#0x}")"
check_eq "preflight: 9 regions, 5 IRQs (TESTBED.md)" "$(jq -r '.preflight | "\(.regions) \(.irqs)"' <<<"$j")" "9 5"
check_eq "preflight: type1 IOMMU backend" "$(jq -r '.preflight.iommu_type | startswith("type1")' <<<"$j")" true
# the figures for the benchmark: each step's time on this kernel
jq -r '.preflight.steps[] | "# preflight \(.step): \(.duration_ns / 1000) us"' <<<"$j"
jq -r '"# preflight total: \(.preflight.total_ns / 1000) us"' <<<"$j"
check_status "bind VF 0 vfio-pci --preflight (text, already bound)" 0 "$ctl" bind "$vf0" vfio-pci --preflight
printf '%s\n' "$out" | save preflight.txt
check_eq "text: one ok line per step" "$(grep -c '^  ok ' <<<"$out")" 13
check_contains "text: the outcome" "$out" "pre-flight passed in"
check_contains "text: IDs" "$out" "8086:10ca (sysfs 8086:10ca)"
check_status "nothing left open: the pre-flight passes again" 0 "$ctl" bind "$vf0" vfio-pci --preflight
# a VF still on igbvf: the driver step says so, exit 1
check_status "bind VF 1 igbvf --preflight fails" 1 "$ctl" bind "$vf1" igbvf --preflight
printf '%s\n' "$out" | save preflight-igbvf.txt
check_contains "names the step, the VF and its driver" "$out" "sriovctl: bind: vfio: driver: $vf1 is bound to igbvf, not vfio-pci"
check_contains "text: the failed step" "$out" "FAILED driver"
check_json "bind -j VF 1 igbvf --preflight fails" 1 "$ctl" -j bind "$vf1" igbvf --preflight
check_eq "-j: not ok, one step, ENODEV" "$(jq -c '.preflight | [.ok, (.steps | length), .steps[0].errno]' <<<"$out")" '[false,1,"ENODEV"]'
check_eq "sysfs: VF 1 still on igbvf" "$(drv "$vf1")" igbvf

# --- export: MAC and VLAN from the PF's netlink view ------------------------------
mac=02:5a:00:00:10:01
vlan=42
check_status "vf set VF 0 mac $mac vlan $vlan" 0 "$ctl" vf set "$pf_net#0" mac "$mac" vlan "$vlan"
vf_line() { $IP link show "$pf_net" | grep -E "^ +vf $1 "; }
check_contains "ip: the PF's vf 0 line has the MAC" "$(vf_line 0)" "link/ether $mac"
check_contains "ip: ... and the VLAN" "$(vf_line 0)" "vlan $vlan"
check_status "export VF 0 --format libvirt" 0 "$ctl" export "$pf_net#0" --format libvirt
iface=$out
printf '%s\n' "$iface" | save export-libvirt.xml
check_eq "libvirt: the document, MAC and VLAN from netlink" "$iface" "<interface type='hostdev' managed='no'>
  <source>
    <address type='pci' domain='0x${vf0:0:4}' bus='0x${vf0:5:2}' slot='0x${vf0:8:2}' function='0x${vf0:11:1}'/>
  </source>
  <mac address='$mac'/>
  <vlan>
    <tag id='$vlan'/>
  </vlan>
  <driver name='vfio'/>
</interface>"
check_json "export -j VF 0" 0 "$ctl" -j export "$vf0"
check_eq "json: address, PF, index, MAC, VLAN, driver, node" \
	"$(jq -c '[.address, .pf, .vf_index, .mac, .vlan, .driver, .vfio_device]' <<<"$out")" \
	"[\"$vf0\",\"$pf\",0,\"$mac\",$vlan,\"vfio-pci\",\"/dev/vfio/$(group "$vf0")\"]"
printf '%s\n' "$out" | save export.json
check_status "export VF 0 --format qemu" 0 "$ctl" export "$vf0" --format qemu
qemu_args=$out
check_eq "qemu: the arguments" "$qemu_args" "-device vfio-pci,host=$vf0,id=sriov-${vf0//[:.]/-}"
check_status "export VF 0 --format xen" 0 "$ctl" export "$vf0" --format xen
check_eq "xen: the line" "$out" "pci = [ '$vf0' ]"
check_status "export VF 1 (igbvf, no MAC given) --format libvirt" 0 "$ctl" export "$pf_net#1" --format libvirt
check_contains "a VF not on vfio-pci is warned about" "$out" "warning: $vf1 is bound to igbvf, not vfio-pci"

# --- export CLAIM-ID: a claim's MAC and VLAN, its consumer and id ----------------------
# The ledger goes to the guest's /run: the host's /var/lib/sriovd stays untouched.
state=$work/state
consumer=7d8f3a2e-1c4b-4e5f-9a6b-0c1d2e3f4a5b
# A config of our own: the host's default one is not this scenario's.
printf 'version: 1\n' >"$work/sriovd.conf"
cfg=(--config "$work/sriovd.conf" --config-dir "")
cmac=02:5a:00:00:10:02
cvlan=43
# The claim binds VF 0 to vfio-pci itself (and runs the pre-flight), and its
# release puts back the driver it had: igbvf.
check_status "bind VF 0 kernel (back to igbvf)" 0 "$ctl" bind "$vf0" kernel
check "VF 0 on igbvf" wait_driver "$vf0" igbvf
# (run uncaptured: claim's own document is the ledger's, not in this schema check)
check_json "claim VF 0 for $consumer with --mac --vlan --vfio" 0 "$schema_bin" -j claim --state-dir "$state" \
	--consumer "$consumer" --device "$vf0" --mac "$cmac" --vlan "$cvlan" --vfio "${cfg[@]}"
check_eq "claim: VF 0 on vfio-pci" "$(drv "$vf0")" vfio-pci
claim_id=$(jq -r .claim.id <<<"$out")
check "the claim has an id" test "$claim_id" -gt 0
check_contains "ip: the claim's MAC on the PF's vf 0 line" "$(vf_line 0)" "link/ether $cmac"
check_contains "ip: ... and its VLAN" "$(vf_line 0)" "vlan $cvlan"
check_status "export $claim_id --format libvirt" 0 "$ctl" export --state-dir "$state" "$claim_id" --format libvirt
iface=$out
printf '%s\n' "$iface" | save export-claim-libvirt.xml
check_contains "claim's libvirt: its MAC" "$iface" "<mac address='$cmac'/>"
check_contains "claim's libvirt: its VLAN" "$iface" "<tag id='$cvlan'/>"
check_status "export VF 0 (netlink now) --format libvirt" 0 "$ctl" export "$vf0" --format libvirt
check_eq "the VF form says the same as the claim (netlink has what the claim set)" "$out" "$iface"
check_json "export -j $claim_id" 0 "$ctl" -j export --state-dir "$state" "$claim_id"
check_eq "json: consumer, claim id, MAC, VLAN, node" \
	"$(jq -c '[.consumer, .claim_id, .mac, .vlan, .vfio_device, (.devices | length)]' <<<"$out")" \
	"[\"$consumer\",$claim_id,\"$cmac\",$cvlan,\"/dev/vfio/$(group "$vf0")\",1]"
printf '%s\n' "$out" | save export-claim.json
check_status "export of a claim that does not exist" 1 "$ctl" export --state-dir "$state" 999 --format qemu
check_contains "... says so" "$out" "sriovctl: export: claim 999: no such claim"
mac=$cmac
vlan=$cvlan

# a domain holding an exported device, as libvirt wants it under QEMU 10
# (acpi). Machine pc: on q35 libvirt puts the device behind a root port,
# and with --paused no firmware ever numbers that port's bus, so query-pci
# cannot look behind it; on pc it sits on the root bus.
domain() { # domain NAME DEVICE_XML
	printf "<domain type='qemu'>\n  <name>%s</name>\n  <memory unit='MiB'>64</memory>\n" "$1"
	printf "  <os><type arch='x86_64' machine='pc'>hvm</type></os>\n  <features><acpi/></features>\n"
	printf "  <devices>\n    <controller type='usb' model='none'/>\n    <memballoon model='none'/>\n"
	printf '%s\n' "$2" | sed 's/^/    /'
	printf "  </devices>\n</domain>\n"
}
domain sriov-handoff "$iface" >"$work/domain.xml"
save domain.xml <"$work/domain.xml"
check_status "virt-xml-validate accepts the domain with the exported <interface>" 0 virt-xml-validate "$work/domain.xml" domain

# --- nvme: a VF that is no NIC ------------------------------------------------------------
check_status "numvfs nvme 2" 0 "$ctl" numvfs "$nvme" 2
nvf=$(vf_n "$nvme" 0)
check_status "bind nvme VF 0 vfio-pci --preflight: every step passes" 0 "$ctl" bind "$nvme#0" vfio-pci --preflight
check_contains "nvme VF: its IDs read through VFIO" "$out" "1b36:0010 (sysfs 1b36:0010)"
printf '%s\n' "$out" | save preflight-nvme.txt
check_status "export nvme VF --format libvirt is refused" 1 "$ctl" export "$nvf" --format libvirt
check_contains "... naming the class and libvirt-hostdev" "$out" \
	"$nvf is not a network function (PCI class 0x010802): libvirt's <interface type='hostdev'> is for NICs; use --format libvirt-hostdev"
check_status "export nvme VF --format libvirt-hostdev" 0 "$ctl" export "$nvf" --format libvirt-hostdev
hostdev=$out
printf '%s\n' "$hostdev" | save export-nvme-hostdev.xml
check_contains "hostdev: the VF's address" "$hostdev" \
	"<address domain='0x${nvf:0:4}' bus='0x${nvf:5:2}' slot='0x${nvf:8:2}' function='0x${nvf:11:1}'/>"
domain sriov-handoff-nvme "$hostdev" >"$work/domain-nvme.xml"
check_status "virt-xml-validate accepts the domain with the exported <hostdev>" 0 virt-xml-validate "$work/domain-nvme.xml" domain

# --- libvirtd in the guest ----------------------------------------------------------------
# The guest shares this machine's root: libvirt's config and state go to
# private folders on the guest's /run, bind-mounted over the host's, so the
# host's /etc/libvirt and /var/lib/libvirt are never written.
priv=$work/libvirt
mkdir -p "$priv"/{lib,log,cache}
cp -a /etc/libvirt "$priv/etc"
rm -rf "$priv/etc/qemu/networks/autostart" "$priv"/etc/qemu/*.xml
printf 'namespaces = [ ]\n' >>"$priv/etc/qemu.conf" # libvirt's private /dev would hide /dev/vfio/N
mount --bind "$priv/etc" /etc/libvirt
mount --bind "$priv/lib" /var/lib/libvirt
mount --bind "$priv/log" /var/log/libvirt
mount --bind "$priv/cache" /var/cache/libvirt 2>/dev/null
mkdir -p /var/lib/libvirt/qemu /var/log/libvirt/qemu
virtlogd -d
libvirtd -d
up=0
for _ in $(seq 120); do
	virsh -c qemu:///system version >/dev/null 2>&1 && up=1 && break
	sleep 0.5
done
check_eq "libvirtd answers" "$up" 1
V="virsh -c qemu:///system"
# query_pci_ids VENDOR DEVICE: the query-pci entries (anywhere, behind root ports too) with these IDs
query_pci_ids() { jq -c --argjson v "$((16#$1))" --argjson d "$((16#$2))" \
	'[.. | objects | select(.id? | type == "object" and .vendor == $v and .device == $d)] | .[] | {bus, slot, function, qdev_id, id: .id, class: .class_info.class}'; }
libvirt_run() { # libvirt_run NAME XMLFILE VENDOR DEVICE
	local name=$1 xml=$2 v=$3 d=$4
	$V destroy "$name" >/dev/null 2>&1
	$V undefine "$name" >/dev/null 2>&1
	check_status "virsh define $name" 0 $V define "$xml"
	check_status "virsh start --paused $name" 0 $V start --paused "$name"
	check_status "virsh qemu-monitor-command $name query-pci" 0 $V qemu-monitor-command "$name" '{"execute":"query-pci"}'
	printf '%s\n' "$out" | save "query-pci-$name.json"
	seen=$(query_pci_ids "$v" "$d" <<<"$out" 2>/dev/null | head -1)
	check "query-pci of $name shows $v:$d" test -n "$seen"
	echo "# query-pci ($name): $seen"
}
$IP link set "$pf_net" up # libvirt configures a VF only through a PF that is up
libvirt_run sriov-handoff "$work/domain.xml" 8086 10ca
check_contains "while it runs: ip shows the exported MAC on the PF's vf 0 line" "$(vf_line 0)" "link/ether $mac"
check_contains "... and the VLAN" "$(vf_line 0)" "vlan $vlan"
check_status "while it runs: the pre-flight fails, the group is held" 1 "$ctl" bind "$vf0" vfio-pci --preflight
check_contains "... at open_group, EBUSY, named" "$out" \
	"vfio: open_group: /dev/vfio/$(group "$vf0"): Device or resource busy (another process, a running VM say, has the group open)"
check_status "virsh destroy" 0 $V destroy sriov-handoff
check_status "virsh undefine" 0 $V undefine sriov-handoff
check_eq "VF 0 still on vfio-pci (managed='no')" "$(drv "$vf0")" vfio-pci

libvirt_run sriov-handoff-nvme "$work/domain-nvme.xml" 1b36 0010
check_status "virsh destroy (nvme)" 0 $V destroy sriov-handoff-nvme
check_status "virsh undefine (nvme)" 0 $V undefine sriov-handoff-nvme
check_eq "no domain left" "$($V list --all --name | tr -d '[:space:]')" ""

# --- plain QEMU with the exported arguments --------------------------------------------
cat >"$work/qmp.py" <<'PY'
import json, socket, sys, time
path, cmds = sys.argv[1], sys.argv[2:]
for _ in range(600):
    try:
        s = socket.socket(socket.AF_UNIX)
        s.connect(path)
        break
    except OSError:
        time.sleep(0.1)
f = s.makefile("rw")
json.loads(f.readline())
def run(c):
    f.write(json.dumps({"execute": c}) + "\n")
    f.flush()
    while True:
        m = json.loads(f.readline())
        if "return" in m or "error" in m:
            return m
run("qmp_capabilities")
for c in cmds:
    print(json.dumps(run(c)))
PY
sock=$work/qmp.sock
rm -f "$sock"
# shellcheck disable=SC2086 # the exported arguments are words
qemu-system-x86_64 -S -nodefaults -display none -machine q35 -accel tcg -m 64 $qemu_args \
	-qmp "unix:$sock,server=on,wait=off" >"$work/qemu.log" 2>&1 &
qpid=$!
out=$(/usr/bin/python3 "$work/qmp.py" "$sock" query-pci 2>&1)
printf '%s\n' "$out" | save query-pci-qemu.json
seen=$(query_pci_ids 8086 10ca <<<"$out" 2>/dev/null | head -1)
check "plain QEMU with the exported arguments: query-pci shows 8086:10ca" test -n "$seen"
check_contains "... with the exported id" "$seen" "\"qdev_id\":\"sriov-${vf0//[:.]/-}\""
echo "# query-pci (qemu): $seen"
/usr/bin/python3 "$work/qmp.py" "$sock" quit >/dev/null 2>&1
wait "$qpid"
save qemu.log <"$work/qemu.log"

# --- cleanup ------------------------------------------------------------------------
kill "$(cat /run/libvirtd.pid 2>/dev/null)" "$(cat /run/virtlogd.pid 2>/dev/null)" 2>/dev/null
check_status "release $consumer" 0 "$ctl" release --state-dir "$state" --consumer "$consumer" "${cfg[@]}"
check_eq "released: VF 0 back on igbvf" "$(drv "$vf0")" igbvf
check_status "export of the released claim is refused" 1 "$ctl" export --state-dir "$state" "$claim_id" --format json
check_contains "... it is no longer active" "$out" "sriovctl: export: claim $claim_id of $consumer is released, not active"
check_status "numvfs $pf_net 0 --force" 0 "$ctl" numvfs "$pf_net" 0 --force
check_status "numvfs nvme 0 --force" 0 "$ctl" numvfs "$nvme" 0 --force
schema_done
tap_done
