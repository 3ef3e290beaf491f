#!/usr/bin/python3
"""Replays every example of docs/api.md against a running sriovd on the fake
testbed tree, with the config the document gives, and compares the answers.

  test-api-docs.py SRIOVD MKFAKESYSFS DOCS/API.MD

An example is a ```console block whose first line is `$ curl ...`; the lines
after it are the answer as `curl -si` prints it: the status line, headers
(each one shown must be in the answer, others are not compared), a blank
line, the body. A JSON body is compared key by key: every key of an
example's object must be in the answer with an equal value (keys left out
are elided), lists must have the same length, element by element. The
volatile values (pid, version, times) are not compared. A body of JSON
lines is compared line by line so. Any other body:
its lines must be in the answer, in that order. The tree's path is written
/sys in the document, the config's /etc/sriovd/sriovd.conf, the socket
/run/sriovd/api.sock, the group sriovd. A block after `<!-- replay:
as-nobody -->` runs as uid/gid 65534 without groups. TAP output."""
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time

VOLATILE = {"pid", "version", "started", "last_reconcile", "time", "since", "next_retry", "applies", "last_writes"}
DOC_SOCK = "/run/sriovd/api.sock"
DOC_CONF = "/etc/sriovd/sriovd.conf"

n = 0
failed = 0


def tap(ok, desc, detail=""):
    global n, failed
    n += 1
    if not ok:
        failed += 1
    print("%s %d - %s" % ("ok" if ok else "not ok", n, desc))
    if not ok and detail:
        for line in detail.splitlines()[:40]:
            print("#   " + line)


def examples(text):
    """(config, [(as_nobody, command, expected answer text)])"""
    config = None
    out = []
    lines = text.split("\n")
    i = 0
    marker = None
    while i < len(lines):
        line = lines[i]
        m = re.match(r"<!-- replay: ([a-z-]+) -->", line.strip())
        if m:
            marker = m.group(1)
            i += 1
            continue
        if line.startswith("```"):
            info = line[3:].strip()
            j = i + 1
            while j < len(lines) and not lines[j].startswith("```"):
                j += 1
            block = lines[i + 1:j]
            if marker == "config" and info == "yaml":
                config = "\n".join(block) + "\n"
            elif info == "console" and block and block[0].startswith("$ curl "):
                out.append((marker == "as-nobody", block[0][2:], "\n".join(block[1:])))
            marker = None
            i = j + 1
            continue
        if line.strip():
            marker = None if not line.startswith("<!--") else marker
        i += 1
    return config, out


def split_answer(text):
    text = text.replace("\r\n", "\n")
    head, _, body = text.partition("\n\n")
    hl = head.split("\n")
    return hl[0].strip(), [h.strip() for h in hl[1:] if h.strip()], body


def subset(want, got, path="$"):
    """None when want is a subset of got, else a reason."""
    if isinstance(want, dict):
        if not isinstance(got, dict):
            return "%s: an object in the document, %s in the answer" % (path, type(got).__name__)
        for k, v in want.items():
            if k not in got:
                return "%s: no key %r in the answer" % (path, k)
            if k in VOLATILE:
                continue
            r = subset(v, got[k], "%s.%s" % (path, k))
            if r:
                return r
        return None
    if isinstance(want, list):
        if not isinstance(got, list) or len(got) != len(want):
            return "%s: %d elements in the document, %s in the answer" % (
                path, len(want), len(got) if isinstance(got, list) else type(got).__name__)
        for idx, (w, g) in enumerate(zip(want, got)):
            r = subset(w, g, "%s[%d]" % (path, idx))
            if r:
                return r
        return None
    if want != got:
        return "%s: %r in the document, %r in the answer" % (path, want, got)
    return None


def main():
    sriovd, mk, doc = sys.argv[1:4]
    config, exs = examples(open(doc, encoding="utf-8").read())
    tap(config is not None, "the document gives its config")
    tap(len(exs) >= 15, "the document has examples (%d)" % len(exs))
    tmp = tempfile.mkdtemp(prefix="sriovd-apidoc.", dir=os.environ.get("TMPDIR", "/dev/shm"))
    os.chmod(tmp, 0o755)
    tree = os.path.join(tmp, "tb")
    subprocess.run([mk, tree, "testbed"], check=True, stdout=subprocess.DEVNULL)
    conf = os.path.join(tmp, "c.conf")
    with open(conf, "w") as f:
        f.write(config or "version: 1\n")
    sock = os.path.join(tmp, "api.sock")
    env = dict(os.environ, SRIOV_STATE_DIR=os.path.join(tmp, "state"))
    log = open(os.path.join(tmp, "d.log"), "w")
    d = subprocess.Popen([sriovd, "--sysfs-root", tree, "--config", conf, "--config-dir", "", "--status-file",
                          os.path.join(tmp, "status.json"), "--resync-s", "0", "--socket", sock, "--group", "daemon"],
                         env=env, stderr=log)
    try:
        for _ in range(200):
            if os.path.exists(sock):
                break
            time.sleep(0.05)
        os.chmod(sock, 0o666)  # the as-nobody examples connect as a user outside the group
        for as_nobody, cmd, want_text in exs:
            argv = [a.replace(DOC_SOCK, sock) for a in shlex.split(cmd)]
            if as_nobody:
                argv = ["setpriv", "--reuid", "65534", "--regid", "65534", "--clear-groups"] + argv
            got_text = subprocess.run(argv, capture_output=True, text=True).stdout
            for a, b in ((tree, "/sys"), (conf, DOC_CONF), ("group daemon", "group sriovd")):
                got_text = got_text.replace(a, b)
            wst, wh, wb = split_answer(want_text)
            gst, gh, gb = split_answer(got_text)
            desc = ("as nobody: " if as_nobody else "") + cmd.replace("curl -si --unix-socket %s " % DOC_SOCK, "")
            why = None
            if wst != gst:
                why = "status %r, the document says %r" % (gst, wst)
            for h in wh:
                if not why and h.lower() not in [x.lower() for x in gh]:
                    why = "no header %r in the answer (%s)" % (h, "; ".join(gh))
            if not why:
                try:
                    wj = json.loads(wb)
                except ValueError:
                    wj = None
                wl = [x for x in wb.split("\n") if x.strip()]
                try:
                    wlines = [json.loads(x) for x in wl] if wj is None and wl else None
                except ValueError:
                    wlines = None
                if wj is not None:
                    try:
                        why = subset(wj, json.loads(gb))
                    except ValueError:
                        why = "the answer is not JSON"
                elif wlines is not None:
                    # newline-delimited JSON: line by line
                    try:
                        glines = [json.loads(x) for x in gb.split("\n") if x.strip()]
                        why = subset(wlines, glines)
                    except ValueError:
                        why = "the answer is not newline-delimited JSON"
                else:
                    pos = 0
                    glines = gb.split("\n")
                    for wl in [x for x in wb.split("\n") if x.strip()]:
                        while pos < len(glines) and glines[pos] != wl:
                            pos += 1
                        if pos == len(glines):
                            why = "line %r not in the answer (in order)" % wl
                            break
            tap(why is None, desc, (why or "") + "\n--- answer:\n" + got_text)
    finally:
        d.send_signal(signal.SIGTERM)
        d.wait(timeout=10)
        log.close()
        shutil.rmtree(tmp, ignore_errors=True)
    print("1..%d" % n)
    sys.exit(1 if failed else 0)


main()
