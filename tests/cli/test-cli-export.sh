#!/bin/bash
# sriovctl export on a fake sysfs tree (no kernel needed): every format for
# an igb VF (by address, netdev and PF#N), what a tree from elsewhere cannot
# say (MAC and VLAN: omitted in XML, null in JSON), the refusals and bad
# input; and libvirt's own schema (virt-xml-validate, libvirt-clients)
# accepting the <interface> and <hostdev> documents wrapped in a domain.
#   test-cli-export.sh SRIOVCTL MKFAKESYSFS
set -uo pipefail
ctl=$1
mk=$2
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/../vm/lib/tap.sh"
. "$here/../vm/lib/schema.sh"
tmp=$(mktemp -d "${TMPDIR:-/dev/shm}/sriovctl-export.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
schema_init "$ctl" "$tmp/captured"
"$mk" "$tmp/tb" testbed >/dev/null
T=$tmp/tb
# The testbed tree: eth0 = 0000:01:00.0 with VFs 01:10.0 (eth2), .2, .4 on
# igbvf; eth8 = 0000:00:02.0 (e1000e, no SR-IOV); 0000:00:03.0 the nvme PF.

want_xml="<interface type='hostdev' managed='no'>
  <source>
    <address type='pci' domain='0x0000' bus='0x01' slot='0x10' function='0x0'/>
  </source>
  <driver name='vfio'/>
</interface>"
for dev in 0000:01:10.0 01:10.0 eth2 'eth0#0' '0000:01:00.0#0'; do
	check_status "export $dev --format libvirt" 0 "$ctl" export "$dev" --format libvirt --sysfs-root "$T"
	check_eq "libvirt for $dev: no MAC or VLAN known on a fake tree, so none" \
		"$(grep -v '^warning' <<<"$out")" "$want_xml"
done
check_contains "a VF not on vfio-pci: warned" "$out" \
	"warning: 0000:01:10.0 is bound to igbvf, not vfio-pci: bind it first (sriovctl bind 0000:01:10.0 vfio-pci --preflight)"
"$ctl" export eth2 --format libvirt --sysfs-root "$T" >"$tmp/iface.xml" 2>/dev/null
check_status "export --format libvirt-hostdev" 0 "$ctl" export eth2 --format libvirt-hostdev --sysfs-root "$T"
"$ctl" export eth2 --format libvirt-hostdev --sysfs-root "$T" >"$tmp/hostdev.xml" 2>/dev/null
check_eq "hostdev" "$(<"$tmp/hostdev.xml")" "<hostdev mode='subsystem' type='pci' managed='no'>
  <driver name='vfio'/>
  <source>
    <address domain='0x0000' bus='0x01' slot='0x10' function='0x0'/>
  </source>
</hostdev>" 
check_status "export --format qemu" 0 "$ctl" export 'eth0#1' --format qemu --sysfs-root "$T"
check_eq "qemu" "$(grep -v '^warning' <<<"$out")" "-device vfio-pci,host=0000:01:10.2,id=sriov-0000-01-10-2"
check_status "export --format xen" 0 "$ctl" export 'eth0#2' --format xen --sysfs-root "$T"
check_eq "xen" "$(grep -v '^warning' <<<"$out")" "pci = [ '0000:01:10.4' ]"
check_status "export --format json" 0 "$ctl" export eth2 --format json --sysfs-root "$T"
check_eq "json: what is known, null for MAC/VLAN/vfio" \
	"$(grep -v '^warning' <<<"$out" | jq -c '[.address, .pf, .vf_index, .kind, .mac, .vlan, .driver, .vfio_device, .consumer, .claim_id]')" \
	'["0000:01:10.0","0000:01:00.0",0,"net",null,null,"igbvf",null,null,null]'
check_status "-j export (json implied)" 0 "$ctl" -j export eth2 --sysfs-root "$T"
check_eq "-j: the same document" "$(jq -r .address <<<"$out")" 0000:01:10.0
check_status "-j export --format json" 0 "$ctl" -j export eth2 --format json --sysfs-root "$T"

# a VF on vfio-pci: its node
"$mk" "$tmp/tb2" testbed >/dev/null
T2=$tmp/tb2
vf=$T2/bus/pci/devices/0000:01:10.0
rm "$vf/driver" "$T2/bus/pci/drivers/igbvf/0000:01:10.0"
rm -rf "$vf/net" "$T2/class/net/eth2"
mkdir -p "$T2/bus/pci/drivers/vfio-pci"
ln -s ../../../../bus/pci/drivers/vfio-pci "$vf/driver"
sed -i "s/^DRIVER=.*/DRIVER=vfio-pci/" "$vf/uevent" # as the kernel shows it
g=$(readlink "$vf/iommu_group")
g=${g##*/}
check_status "-j export of a VF on vfio-pci" 0 "$ctl" -j export 0000:01:10.0 --sysfs-root "$T2"
check_eq "json: the driver and /dev/vfio node" "$(jq -c '[.driver, .iommu_group, .vfio_device]' <<<"$out")" \
	"[\"vfio-pci\",$g,\"/dev/vfio/$g\"]"
check_status "no warning for a VF on vfio-pci" 0 "$ctl" export 0000:01:10.0 --format libvirt --sysfs-root "$T2"
check_eq "libvirt: only the document" "$out" "$want_xml"

# refusals and bad input
bad() { # bad DESC STATUS NEEDLE ARGS...
	local desc=$1 want=$2 needle=$3
	shift 3
	check_status "$desc: exit $want" "$want" "$ctl" "$@"
	check_contains "$desc: says why" "$out" "$needle"
}
bad "the nvme PF as libvirt <interface>" 1 \
	"sriovctl: export: 0000:00:03.0 is not a network function (PCI class 0x010802): libvirt's <interface type='hostdev'> is for NICs; use --format libvirt-hostdev" \
	export 0000:00:03.0 --format libvirt --sysfs-root "$T"
check_eq "nothing on stdout for a refusal" "$("$ctl" export 0000:00:03.0 --format libvirt --sysfs-root "$T" 2>/dev/null)" ""
bad "a NIC that is no VF as libvirt <interface>" 1 \
	"sriovctl: export: 0000:00:02.0 is not an SR-IOV VF: libvirt's <interface type='hostdev'> is for VFs; use --format libvirt-hostdev" \
	export eth8 --format libvirt --sysfs-root "$T"
check_status "the nvme PF as libvirt-hostdev" 0 "$ctl" export 0000:00:03.0 --format libvirt-hostdev --sysfs-root "$T"
"$ctl" export 0000:00:03.0 --format libvirt-hostdev --sysfs-root "$T" >"$tmp/nvme.xml" 2>/dev/null
bad "unknown format" 2 "sriovctl: export: --format 'LIBVIRT' is not known (libvirt, libvirt-hostdev, qemu, xen, json)" \
	export eth2 --format LIBVIRT --sysfs-root "$T"
bad "no format" 2 "export: --format is required (libvirt, libvirt-hostdev, qemu, xen, json)" export eth2 --sysfs-root "$T"
bad "-j with a format that is not JSON" 2 "export: -j prints JSON; --format libvirt is not (use --format json)" \
	-j export eth2 --format libvirt --sysfs-root "$T"
bad "no device" 2 "usage: sriovctl export CLAIM-ID|VF --format FORMAT" export --format json --sysfs-root "$T"
# a number is a claim ID, looked up in the ledger, which a read never creates
bad "a claim without a ledger" 1 "sriovctl: export: claim 5: no such claim (no ledger at $T/.sriovd/ledger.db)" \
	export 5 --format libvirt --sysfs-root "$T"
check "... and no ledger was created" test ! -e "$T/.sriovd/ledger.db"
bad "a claim without a ledger, --state-dir" 1 "no such claim (no ledger at $tmp/st/ledger.db)" \
	export 5 --format qemu --sysfs-root "$T" --state-dir "$tmp/st"
bad "two devices" 2 "unexpected argument 'eth3'" export eth2 eth3 --format json --sysfs-root "$T"
bad "unknown device" 1 "nosuch0: no such device" export nosuch0 --format json --sysfs-root "$T"
bad "a VF index past the count" 1 "eth0#9" export 'eth0#9' --format json --sysfs-root "$T"
check_status "-j unknown device: an error document" 1 "$ctl" -j export nosuch0 --sysfs-root "$T"

# libvirt's own schema
domain() { # domain DEVICE_XML_FILE
	printf "<domain type='qemu'>\n  <name>sriov-export</name>\n  <memory unit='MiB'>64</memory>\n"
	printf "  <os><type arch='x86_64' machine='q35'>hvm</type></os>\n  <features><acpi/></features>\n"
	printf "  <devices>\n"
	sed 's/^/    /' "$1"
	printf "  </devices>\n</domain>\n"
}
if command -v virt-xml-validate >/dev/null; then
	for f in iface hostdev nvme; do
		domain "$tmp/$f.xml" >"$tmp/$f-domain.xml"
		check_status "virt-xml-validate accepts the $f document in a domain" 0 virt-xml-validate "$tmp/$f-domain.xml" domain
	done
	# with a MAC and a VLAN (what a live host adds): as the VM scenario renders them
	sed "s|  <driver name='vfio'/>|  <mac address='02:11:22:33:44:55'/>\n  <vlan>\n    <tag id='42'/>\n  </vlan>\n&|" \
		"$tmp/iface.xml" >"$tmp/iface-mac.xml"
	domain "$tmp/iface-mac.xml" >"$tmp/iface-mac-domain.xml"
	check_status "virt-xml-validate: with <mac> and <vlan>" 0 virt-xml-validate "$tmp/iface-mac-domain.xml" domain
	# and it is not a rubber stamp
	sed "s/managed='no'/managed='maybe'/" "$tmp/iface-domain.xml" >"$tmp/broken.xml"
	check_status "virt-xml-validate refuses a broken one (exit 3)" 3 virt-xml-validate "$tmp/broken.xml" domain
else
	tap_not_ok "virt-xml-validate is not installed (scripts/install-deps.sh: libvirt-clients)"
fi

schema_done
tap_done
