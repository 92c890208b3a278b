"""What every peer of the tests (websub_peer.py, webmention_peer.py) shares:
the JSON event log the Rust side reads (tests/common/peer_process.rs, PeerProcess)
and ending with the test process that started it. Standard library only."""

import json
import os
import shutil
import threading
import time


def event_recorder(path):
    """A function record(event, **fields) appending one JSON object a line
    to path: {"event", "at" (Unix time), **fields}; values JSON cannot hold
    are written as str()."""
    lock = threading.Lock()

    def record(event, **fields):
        line = json.dumps({"event": event, "at": time.time(), **fields}, default=str)
        with lock, open(path, "a", encoding="utf-8") as f:
            f.write(line + "\n")

    return record


def exit_with_parent(directory):
    """Starts a thread that ends this process, removing directory, when the
    process that started it ends (its parent changes): the tests keep a peer
    in a static that is never dropped."""

    def watch():
        parent = os.getppid()
        while os.getppid() == parent:
            time.sleep(0.2)
        shutil.rmtree(directory, ignore_errors=True)
        os._exit(0)

    threading.Thread(target=watch, daemon=True).start()
