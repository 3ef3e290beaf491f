#!/usr/bin/env python3
"""Logs the kernel's PCI uevents (NETLINK_KOBJECT_UEVENT, group 1) to stdout
as "MONOTONIC_NS ACTION PCI_SLOT_NAME DRIVER", one line each, flushed, until
killed: an independent record of when each device was added, bound or
unbound, for the VM scenarios."""
import socket
import sys
import time

s = socket.socket(socket.AF_NETLINK, socket.SOCK_DGRAM, 15)  # NETLINK_KOBJECT_UEVENT
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
s.bind((0, 1))
print("ready", flush=True)
while True:
    data = s.recv(65536)
    t = time.monotonic_ns()
    parts = data.split(b"\0")
    if b"@" not in parts[0]:
        continue
    kv = dict(p.split(b"=", 1) for p in parts[1:] if b"=" in p)
    if kv.get(b"SUBSYSTEM") != b"pci":
        continue
    print(t, kv.get(b"ACTION", b"-").decode(), kv.get(b"PCI_SLOT_NAME", b"-").decode(),
          kv.get(b"DRIVER", b"-").decode(), flush=True)
