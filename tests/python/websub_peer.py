"""An independent WebSub hub, publisher and subscriber on loopback, for the
tests (tests/common/websub_peer.rs starts it): Python flask-websub 0.4.1, not
roost's code. One threaded Flask process serves

  POST /hub                          the flask-websub hub (subscribe,
                                     unsubscribe, publish), SQLite storage
  GET  /feed, GET /feeds/NAME        Atom topics published through that hub
                                     (Link headers and <link> elements)
  POST /feed/entries                 form id, title, content[, content_type]:
  POST /feeds/NAME/entries           adds an entry, then the hub pushes the
                                     new feed to every subscriber, before the
                                     answer (celery runs eagerly)
  GET  /entries/NAME/ID              an entry's page (the entries' permalinks)
  /callbacks/CALLBACK_ID             the flask-websub subscriber's callbacks
  GET  /subscribe?topic=URL          discover URL, subscribe with a fresh
                                     secret and lease 3600; answers the
                                     callback id, or 502 and why
  GET  /unsubscribe?topic=URL        unsubscribe what /subscribe made

and appends one JSON object a line to DIR/events.jsonl for what happened:
  verified / denied        the subscriber's success and error handlers
  verify_refused           a verification GET the subscriber refused
  delivered                every POST to a callback: body, X-Hub-Signature,
                           signature_valid (checked here with the secret),
                           accepted (flask-websub's own check passed), status
  hub_request              every request the hub made to a callback:
                           kind verify / deny / push, status, error

Usage: websub_peer.py DIR. Binds 127.0.0.1 on a free port and prints
`LISTENING PORT` on stdout once serving (nothing else goes to stdout; logs go
to stderr). Exits, removing DIR, when the process that started it ends.
"""

import hashlib
import hmac
import logging
import os
import secrets
import sys
import threading
from datetime import datetime, timezone
from xml.sax.saxutils import escape, quoteattr

from peer_support import event_recorder, exit_with_parent

try:
    from celery import Celery
    from flask import Flask, Response, abort, g, request
    from werkzeug.serving import make_server

    import flask_websub.subscriber as websub_subscriber
    import flask_websub.hub.tasks as hub_tasks
    from flask_websub.errors import FlaskWebSubError
    from flask_websub.hub import Hub, SQLite3HubStorage
    from flask_websub.subscriber import (
        Subscriber,
        SQLite3SubscriberStorage,
        SQLite3TempSubscriberStorage,
        discover,
    )
except ImportError as e:
    sys.stderr.write(f"websub_peer: {e}: run scripts/setup (it installs "
                     "tests/python/requirements.txt into .venv/)\n")
    sys.exit(3)

# Every request either side makes waits this long at most (flask-websub's
# default is 3 s, short for a CGI under a loaded test run).
REQUEST_TIMEOUT = 10
# With celery eager a failed push is retried at once, inside the request that
# published, with no backoff: keep the attempts few so a refusing callback
# costs a test 3 requests, not 11.
MAX_ATTEMPTS = 2
LEASE_SECONDS = 3600

DIR = sys.argv[1]
EVENTS = os.path.join(DIR, "events.jsonl")
record = event_recorder(EVENTS)
STARTED = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")

logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                    format="%(asctime)s %(name)s %(levelname)s %(message)s")

# Loopback tests only: flask-websub's subscriber refuses to send hub.secret
# to an http:// hub (NO_SECRET_WITH_HTTP); this also stops its first try of
# the hub at https://.
websub_subscriber.is_secure = lambda url: True

app = Flask(__name__)
app.config["PUBLISH_SUPPORTED"] = True
celery = Celery("websub_peer", broker="memory://", backend="cache+memory://")
celery.conf.task_always_eager = True
celery.conf.task_eager_propagates = False
hub = Hub(SQLite3HubStorage(os.path.join(DIR, "hub.db")), celery,
          SIGNATURE_ALGORITHM="sha256", PUBLISH_SUPPORTED=True,
          REQUEST_TIMEOUT=REQUEST_TIMEOUT, MAX_ATTEMPTS=MAX_ATTEMPTS)
app.register_blueprint(hub.build_blueprint(url_prefix="/hub"))
subscriber = Subscriber(SQLite3SubscriberStorage(os.path.join(DIR, "sub.db")),
                        SQLite3TempSubscriberStorage(os.path.join(DIR, "subtmp.db")),
                        REQUEST_TIMEOUT=REQUEST_TIMEOUT)
app.register_blueprint(subscriber.build_blueprint(url_prefix="/callbacks"))

lock = threading.Lock()
topics = {}          # topic name -> list of entries, newest first
subscriptions = {}   # topic URL -> {"callback_id", "secret"} made by /subscribe


def now_rfc3339():
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


# --- the hub's outgoing requests, seen --------------------------------------

real_request_url = hub_tasks.request_url


def logged_request_url(config, method, url, **kwargs):
    """Wraps the hub's verify / deny / push requests (hub.tasks' only way
    out) to record each one and its answer."""
    params = kwargs.get("params") or {}
    kind = "push" if method == "POST" else (
        "deny" if params.get("hub.mode") == "denied" else "verify")
    fields = {"kind": kind, "method": method, "callback": url,
              "mode": params.get("hub.mode"), "topic": params.get("hub.topic")}
    try:
        resp = real_request_url(config, method, url, **kwargs)
    except Exception as e:
        record("hub_request", **fields, status=None, error=repr(e))
        raise
    extra = {}
    if kind == "verify":
        extra["challenge_echoed"] = resp.text == params.get("hub.challenge")
    record("hub_request", **fields, status=resp.status_code,
           answer=resp.text[:500], **extra)
    return resp


hub_tasks.request_url = logged_request_url


# --- the publisher: Atom topics ----------------------------------------------

def topic_url(name):
    return request.host_url + ("feed" if name is None else f"feeds/{name}")


def hub_url():
    return request.host_url + "hub"


def atom(name):
    self_url, entries = topic_url(name), topics.get(name, [])
    updated = entries[0]["updated"] if entries else STARTED
    out = ['<?xml version="1.0" encoding="utf-8"?>',
           '<feed xmlns="http://www.w3.org/2005/Atom">',
           f"<id>{escape(self_url)}</id>",
           f"<title>websub peer {escape(name or 'feed')}</title>",
           f"<updated>{updated}</updated>",
           "<author><name>WebSub Peer</name></author>",
           f"<link rel=\"self\" href={quoteattr(self_url)}/>",
           f"<link rel=\"hub\" href={quoteattr(hub_url())}/>",
           f"<link rel=\"alternate\" href={quoteattr(request.host_url)}/>"]
    for e in entries:
        out += ["<entry>",
                f"<id>{escape(e['url'])}</id>",
                f"<title>{escape(e['title'])}</title>",
                f"<updated>{e['updated']}</updated>",
                f"<link rel=\"alternate\" href={quoteattr(e['url'])}/>",
                f"<content type={quoteattr(e['content_type'])}>{escape(e['content'])}</content>",
                "</entry>"]
    out.append("</feed>")
    return "\n".join(out) + "\n"


def serve_topic(name):
    resp = Response(atom(name), mimetype="application/atom+xml")
    resp.headers["Content-Type"] = "application/atom+xml; charset=utf-8"
    # The exact form flask-websub's @publisher writes, and its hub demands
    # (it looks for the substrings rel="self" and rel="hub"). The decorator
    # itself is not used: it keeps the first request's URL for every later one.
    resp.headers["Link"] = f'<{topic_url(name)}>; rel="self", <{hub_url()}>; rel="hub"'
    return resp


def add_entry(name):
    form = request.form
    if not form.get("id") or "title" not in form or "content" not in form:
        abort(400, "form fields id, title and content are required")
    content_type = form.get("content_type", "text")
    if content_type not in ("text", "html"):
        abort(400, "content_type is text or html")
    label = name or "feed"
    entry = {"id": form["id"], "title": form["title"], "content": form["content"],
             "content_type": content_type, "updated": now_rfc3339(),
             "url": request.host_url + f"entries/{label}/{form['id']}"}
    with lock:
        topics.setdefault(name, []).insert(0, entry)
    topic = topic_url(name)
    pushed_to = len(list(hub.storage.get_callbacks(topic)))
    # Eager: the hub fetches the topic and POSTs it to every subscriber
    # before this returns.
    result = hub.send_change_notification.delay(topic)
    if result.failed():
        return {"error": repr(result.result), "topic": topic}, 500
    return {"topic": topic, "entry": entry["url"], "subscribers": pushed_to}


# The shared topic is the one without a name.
@app.get("/feed", defaults={"name": None})
@app.get("/feeds/<name>")
def feed(name):
    return serve_topic(name)


@app.post("/feed/entries", defaults={"name": None})
@app.post("/feeds/<name>/entries")
def feed_entries(name):
    return add_entry(name)


@app.get("/entries/<name>/<entry_id>")
def entry_page(name, entry_id):
    key = None if name == "feed" else name
    for e in topics.get(key, []):
        if e["id"] == entry_id:
            return (f"<!doctype html><title>{escape(e['title'])}</title>"
                    f"<h1>{escape(e['title'])}</h1><p>{escape(e['content'])}</p>")
    abort(404)


# --- the subscriber -----------------------------------------------------------

@subscriber.add_success_handler
def on_verified(topic, callback_id, mode):
    record("verified", mode=mode, topic=topic, callback_id=callback_id,
           lease_seconds=request.args.get("hub.lease_seconds"),
           query=request.args.to_dict())


@subscriber.add_error_handler
def on_denied(topic, callback_id, reason):
    record("denied", mode="denied", topic=topic, callback_id=callback_id,
           reason=reason)


@subscriber.add_listener
def on_delivery(topic, callback_id, body):
    g.websub_accepted = True


@app.after_request
def record_callback(resp):
    """Records every POST to a callback (flask-websub answers 200 to a bad
    signature and drops it in silence: this says so) and every verification
    GET it refused."""
    parts = request.path.split("/")
    if len(parts) != 3 or parts[1] != "callbacks":
        return resp
    callback_id = parts[2]
    try:
        sub = subscriber.storage[callback_id]
    except KeyError:
        sub = {}
    if request.method == "POST":
        body = request.get_data()
        signature = request.headers.get("X-Hub-Signature")
        record("delivered", mode=None, topic=sub.get("topic_url"),
               callback_id=callback_id, status=resp.status_code,
               accepted=bool(g.get("websub_accepted")),
               body=body.decode("utf-8", "replace"), signature=signature,
               signature_valid=signature_valid(sub.get("secret"), signature, body),
               content_type=request.headers.get("Content-Type"),
               headers=dict(request.headers))
    elif request.method == "GET" and resp.status_code != 200:
        record("verify_refused", mode=request.args.get("hub.mode"),
               topic=request.args.get("hub.topic"), callback_id=callback_id,
               status=resp.status_code, answer=resp.get_data(as_text=True),
               query=request.args.to_dict())
    return resp


def signature_valid(secret, header, body):
    if not secret or not header or "=" not in header:
        return False
    algo, sig = header.split("=", 1)
    if algo not in ("sha1", "sha256", "sha384", "sha512"):
        return False
    expected = hmac.new(secret.encode(), body, getattr(hashlib, algo)).hexdigest()
    return hmac.compare_digest(sig, expected)


@app.get("/subscribe")
def subscribe():
    topic = request.args.get("topic")
    if not topic:
        abort(400, "?topic=URL is required")
    secret = secrets.token_hex(16)
    try:
        found = discover(topic, timeout=REQUEST_TIMEOUT)
        callback_id = subscriber.subscribe(secret=secret, lease_seconds=LEASE_SECONDS,
                                           **found)
    except FlaskWebSubError as e:
        cause = f" ({e.__cause__!r})" if e.__cause__ else ""
        return f"subscribe failed: {e}{cause}\n", 502
    except TypeError as e:
        # discover() feeds bytes to its HTML parser when the topic's
        # Content-Type names no charset (and is not text/*) and it must read
        # the body for the links (no Link header).
        logging.exception("discovery failed")
        return f"subscribe failed: discovery crashed: {e!r}\n", 502
    with lock:
        subscriptions[topic] = {"callback_id": callback_id, "secret": secret}
        subscriptions[found["topic_url"]] = subscriptions[topic]
    return callback_id


@app.get("/unsubscribe")
def unsubscribe():
    topic = request.args.get("topic")
    known = subscriptions.get(topic or "")
    if not known:
        abort(404, f"no subscription made by /subscribe?topic={topic}")
    try:
        subscriber.unsubscribe(known["callback_id"])
    except FlaskWebSubError as e:
        cause = f" ({e.__cause__!r})" if e.__cause__ else ""
        return f"unsubscribe failed: {e}{cause}\n", 502
    return known["callback_id"]


@app.errorhandler(400)
@app.errorhandler(404)
def plain_error(error):
    return error.description + "\n", error.code, {"Content-Type": "text/plain"}


if __name__ == "__main__":
    exit_with_parent(DIR)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    print(f"LISTENING {server.server_port}", flush=True)
    server.serve_forever()
