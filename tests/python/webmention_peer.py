"""An independent Webmention receiver and sender on loopback, for the tests
(tests/common/webmention_peer.rs starts it): Python django-wm 4.2.0 (without
celery) and mf2py 2.0.2, not roost's code. One threaded Django process serves

  POST /webmention/                  django-wm's receiving endpoint: checks the
                                     form, stores a pending mention, answers
                                     202 (verification waits for /process)
  GET  /webmention/get?url=PATH      django-wm's own public JSON of the
                                     approved, verified mentions of a page
  GET  /page/NAME                    a target page: an h-entry by "Peer
                                     Author" that advertises the endpoint (a
                                     Link header and a <link> element)
  GET  /source/NAME                  a page the test wrote (404 until then),
  POST /source/NAME                  form html: sets its <body> (an h-entry
                                     replying to, liking... a target)
  POST /send                         form source_page_name[, target]: django-wm
                                     discovers target's endpoint and sends a
                                     Webmention from /source/NAME (without a
                                     target: to every link in that page, as a
                                     django-wm site does when a post is saved)
  POST /process                      form what=incoming (default) | outgoing
                                     | all: runs django-wm's pending work now
                                     (what `manage.py mentions_pending` does),
                                     verifying what /webmention/ stored
  GET  /received[?target=URL]        every mention stored, oldest first, with
                                     what django-wm read of it and mf2py's
                                     reading of the very bytes it verified
  GET  /mf2?url=URL                  mf2py's parse of URL, as JSON

and appends one JSON object a line to DIR/events.jsonl for what happened:
  received        every POST to /webmention/: form, status, Content-Type
  processed       a mention verified (or not) by /process: see /received
  process_error   a pending mention whose processing raised (django-wm
                  would stop `mentions_pending` there; here the rest go on)
  sent            every /send: result, endpoint, status_code, message
  fetched         every request django-wm made: method, url, status, the
                  final url after redirects, Content-Type, Link, error

Usage: webmention_peer.py DIR. Binds 127.0.0.1 on a free port and prints
`LISTENING PORT` on stdout once serving (nothing else goes to stdout; logs go
to stderr). Exits, removing DIR, when the process that started it ends.
"""

import logging
import os
import sys
import threading
import traceback
from html import escape

from peer_support import event_recorder, exit_with_parent

try:
    import django
    import mf2py
    import requests
    from django.conf import settings
    from django.core.servers.basehttp import ThreadedWSGIServer, WSGIRequestHandler
except ImportError as e:
    sys.stderr.write(f"webmention_peer: {e}: run scripts/setup (it installs "
                     "tests/python/requirements.txt into .venv/)\n")
    sys.exit(3)

DIR = sys.argv[1]
EVENTS = os.path.join(DIR, "events.jsonl")
record = event_recorder(EVENTS)
# Every request django-wm makes waits this long at most (its default, 10 s).
REQUEST_TIMEOUT = 10

logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                    format="%(asctime)s %(name)s %(levelname)s %(message)s")


class LoggingHandler(WSGIRequestHandler):
    """Django's dev server handler, logging every request to stderr (its own
    keeps quiet about 2xx unless DEBUG)."""

    def log_message(self, format, *args):
        sys.stderr.write("%s %s\n" % (self.address_string(), format % args))


# Bound before Django is configured: django-wm builds the source URLs it
# sends from DOMAIN_NAME, which must hold the port.
server = ThreadedWSGIServer(("127.0.0.1", 0), LoggingHandler)
PORT = server.server_port
BASE = f"http://127.0.0.1:{PORT}"

settings.configure(
    DEBUG=False,
    SECRET_KEY="webmention-peer",
    ROOT_URLCONF="__main__",
    USE_TZ=True,
    # django-wm accepts a mention only for a target whose host is listed here
    # (and Django answers 400 to a request whose Host is not).
    ALLOWED_HOSTS=["127.0.0.1", "localhost"],
    DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3",
                           "NAME": os.path.join(DIR, "db.sqlite3"),
                           "OPTIONS": {"timeout": 20}}},
    INSTALLED_APPS=["django.contrib.contenttypes", "django.contrib.auth", "mentions"],
    MIDDLEWARE=["__main__.record_received",
                "mentions.middleware.WebmentionHeadMiddleware"],
    TEMPLATES=[{"BACKEND": "django.template.backends.django.DjangoTemplates",
                "APP_DIRS": True}],
    DEFAULT_AUTO_FIELD="django.db.models.AutoField",
    DOMAIN_NAME=f"127.0.0.1:{PORT}",
    WEBMENTIONS_URL_SCHEME="http",
    WEBMENTIONS_USE_CELERY=False,
    WEBMENTIONS_AUTO_APPROVE=True,
    WEBMENTIONS_ALLOW_OUTGOING_DEFAULT=True,
    # A failed verification or send may be retried by the next /process at
    # once (django-wm waits 10 minutes); still at most 5 attempts.
    WEBMENTIONS_RETRY_INTERVAL=0,
    WEBMENTIONS_TIMEOUT=REQUEST_TIMEOUT,
    LOGGING_CONFIG=None,
    # Tables made straight from the models (migrate --run-syncdb): the
    # migrations would take seconds at every start.
    MIGRATION_MODULES={"contenttypes": None, "auth": None, "mentions": None},
)
django.setup()

from django.core.management import call_command  # noqa: E402
from django.http import HttpResponse, JsonResponse  # noqa: E402
from django.urls import include, path  # noqa: E402
from django.views.decorators.http import require_GET, require_POST  # noqa: E402

import mentions.util.requests as wm_http  # noqa: E402
from mentions.models import (  # noqa: E402
    OutgoingWebmentionStatus,
    PendingIncomingWebmention,
    Webmention,
)
from mentions.tasks.incoming import process as wm_incoming  # noqa: E402
from mentions.tasks.outgoing import process_outgoing_webmentions  # noqa: E402
from mentions.tasks.outgoing.remote import try_send_webmention  # noqa: E402
from mentions.tasks.scheduling import _handle_pending_outgoing  # noqa: E402
from mentions.templatetags.webmentions import webmentions_endpoint  # noqa: E402

# One /process or /send at a time: django-wm marks a send as awaiting retry
# before it is made, so an outgoing /process could send it again meanwhile.
work_lock = threading.Lock()
pages = {}                       # ("source" | "page", NAME) -> body HTML
verified_html = {}               # source URL -> the HTML django-wm verified


# --- what django-wm does on the network, seen ---------------------------------

class LoggedRequests:
    """Stands in for the `requests` module inside mentions.util.requests, the
    one place django-wm's GETs (targets, sources) and POSTs (endpoints) go
    through, to record each one and its answer."""

    @staticmethod
    def get(url, **kwargs):
        return LoggedRequests._logged("GET", url, kwargs)

    @staticmethod
    def post(url, **kwargs):
        return LoggedRequests._logged("POST", url, kwargs)

    @staticmethod
    def _logged(method, url, kwargs):
        fields = {"method": method, "url": url, "data": kwargs.get("data")}
        try:
            resp = requests.request(method, url, **kwargs)
        except Exception as e:
            record("fetched", **fields, status=None, error=repr(e))
            raise
        record("fetched", **fields, status=resp.status_code, final_url=resp.url,
               redirects=[r.status_code for r in resp.history],
               content_type=resp.headers.get("Content-Type"),
               link=resp.headers.get("Link"), location=resp.headers.get("Location"),
               body=resp.text[:2000] if method == "POST" else None)
        return resp


wm_http.requests = LoggedRequests

real_get_source_html = wm_incoming.get_source_html


def recording_get_source_html(source_url):
    """Keeps the HTML django-wm verifies, for mf2py to read the same bytes."""
    html = real_get_source_html(source_url)
    verified_html[source_url] = html
    return html


wm_incoming.get_source_html = recording_get_source_html


# --- the receiver ---------------------------------------------------------------

def record_received(get_response):
    """Middleware: records every POST to django-wm's endpoint and its answer."""

    def middleware(request):
        resp = get_response(request)
        if request.method == "POST" and request.path == "/webmention/":
            record("received", form=request.POST.dict(), status=resp.status_code,
                   content_type=request.headers.get("Content-Type"),
                   user_agent=request.headers.get("User-Agent"))
        return resp

    return middleware


def mention_json(w):
    """A stored mention: django-wm's reading, and mf2py's of the same HTML."""
    hcard = None
    if w.hcard:
        hcard = {"name": w.hcard.name, "avatar": w.hcard.avatar,
                 "homepage": w.hcard.homepage}
    html = verified_html.get(w.source_url)
    entry = first_entry(mf2py.parse(doc=html, url=w.source_url)) if html else None
    content = None
    if entry and entry["properties"].get("content"):
        c = entry["properties"]["content"][0]
        content = c.get("value") if isinstance(c, dict) else c
    return {
        "id": w.id,
        "source": w.source_url,
        "target": w.target_url,
        "validated": w.validated,
        "approved": w.approved,
        # django-wm's own: the class on the first <a> to the target.
        "post_type": w.post_type,
        # As django-wm's JSON API names it: a mention without one is a
        # "webmention".
        "type": w.post_type or "webmention",
        "author": hcard,
        "notes": w.notes,
        "sent_by": w.sent_by,
        "created_at": w.created_at.isoformat(),
        "entry": entry,
        "content": content,
    }


def first_entry(parsed):
    """The first h-entry of an mf2 parse, at the top or in an h-feed."""
    for item in parsed.get("items", []):
        if "h-entry" in item.get("type", []):
            return item
        for child in item.get("children", []):
            if "h-entry" in child.get("type", []):
                return child
    return None


def pending_json():
    return [{"source": p.source_url, "target": p.target_url,
             "attempts": p.retry_attempt_count, "awaiting_retry": p.is_awaiting_retry}
            for p in PendingIncomingWebmention.objects.order_by("created_at")]


@require_POST
def process(request):
    """POST /process: django-wm's pending work, now. Each pending mention is
    processed as `mentions_pending` does, but one that raises is recorded and
    the rest still go on."""
    what = request.POST.get("what", "incoming")
    if what not in ("incoming", "outgoing", "all"):
        return HttpResponse("what is incoming, outgoing or all\n", status=400,
                            content_type="text/plain")
    processed, errors = [], []
    with work_lock:
        before = set(Webmention.objects.values_list("id", flat=True))
        if what in ("incoming", "all"):
            for pending in PendingIncomingWebmention.objects.filter(is_awaiting_retry=True):
                if not pending.can_retry():
                    continue
                try:
                    wm_incoming.process_incoming_webmention(
                        pending.source_url, pending.target_url, pending.sent_by)
                except Exception as e:
                    error = {"source": pending.source_url, "target": pending.target_url,
                             "error": repr(e), "traceback": traceback.format_exc()}
                    errors.append(error)
                    record("process_error", **error)
                    continue
                pending.refresh_from_db()
                if pending.is_retry_successful:
                    pending.delete()
        if what in ("outgoing", "all"):
            _handle_pending_outgoing()
        for w in Webmention.objects.exclude(id__in=before).order_by("id"):
            m = mention_json(w)
            processed.append(m)
            record("processed", **m)
    return JsonResponse({"processed": processed, "errors": errors,
                         "pending": pending_json()})


@require_GET
def received(request):
    """GET /received[?target=URL]: every stored mention, oldest first."""
    mentions = Webmention.objects.order_by("id")
    target = request.GET.get("target")
    if target:
        mentions = mentions.filter(target_url=target)
    return JsonResponse({"mentions": [mention_json(w) for w in mentions],
                         "pending": pending_json()})


# --- pages ------------------------------------------------------------------------

def html_page(title, body):
    # The <link> is django-wm's own template tag's; its middleware adds the
    # Link header to every answer.
    return HttpResponse(
        f"<!doctype html>\n<html><head><meta charset=\"utf-8\">"
        f"<title>{escape(title)}</title>{webmentions_endpoint()}</head>\n"
        f"<body>\n{body}\n</body></html>\n",
        content_type="text/html; charset=utf-8")


def default_target_body(name):
    url = f"{BASE}/page/{name}"
    return (f'<article class="h-entry">\n'
            f'<h1 class="p-name">Peer page {escape(name)}</h1>\n'
            f'<a class="p-author h-card" href="{BASE}/">Peer Author</a>\n'
            f'<div class="e-content"><p>A page of the Webmention peer, '
            f'{escape(name)}.</p></div>\n'
            f'<a class="u-url" href="{escape(url)}">permalink</a>\n'
            f'</article>')


def page(request, name):
    """GET /page/NAME: a target; POST (form html) replaces its body."""
    if request.method == "POST":
        return set_body(request, "page", name)
    body = pages.get(("page", name)) or default_target_body(name)
    return html_page(f"Peer page {name}", body)


def source(request, name):
    """GET /source/NAME: the page the test set with POST (form html)."""
    if request.method == "POST":
        return set_body(request, "source", name)
    body = pages.get(("source", name))
    if body is None:
        return HttpResponse(f"no source {name}: POST its html first\n", status=404,
                            content_type="text/plain")
    return html_page(f"Peer source {name}", body)


def set_body(request, kind, name):
    html = request.POST.get("html")
    if html is None:
        return HttpResponse("form field html is required\n", status=400,
                            content_type="text/plain")
    pages[(kind, name)] = html
    return JsonResponse({"url": f"{BASE}/{kind}/{name}"})


# --- the sender ---------------------------------------------------------------------

@require_POST
def send(request):
    """POST /send: django-wm sends a Webmention from /source/NAME."""
    name = request.POST.get("source_page_name")
    if not name or ("source", name) not in pages:
        return HttpResponse("source_page_name must name a page set with POST "
                            "/source/NAME\n", status=400, content_type="text/plain")
    with work_lock:
        return send_from(f"/source/{name}", name, request.POST.get("target"))


def send_from(source_path, name, target):
    if not target:
        sent = process_outgoing_webmentions(source_path, pages[("source", name)])
        statuses = [outgoing_json(s) for s in
                    OutgoingWebmentionStatus.objects.filter(source_url=source_path)
                    .order_by("id")]
        record("sent", source=BASE + source_path, target=None, sent=sent,
               statuses=statuses)
        return JsonResponse({"source": BASE + source_path, "sent": sent,
                             "statuses": statuses})
    result = try_send_webmention(source_path, target, None)
    status = (OutgoingWebmentionStatus.objects
              .filter(source_url=source_path, target_url=target).order_by("-id").first())
    answer = {"source": BASE + source_path, "target": target,
              # True: the endpoint answered < 300; False: it answered other;
              # None: no endpoint found, or the target could not be fetched.
              "result": {True: "sent", False: "refused", None: "no_endpoint"}[result],
              **outgoing_json(status)}
    if result is None and status and status.retry_attempt_count:
        answer["result"] = "target_failed"
    record("sent", **answer)
    return JsonResponse(answer)


def outgoing_json(status):
    if status is None:
        return {}
    return {"target": status.target_url, "endpoint": status.target_webmention_endpoint,
            "status_code": status.response_code or None,
            "message": status.status_message, "successful": status.successful,
            "attempts": status.retry_attempt_count}


# --- mf2py ------------------------------------------------------------------------------

@require_GET
def mf2(request):
    """GET /mf2?url=URL: mf2py fetches URL and parses it."""
    url = request.GET.get("url")
    if not url:
        return HttpResponse("?url=URL is required\n", status=400,
                            content_type="text/plain")
    try:
        parsed = mf2py.parse(url=url)
    except Exception as e:
        return HttpResponse(f"mf2py failed: {e!r}\n", status=502,
                            content_type="text/plain")
    return JsonResponse(parsed)


def home(request):
    return html_page("Webmention peer",
                     '<div class="h-card"><a class="p-name u-url" href="/">Peer Author</a></div>')


urlpatterns = [
    path("", home),
    path("webmention/", include("mentions.urls")),
    path("page/<str:name>", page),
    path("source/<str:name>", source),
    path("send", send),
    path("process", process),
    path("received", received),
    path("mf2", mf2),
]


if __name__ == "__main__":
    exit_with_parent(DIR)
    call_command("migrate", run_syncdb=True, verbosity=0)
    from django.core.wsgi import get_wsgi_application
    server.set_app(get_wsgi_application())
    print(f"LISTENING {PORT}", flush=True)
    server.serve_forever()
