#!/usr/bin/env python3
"""Parse throughput of Python feedparser over a list of files (the baseline
for examples/parse_throughput.rs; bench/parse runs both on the same list).

    bench/parse_feedparser.py --from-list FILES.txt [--min-seconds 3] [--no-sanitize]

Every file is read into memory first (gzip files, first bytes 1f 8b, are
gunzipped there). Then the whole set is parsed with feedparser.parse(),
pass after pass, until --min-seconds have gone by (at least one pass); only
that loop is timed. Each document is handed over as a byte stream and no
HTTP headers, as roost's parse() gets no Content-Type here (giving
feedparser a Content-Location for a base URL would make every result bozo
for the missing Content-Type). By default feedparser does what it does by default: sanitize HTML and
resolve relative URLs. --no-sanitize turns both off (parsing only, closer to
roost's parse() alone).

Prints one `RESULT key=value ...` line on stdout (the same keys as the Rust
example) and a readable summary on stderr. MB are 10^6 bytes of (gunzipped)
input; feeds/s counts every file, parsed cleanly or not.
"""

import argparse
import gzip
import io
import sys
import time

try:
    import feedparser
except ImportError:
    sys.exit("parse_feedparser.py: feedparser is missing (pip install feedparser)")

def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--from-list", required=True, help="file with one path a line")
    ap.add_argument("--min-seconds", type=float, default=3.0)
    ap.add_argument("--no-sanitize", action="store_true",
                    help="sanitize_html=False, resolve_relative_uris=False")
    args = ap.parse_args()

    with open(args.from_list, encoding="utf-8") as f:
        paths = [line.rstrip("\n") for line in f if line.strip()]
    docs = []
    for p in paths:
        with open(p, "rb") as f:
            data = f.read()
        if data[:2] == b"\x1f\x8b":
            data = gzip.decompress(data)
        docs.append(data)
    bytes_per_pass = sum(len(d) for d in docs)

    options = {}
    if args.no_sanitize:
        options = {"sanitize_html": False, "resolve_relative_uris": False}

    def parse(doc):
        return feedparser.parse(io.BytesIO(doc), **options)

    # One untimed pass: the outcome counts, and a warm-up. "ok" means not
    # bozo and a known version (a feed parsed cleanly); feedparser returns a
    # result for everything, so "errors" counts the rest.
    ok = errors = entries = 0
    for doc in docs:
        try:
            r = parse(doc)
        except Exception:
            errors += 1
            continue
        entries += len(r.entries)
        if r.get("version") and not r.get("bozo"):
            ok += 1
        else:
            errors += 1

    passes = 0
    start = time.perf_counter()
    while True:
        for doc in docs:
            try:
                parse(doc)
            except Exception:
                pass
        passes += 1
        if time.perf_counter() - start >= args.min_seconds:
            break
    seconds = time.perf_counter() - start

    mb = bytes_per_pass * passes / 1e6
    feeds = len(docs) * passes
    name = "feedparser" + ("_no_sanitize" if args.no_sanitize else "")
    print(f"RESULT impl={name} files={len(docs)} bytes={bytes_per_pass} ok={ok} "
          f"errors={errors} entries={entries} passes={passes} seconds={seconds:.3f} "
          f"mb_per_s={mb / seconds:.3f} feeds_per_s={feeds / seconds:.2f}")
    print(f"feedparser {feedparser.__version__} (Python {sys.version.split()[0]})"
          f"{' without sanitizing' if args.no_sanitize else ''}: {len(docs)} files, "
          f"{bytes_per_pass / 1e6:.2f} MB a pass ({ok} clean, {errors} bozo or unknown, "
          f"{entries} entries); {passes} passes in {seconds:.2f} s: "
          f"{mb / seconds:.3f} MB/s, {feeds / seconds:.1f} feeds/s", file=sys.stderr)


if __name__ == "__main__":
    main()
