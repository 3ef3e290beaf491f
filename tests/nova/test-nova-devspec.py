#!/usr/bin/python3
"""Differential test of `sriovctl match --spec` against Nova itself.

  test-nova-devspec.py SRIOVCTL MKFAKESYSFS [SEED]

Builds fake sysfs trees (the testbed, a grid), then feeds the same device
specs, hand-picked and generated (globs, regex mappings, wildcards, vendor
and product IDs, devname, the PF rule, malformed values), to Nova's
nova.pci.devspec.PciDeviceSpec and to `sriovctl --sysfs-root T -j match
--spec`, and compares: both refuse, or both match the same set of devices
with the same tags. Nova's host look-ups (nova.pci.utils reading /sys) are
pointed at the fake tree, so Nova's own code decides.

The one deliberate difference (docs/allocation.md): a spec whose address or
devname names a PF matches that PF's VFs; Nova also keeps the PF itself,
sriovd does not.

Prints TAP. Needs python3-nova (scripts/install-deps.sh installs it)."""
import copy
import json
import os
import random
import subprocess
import sys
import tempfile

try:
    from nova import exception as nova_exception
    from nova.pci import devspec
    from nova.pci import utils as nova_utils
except ImportError as e:  # a missing dependency is a failure, not a skip
    print("1..1\nnot ok 1 - import nova.pci.devspec: %s (run scripts/install-deps.sh)" % e)
    sys.exit(1)

ctl, mk = sys.argv[1], sys.argv[2]
seed = int(sys.argv[3]) if len(sys.argv) > 3 else 20261201
rng = random.Random(seed)
ROOT = None


def host_path(p):
    return ROOT + p[len("/sys"):] if p.startswith("/sys/") else p


class FakePath:
    """os.path for nova.pci.utils: /sys is the fake tree."""
    def __getattr__(self, name):
        return getattr(os.path, name)

    def isdir(self, p):
        return os.path.isdir(host_path(p))

    def exists(self, p):
        return os.path.exists(host_path(p))


class FakeOs:
    path = FakePath()

    def __getattr__(self, name):
        return getattr(os, name)

    def listdir(self, p):
        return os.listdir(host_path(p))

    def readlink(self, p):
        # A real host's class/net/X/device reads ../../../ADDR; the fake
        # tree's link climbs differently, so give the host's form.
        return "../../../" + os.path.basename(os.readlink(host_path(p)))


def fake_open(p, *a, **k):
    return open(host_path(p), *a, **k)


nova_utils.os = FakeOs()
nova_utils.open = fake_open


def read(path):
    with open(path) as f:
        return f.read().strip()


def devices(root):
    out = []
    base = os.path.join(root, "bus/pci/devices")
    for addr in sorted(os.listdir(base)):
        d = os.path.join(base, addr)
        parent = os.path.basename(os.readlink(os.path.join(d, "physfn"))) if os.path.islink(
            os.path.join(d, "physfn")) else None
        out.append({"vendor_id": read(os.path.join(d, "vendor"))[2:], "product_id": read(os.path.join(d, "device"))[2:],
                    "address": addr, "parent_addr": parent})
    return out


def nova_match(spec, devs):
    """(None, {addr: tags}) or (error, None)"""
    try:
        s = devspec.PciDeviceSpec(copy.deepcopy(spec))
        got = {d["address"]: s.get_tags() for d in devs if s.match(d)}
        a = s._address_obj()
        if a is not None and a.is_physical_function:
            p = a.pci_address_spec
            got.pop("%s:%s:%s.%s" % (p.domain, p.bus, p.slot, p.func), None)
        return None, got
    except nova_exception.NovaException as e:
        return str(e), None


def sriovd_match(spec):
    r = subprocess.run([ctl, "--sysfs-root", ROOT, "-j", "match", "--spec", json.dumps(spec)],
                       capture_output=True, text=True)
    if r.returncode == 2:
        lines = r.stderr.strip().splitlines()
        return (lines[0] if lines else "exit 2 without a message"), None, len(lines)
    if r.returncode != 0:
        return "exit %d: %s" % (r.returncode, r.stderr.strip()), "crash", 0
    doc = json.loads(r.stdout)
    return None, {d["address"]: d["tags"] for d in doc["devices"]}, 0


HAND = [
    {}, {"address": ""}, {"address": "*"}, {"address": "*:*:*.*"}, {"address": ":"}, {"address": "."},
    {"address": "0000:01:00.0"}, {"address": "0000:01:00.0", "physical_network": "p1"},
    {"address": "01:00.0"}, {"address": "0000:01:00.*"}, {"address": "*:01:*.*"}, {"address": "*:02:10.2"},
    {"address": ":01:"}, {"address": "10."}, {"address": ".4"}, {"address": "0:1:0.0"}, {"address": "0x0:0x1:0.0"},
    {"address": "0000:00:03.0"}, {"address": "0000:00:02.0"}, {"address": " 0000 : 01 : 00 . 0 "},
    {"address": "1:2:3:4.0"}, {"address": "*:100:*.*"}, {"address": "*:*:20.*"}, {"address": "*:*:*.8"},
    {"address": "10000:*:*.*"}, {"address": "g:*:*.*"}, {"address": "*:*:*.0.1"}, {"address": "**:*:*.*"},
    {"address": "*:*:*. "}, {"address": "0_0:01:00.0"}, {"address": "_0:01:00.0"},
    {"address": {"domain": "0000", "bus": "01", "slot": "00", "function": "0"}},
    {"address": {"bus": "0[12]", "function": "[02]"}}, {"address": {"bus": "0"}}, {"address": {"slot": "1.", "function": "4"}},
    {"address": {"domain": ".*", "bus": "(01|02)", "slot": "10", "function": "[0-2]"}},
    {"address": {"bus": "("}}, {"address": {}}, {"address": {"bus": ""}},
    {"address": {"domain": "0000", "bus": "00", "slot": "03", "function": "0"}},
    {"devname": "eth0"}, {"devname": "eth1", "physical_network": "physnet1", "trusted": "true"}, {"devname": "eth3"},
    {"devname": "eth8"}, {"devname": "nope0"}, {"devname": "eth0", "address": "*:01:*.*"}, {"devname": ""},
    {"devname": "eth0", "address": ""}, {"devname": "eth0", "vendor_id": "8086", "product_id": "10ca"},
    {"vendor_id": "8086"}, {"vendor_id": "8086", "product_id": "10ca"}, {"vendor_id": " 8086 ", "product_id": "10c9"},
    {"vendor_id": "0x8086", "product_id": "0X10CA"}, {"vendor_id": "1b36"}, {"vendor_id": "*", "product_id": "*"},
    {"vendor_id": "10000"}, {"product_id": "xyz"}, {"vendor_id": ""}, {"vendor_id": "80_86"}, {"vendor_id": "8086_"},
    {"address": "0000:01:00.0", "vendor_id": "8086", "product_id": "10c9"},
    {"address": "*:01:00.0", "remote_managed": "false", "physical_network": "x"},
]

GLOB_PARTS = ["*", "", "0", "00", "0000", "1", "01", "02", "10", "3", "03", "2", "1f", "20", "100", "10000", "g",
              "0x1", " 1", "ff", "FF"]
FUNCS = ["*", "", "0", "2", "4", "7", "8", "x", " 2"]
REGEXES = [".*", "0[12]", "1.", "0", "[0-9a-f]{2}", "(00|01)", "1|2", "[02]", "(", "0+", "a?0", "", "[", "0{4}",
           "10", "00", "[4-7]", "0000", "ab"]
IDS = ["8086", "10ca", "10c9", "10d3", "1b36", "0010", "*", "ffff", "10000", "xyz", "0x8086", "29c0"]
NAMES = ["eth0", "eth1", "eth2", "eth5", "eth8", "none9"]


def random_spec():
    s = {}
    kind = rng.randrange(4)
    if kind == 0:
        n = rng.randrange(1, 4)
        dbs = ":".join(rng.choice(GLOB_PARTS) for _ in range(n))
        f = rng.choice(FUNCS)
        s["address"] = dbs + ("." + f if rng.random() < 0.7 else "")
    elif kind == 1:
        s["address"] = {k: rng.choice(REGEXES) for k in ("domain", "bus", "slot", "function") if rng.random() < 0.6}
    elif kind == 2:
        s["devname"] = rng.choice(NAMES)
        if rng.random() < 0.1:
            s["address"] = "*:01:*.*"
    if rng.random() < 0.4:
        s["vendor_id"] = rng.choice(IDS)
    if rng.random() < 0.4:
        s["product_id"] = rng.choice(IDS)
    if rng.random() < 0.3:
        s["physical_network"] = rng.choice(["physnet1", "p2"])
    return s


trees = []
tmp = tempfile.mkdtemp(prefix="sriov-nova-", dir="/dev/shm" if os.path.isdir("/dev/shm") else None)
for name, args in (("testbed", ["testbed"]), ("grid", ["grid", "3", "4"])):
    root = os.path.join(tmp, name)
    subprocess.run([mk, root] + args, check=True, stdout=subprocess.DEVNULL)
    trees.append((name, root))

cases = [(s, "hand") for s in HAND] + [(random_spec(), "random") for _ in range(300)]
total = len(cases) * len(trees) + 1
print("1..%d" % total)
n = 0
failed = 0
nova_refused = sriovd_matched = 0
for tname, root in trees:
    ROOT = root
    devs = devices(root)
    for spec, how in cases:
        n += 1
        nerr, nset = nova_match(spec, devs)
        serr, sset, lines = sriovd_match(spec)
        desc = "%s %s %s" % (tname, how, json.dumps(spec))
        ok = (nerr is None) == (serr is None) and nset == sset and sset != "crash"
        if serr is not None and lines != 1 and sset != "crash":
            ok = False
        if nerr is not None:
            nova_refused += 1
        if sset:
            sriovd_matched += 1
        if ok:
            print("ok %d - %s" % (n, desc))
        else:
            failed += 1
            print("not ok %d - %s" % (n, desc))
            print("#   nova:   %s" % (nerr or sorted(nset.items())))
            print("#   sriovd: %s" % (serr or sorted(sset.items())))
# The cases are worth something only if both outcomes occur often.
n += 1
if nova_refused > 20 and sriovd_matched > 100:
    print("ok %d - variety: %d refusals, %d non-empty matches" % (n, nova_refused, sriovd_matched))
else:
    failed += 1
    print("not ok %d - too little variety: %d refusals, %d non-empty matches" % (n, nova_refused, sriovd_matched))
subprocess.run(["rm", "-rf", tmp])
sys.exit(1 if failed else 0)
