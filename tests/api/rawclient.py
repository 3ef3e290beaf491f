#!/usr/bin/python3
"""Raw HTTP clients on a Unix socket for the API limit tests.
  rawclient.py SOCKET slow SECONDS_PER_BYTE   one request sent byte by byte;
                                              prints "cut BYTES" or "answered STATUS"
  rawclient.py SOCKET hold N                  N idle connections, then one request on a
                                              fresh one; prints "answered STATUS" or "closed"
  rawclient.py SOCKET header BYTES            a request with one header of BYTES; prints the status
  rawclient.py SOCKET rate N                  N requests on one connection; prints their statuses
"""
import socket
import sys
import time


def connect(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(path)
    return s


def status_of(s):
    data = b""
    s.settimeout(10)
    try:
        while b"\r\n" not in data:
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
    except (ConnectionResetError, socket.timeout, BrokenPipeError):
        pass
    if not data.startswith(b"HTTP/1.1 "):
        return None
    return data.split(b" ")[1].decode()


def read_response(s, buf):
    """One response (head + Content-Length body) from buf + s; returns (status, rest)."""
    while b"\r\n\r\n" not in buf:
        chunk = s.recv(65536)
        if not chunk:
            return None, b""
        buf += chunk
    head, rest = buf.split(b"\r\n\r\n", 1)
    length = 0
    for line in head.split(b"\r\n")[1:]:
        k, _, v = line.partition(b":")
        if k.strip().lower() == b"content-length":
            length = int(v.strip())
    while len(rest) < length:
        chunk = s.recv(65536)
        if not chunk:
            break
        rest += chunk
    return head.split(b" ")[1].decode(), rest[length:]


def main():
    path, mode, arg = sys.argv[1], sys.argv[2], sys.argv[3]
    if mode == "slow":
        s = connect(path)
        req = b"GET /v1/health HTTP/1.1\r\nHost: localhost\r\nX-Slow: " + b"a" * 40 + b"\r\n\r\n"
        sent = 0
        try:
            for i in range(len(req)):
                s.send(req[i:i + 1])
                sent += 1
                time.sleep(float(arg))
                s.setblocking(False)
                try:
                    if s.recv(1, socket.MSG_PEEK) == b"":
                        raise ConnectionResetError
                except BlockingIOError:
                    pass
                s.setblocking(True)
        except (ConnectionResetError, BrokenPipeError):
            print("cut %d" % sent)
            return
        st = status_of(s)
        print("answered %s" % st if st else "cut %d" % sent)
    elif mode == "hold":
        held = [connect(path) for _ in range(int(arg))]
        time.sleep(0.5)
        s = connect(path)
        try:
            s.sendall(b"GET /v1/health HTTP/1.1\r\nHost: localhost\r\n\r\n")
        except (ConnectionResetError, BrokenPipeError):
            print("closed")
            return
        st = status_of(s)
        print("answered %s" % st if st else "closed")
        for h in held:
            h.close()
    elif mode == "header":
        s = connect(path)
        try:
            s.sendall(b"GET /v1/health HTTP/1.1\r\nHost: localhost\r\nX-Big: " + b"b" * int(arg) + b"\r\n\r\n")
        except (ConnectionResetError, BrokenPipeError):
            pass
        print(status_of(s))
    elif mode == "rate":
        s = connect(path)
        buf = b""
        out = []
        for _ in range(int(arg)):
            s.sendall(b"GET /v1/health HTTP/1.1\r\nHost: localhost\r\n\r\n")
            st, buf = read_response(s, buf)
            out.append(st or "closed")
        print(" ".join(out))


main()
