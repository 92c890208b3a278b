#!/usr/bin/env python3
"""What bench/websub and bench/post run besides roost itself (Python stdlib only).

    websub_tools.py sink --port-file F          a WebSub subscriber sink on 127.0.0.1
    websub_tools.py subscribe ...               N subscriptions through POST /websub (CGI)
    websub_tools.py floor ...                   the same deliveries sent by a trivial client
    websub_tools.py stats|reset --port P        the sink's counters (JSON) / zero them
                                                (GET /last-body: the last body delivered)
    websub_tools.py login ...                   a session cookie and CSRF token (CGI)
    websub_tools.py posts ...                   POST /posts timed, two binaries interleaved

The sink answers a verification GET to /cb/N by echoing hub.challenge, and
counts each POST to /cb/N: whether its X-Hub-Signature (sha256) matches the
body under subscriber N's secret (SECRET_PREFIX + N), which callbacks got one,
and when the first and last arrived. It speaks HTTP/1.0 (a connection per
request), as roost's sender opens one per delivery anyway.

CGI requests run the binary directly with the CGI environment (no Apache):
GATEWAY_INTERFACE, REQUEST_METHOD, PATH_INFO, CONTENT_LENGTH, HTTP_COOKIE,
HTTPS=on, the body on stdin, as tests/cgi.rs does.
"""

import argparse
import hashlib
import hmac
import http.client
import json
import os
import re
import resource
import statistics
import subprocess
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

SECRET_PREFIX = "bench-secret-"


def secret_for(n):
    return SECRET_PREFIX + str(n)


def sign(secret, body):
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


# ---------------------------------------------------------------- the sink


class Counters:
    def __init__(self):
        self.lock = threading.Lock()
        self.reset()

    def reset(self):
        self.verified = set()
        self.verifications = 0
        self.deliveries = 0
        self.good = set()
        self.bad_signature = 0
        self.unknown = 0
        self.first = None
        self.last = None
        self.body_bytes = set()
        self.content_types = set()
        self.last_body = (b"", "")

    def snapshot(self):
        return {
            "verifications": self.verifications,
            "verified_callbacks": len(self.verified),
            "deliveries": self.deliveries,
            "callbacks_with_valid_signature": len(self.good),
            "bad_signature": self.bad_signature,
            "unknown": self.unknown,
            "first_at": self.first,
            "last_at": self.last,
            "body_bytes": sorted(self.body_bytes),
            "content_types": sorted(self.content_types),
        }


COUNTERS = Counters()
CALLBACK = re.compile(r"^/cb/(\d+)$")


class Sink(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def answer(self, status, body=b"", content_type="text/plain"):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        url = urllib.parse.urlsplit(self.path)
        if url.path == "/stats":
            with COUNTERS.lock:
                return self.answer(200, json.dumps(COUNTERS.snapshot()).encode(), "application/json")
        if url.path == "/last-body":
            with COUNTERS.lock:
                body, content_type = COUNTERS.last_body
            return self.answer(200, body, content_type)
        match = CALLBACK.match(url.path)
        query = dict(urllib.parse.parse_qsl(url.query))
        if not match or query.get("hub.mode") not in ("subscribe", "unsubscribe") or "hub.challenge" not in query:
            return self.answer(404, b"not a verification\n")
        with COUNTERS.lock:
            COUNTERS.verifications += 1
            COUNTERS.verified.add(int(match.group(1)))
        self.answer(200, query["hub.challenge"].encode())

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.path == "/reset":
            with COUNTERS.lock:
                COUNTERS.reset()
            return self.answer(204)
        match = CALLBACK.match(self.path)
        now = time.time()
        with COUNTERS.lock:
            if not match:
                COUNTERS.unknown += 1
                return self.answer(404, b"unknown callback\n")
            n = int(match.group(1))
            COUNTERS.deliveries += 1
            COUNTERS.first = now if COUNTERS.first is None else COUNTERS.first
            COUNTERS.last = now
            COUNTERS.body_bytes.add(len(body))
            COUNTERS.content_types.add(self.headers.get("Content-Type", ""))
            COUNTERS.last_body = (body, self.headers.get("Content-Type", ""))
            valid = hmac.compare_digest(self.headers.get("X-Hub-Signature", ""), sign(secret_for(n), body))
            if valid:
                COUNTERS.good.add(n)
            else:
                COUNTERS.bad_signature += 1
        self.answer(200 if valid else 403, b"ok\n" if valid else b"bad signature\n")


def sink(args):
    server = ThreadingHTTPServer(("127.0.0.1", 0), Sink)
    server.request_queue_size = 128
    server.daemon_threads = True
    tmp = args.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write(str(server.server_address[1]))
    os.rename(tmp, args.port_file)
    server.serve_forever()


def sink_request(port, method, path):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request(method, path)
    resp = conn.getresponse()
    data = resp.read()
    conn.close()
    return data


def stats(args):
    print(sink_request(args.port, "GET", "/stats").decode())


def reset(args):
    sink_request(args.port, "POST", "/reset")


# ---------------------------------------------------------------- CGI


def cgi(binary, home, method, path, body=b"", cookie=None, headers=None, query=""):
    """Runs one CGI request; returns (status, headers, body, (wall, cpu) seconds).
    The CPU time (user + system) is the growth of RUSAGE_CHILDREN across the
    run: requests run one at a time, so it is this child's alone. `headers`
    (a dict) become HTTP_* variables; a Content-Type there replaces the form's."""
    env = {
        "GATEWAY_INTERFACE": "CGI/1.1",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "QUERY_STRING": query,
        "REQUEST_URI": path + ("?" + query if query else ""),
        "SCRIPT_NAME": "/roost.cgi",
        "REMOTE_ADDR": "192.0.2.7",
        "HTTPS": "on",
        "ROOST_HOME": home,
        "CONTENT_LENGTH": str(len(body)),
        "PATH": "/usr/bin:/bin",
    }
    if method == "POST":
        env["CONTENT_TYPE"] = "application/x-www-form-urlencoded"
    if cookie:
        env["HTTP_COOKIE"] = cookie
    for name, value in (headers or {}).items():
        if name.lower() == "content-type":
            env["CONTENT_TYPE"] = value
        else:
            env["HTTP_" + name.upper().replace("-", "_")] = value
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    proc = subprocess.Popen([binary], env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out, err = proc.communicate(body)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if proc.returncode != 0:
        sys.exit(f"{binary} {method} {path} exited {proc.returncode}: {err.decode(errors='replace')}")
    head, _, rest = out.partition(b"\r\n\r\n")
    status = 200
    headers = []
    for line in head.decode().split("\r\n"):
        name, _, value = line.partition(": ")
        if name == "Status":
            status = int(value[:3])
        else:
            headers.append((name, value))
    return status, headers, rest, (wall, cpu)


def cookie_value(headers, name):
    """The NAME=value of a Set-Cookie, whatever prefix (__Host-, __Secure-) the site's URL gave it."""
    for key, value in headers:
        pair = value.split(";", 1)[0]
        if key == "Set-Cookie" and pair.split("=", 1)[0].endswith(name):
            return pair
    return None


def hidden_csrf(html):
    match = re.search(rb'name="csrf" value="([^"]*)"', html)
    if not match:
        sys.exit("no csrf field in the page")
    return match.group(1).decode()


def log_in(binary, home, password):
    """The owner logged in through the form: (session cookie, csrf token)."""
    status, headers, page, _ = cgi(binary, home, "GET", "/login")
    login = cookie_value(headers, "roost_login")
    if status != 200 or not login:
        sys.exit(f"GET /login answered {status} without a login cookie")
    form = urllib.parse.urlencode({"csrf": hidden_csrf(page), "password": password}).encode()
    status, headers, page, _ = cgi(binary, home, "POST", "/login", form, login)
    session = cookie_value(headers, "roost_session")
    if status != 303 or not session:
        sys.exit(f"POST /login answered {status}: {page[:300]!r}")
    status, _, page, _ = cgi(binary, home, "GET", "/", cookie=session)
    return session, hidden_csrf(page)


def subscribe(args):
    """Prints the seconds all took, and the mean ms of the first and of the
    last tenth of the requests (each a write: the cost of a growing WAL)."""
    topic = args.site_url + "feed.atom"
    started = time.perf_counter()
    walls = []
    for n in range(args.count):
        form = urllib.parse.urlencode(
            {
                "hub.mode": "subscribe",
                "hub.topic": topic,
                "hub.callback": f"http://127.0.0.1:{args.sink_port}/cb/{n}",
                "hub.secret": secret_for(n),
                "hub.lease_seconds": "864000",
            }
        ).encode()
        status, _, body, (wall, _) = cgi(args.bin, args.home, "POST", "/websub", form)
        if status != 202:
            sys.exit(f"POST /websub for subscriber {n} answered {status}: {body.decode(errors='replace')}")
        walls.append(wall * 1000)
    tenth = max(1, len(walls) // 10)
    first, last = statistics.mean(walls[:tenth]), statistics.mean(walls[-tenth:])
    print(f"{time.perf_counter() - started:.3f} {first:.1f} {last:.1f}")


# ---------------------------------------------------------------- the floor


def floor(args):
    """The same deliveries, sent one at a time by a trivial client: sign the
    body with the subscriber's secret, POST it over a new connection, read the
    answer. Prints the seconds taken, wall and CPU (user + system) of this
    process, measured around the loop only (not the interpreter's start)."""
    body = open(args.body_file, "rb").read()
    link = f'<{args.site_url}websub>; rel="hub", <{args.site_url}feed.atom>; rel="self"'
    cpu_before = time.process_time()
    started = time.perf_counter()
    for n in range(args.count):
        conn = http.client.HTTPConnection("127.0.0.1", args.sink_port, timeout=30)
        conn.request(
            "POST",
            f"/cb/{n}",
            body,
            {"Content-Type": args.content_type, "Link": link, "X-Hub-Signature": sign(secret_for(n), body)},
        )
        resp = conn.getresponse()
        resp.read()
        conn.close()
        if resp.status != 200:
            sys.exit(f"the sink answered {resp.status} to the floor's delivery {n}")
    print(f"{time.perf_counter() - started:.3f} {time.process_time() - cpu_before:.3f}")


# ---------------------------------------------------------------- POST /posts


def percentile(values, p):
    ordered = sorted(values)
    k = (len(ordered) - 1) * p
    lo = int(k)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def posts(args):
    """Interleaves the sides (ABC BCA CAB ...): one logged-in POST /posts
    each, --count times, timing each CGI process from fork to exit. Prints JSON."""
    sides = []
    for spec in args.side:
        label, _, where = spec.partition("=")
        binary, _, home = where.partition(":")
        session, csrf = log_in(binary, home, args.password)
        sides.append({"label": label, "bin": binary, "home": home, "cookie": session, "csrf": csrf, "wall": [], "cpu": []})
    for i in range(args.count):
        # Each side goes first, second, ... in turn, so no side always follows the same one.
        turn = i % len(sides)
        for side in sides[turn:] + sides[:turn]:
            text = f"Benchmark post {i} from {side['label']}: what a short note costs to write through the form."
            form = urllib.parse.urlencode({"csrf": side["csrf"], "text": text}).encode()
            status, _, body, (wall, cpu) = cgi(side["bin"], side["home"], "POST", "/posts", form, side["cookie"])
            if status != 303:
                sys.exit(f"{side['label']}: POST /posts answered {status}: {body[:300]!r}")
            side["wall"].append(wall * 1000)
            side["cpu"].append(cpu * 1000)
    result = {}
    for side in sides:
        w, c = side["wall"], side["cpu"]
        result[side["label"]] = {
            "n": len(w),
            "median_ms": statistics.median(w),
            "p90_ms": percentile(w, 0.9),
            "max_ms": max(w),
            "cpu_median_ms": statistics.median(c),
            "cpu_p90_ms": percentile(c, 0.9),
        }
    print(json.dumps(result))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("sink")
    p.add_argument("--port-file", required=True)
    p.set_defaults(run=sink)
    for name, run in (("stats", stats), ("reset", reset)):
        p = sub.add_parser(name)
        p.add_argument("--port", type=int, required=True)
        p.set_defaults(run=run)
    p = sub.add_parser("subscribe")
    p.add_argument("--bin", required=True)
    p.add_argument("--home", required=True)
    p.add_argument("--site-url", required=True)
    p.add_argument("--sink-port", type=int, required=True)
    p.add_argument("--count", type=int, required=True)
    p.set_defaults(run=subscribe)
    p = sub.add_parser("floor")
    p.add_argument("--site-url", required=True)
    p.add_argument("--sink-port", type=int, required=True)
    p.add_argument("--count", type=int, required=True)
    p.add_argument("--body-file", required=True)
    p.add_argument("--content-type", required=True)
    p.set_defaults(run=floor)
    p = sub.add_parser("posts")
    p.add_argument("--side", action="append", required=True, help="LABEL=BIN:HOME (give two or more)")
    p.add_argument("--count", type=int, required=True)
    p.add_argument("--password", required=True)
    p.set_defaults(run=posts)
    args = parser.parse_args()
    args.run(args)


if __name__ == "__main__":
    main()
