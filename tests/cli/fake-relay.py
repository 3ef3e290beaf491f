#!/usr/bin/env python3
"""A stand-in for sriov-relay's control socket (docs/relay.md) for the CLI
tests: the routes GET/POST /v1/relays, GET/DELETE /v1/relays/NAME,
GET /v1/relays/NAME/stats, GET /v1/health, relays kept in memory, every
request written to LOG as one JSON line {"method", "path", "body"} so a
test can check what reached the socket. It checks only what the tests need
it to refuse (a taken name, a VF not on vfio-pci: "0000:99:00.0").
   fake-relay.py SOCKET LOG"""
import json
import os
import socketserver
import sys
from http.server import BaseHTTPRequestHandler

SOCK, LOG = sys.argv[1], sys.argv[2]
relays = {}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def address_string(self):
        return "unix"

    def reply(self, status, doc=None):
        body = b"" if doc is None else json.dumps(doc).encode()
        self.send_response(status)
        if doc is not None:
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def error(self, status, field, message):
        self.reply(status, {"error": {"code": "invalid" if status == 400 else "conflict" if status == 409
                                      else "not_found", "field": field, "message": message}})

    def handle_any(self, method):
        n = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(n) if n else b""
        body = json.loads(raw) if raw else None
        with open(LOG, "a") as f:
            f.write(json.dumps({"method": method, "path": self.path, "body": body}) + "\n")
        p = self.path
        if p == "/v1/health":
            return self.reply(200, {"status": "ok"})
        if p == "/v1/relays":
            if method == "GET":
                return self.reply(200, {"relays": list(relays.values())})
            if method != "POST":
                return self.error(405, None, "method not allowed")
            name = body.get("name") or "relay%d" % len(relays)
            if name in relays:
                return self.error(409, "name", "a relay named %s exists" % name)
            if body.get("vf") == "0000:99:00.0":
                return self.error(400, "vf", "vf: 0000:99:00.0 is not bound to vfio-pci (it is on igbvf)")
            r = {"name": name, "vf": body["vf"], "socket": body["socket"], "mode": body.get("mode", "server"),
                 "queues": body.get("queues", 1), "lcores": body.get("lcores", [1]), "state": "waiting"}
            relays[name] = r
            return self.reply(201, r)
        parts = p.split("/")
        if len(parts) < 4 or parts[1:3] != ["v1", "relays"]:
            return self.error(404, None, "no such route")
        name = parts[3]
        if name not in relays:
            return self.error(404, "name", "no relay named %s" % name)
        if len(parts) == 5 and parts[4] == "stats" and method == "GET":
            c = {"packets": 10, "bytes": 640, "drops": 1, "packets_per_s": 5.0, "bytes_per_s": 320.0,
                 "drops_per_s": 0.0}
            return self.reply(200, {"name": name, "state": "forwarding", "vf_to_vm": c,
                                    "vm_to_vf": dict(c, packets=20)})
        if len(parts) == 4 and method == "GET":
            return self.reply(200, relays[name])
        if len(parts) == 4 and method == "DELETE":
            del relays[name]
            return self.reply(204)
        return self.error(405, None, "method not allowed")

    def do_GET(self):
        self.handle_any("GET")

    def do_POST(self):
        self.handle_any("POST")

    def do_DELETE(self):
        self.handle_any("DELETE")


class Server(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True


if os.path.exists(SOCK):
    os.unlink(SOCK)
Server(SOCK, Handler).serve_forever()
