#!/usr/bin/env python3
"""Fills a freshly initialised roost database with N posts, fast (bench/run).

usage: seed_posts.py DB N

Writes straight into the schema of src/store/migrations.rs (table posts:
id, uid, body, reply_to, published, updated) in one transaction. Each uid is
the site's `id_prefix` setting followed by the id, as src/store/posts.rs
insert() makes it. Bodies are 100-280 characters of plain words, about one in
five with a URL and one in twenty a reply; the newest post's body contains
"bench-post-N" so bench/run can check it is on the front page. Deterministic.
"""
import random
import sqlite3
import sys
import time

WORDS = (
    "the a of to and in is it that for on with as was at by this be from or "
    "have an they which one you were her all she there would their we him "
    "been has when who will more no if out so said what up its about into "
    "than them can only other new some could time these two may then do "
    "first any my now such like our over man me even most made after also "
    "did many before must through back years where much your way well down "
    "should because each just those people how too little state good very "
    "make world still own see men work long get here between both life being "
    "under never day same another know while last might us great old year "
    "off come since against go came right used take three garden coffee "
    "morning train rain bicycle river book music kitchen window lunch walk "
    "thinking reading writing server feed post reply weekend bread tea"
).split()
HOSTS = ("example.com", "example.org", "blog.example.net", "news.example")


def body(rng, n):
    target = rng.randint(100, 280)
    words = []
    length = 0
    while length < target - 12:
        w = rng.choice(WORDS)
        words.append(w)
        length += len(w) + 1
    if rng.random() < 0.2:
        url = "https://%s/%s/%d" % (rng.choice(HOSTS), rng.choice(WORDS), rng.randint(1, 99999))
        words.insert(rng.randint(0, len(words)), url)
    text = " ".join(words)
    text = text[0].upper() + text[1:] + "."
    return text


def main():
    db, count = sys.argv[1], int(sys.argv[2])
    rng = random.Random(20261124)
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("PRAGMA busy_timeout = 5000")
    (prefix,) = conn.execute("SELECT value FROM settings WHERE key = 'id_prefix'").fetchone()
    (first,) = conn.execute("SELECT COALESCE(MAX(id), 0) + 1 FROM posts").fetchone()
    now = int(time.time())
    start = now - count * 600  # one post every ten minutes, the last one now
    rows = []
    for i in range(count):
        pid = first + i
        text = body(rng, pid)
        if i == count - 1:
            text += " bench-post-%d" % count
        reply_to = None
        if rng.random() < 0.05:
            reply_to = "https://%s/posts/%d" % (rng.choice(HOSTS), rng.randint(1, 99999))
        published = start + i * 600
        rows.append((pid, "%s%d" % (prefix, pid), text, reply_to, published, published))
    conn.execute("BEGIN IMMEDIATE")
    conn.executemany(
        "INSERT INTO posts (id, uid, body, reply_to, published, updated) VALUES (?, ?, ?, ?, ?, ?)",
        rows,
    )
    conn.execute("COMMIT")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    (n,) = conn.execute("SELECT COUNT(*) FROM posts").fetchone()
    conn.close()
    print("%d posts in %s" % (n, db))


if __name__ == "__main__":
    main()
