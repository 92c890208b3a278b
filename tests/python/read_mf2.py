"""Reads roost's pages as microformats2 consumers do, for tests/microformats.rs.

Usage: read_mf2.py FILE URL [FILE URL ...]. Prints a JSON list with, for each
page (its HTML in FILE, as served from URL), what mf2py parsed: items, rels.
The assertions are in the Rust test.
"""

import json
import sys

import mf2py


def main():
    args = sys.argv[1:]
    pages = []
    for path, url in zip(args[0::2], args[1::2]):
        with open(path, encoding="utf-8") as f:
            pages.append(mf2py.parse(doc=f.read(), url=url))
    json.dump(pages, sys.stdout, ensure_ascii=True, default=str)


if __name__ == "__main__":
    main()
