"""Reads roost's feeds as independent readers do, for tests/feed_validity.rs.

Usage: read_feeds.py MANIFEST. MANIFEST is a JSON list of cases, each
{"atom": PATH, "rss": PATH, "json": PATH}. Prints one JSON list with, per
case and format, what a strict XML parser (expat, through ElementTree) said,
what feedparser read (bozo, feed and entry fields, dates as Unix seconds) and
what the strict parser read in the elements owner input reaches (titles,
descriptions, thr:in-reply-to, which feedparser does not read). feedparser
6.0.x, the newest release, does not read JSON Feed: the JSON is read with
the json module, which is strict. The assertions are in the Rust test.
"""

import calendar
import html.parser
import json
import sys
import xml.etree.ElementTree as ET

import feedparser

THR = "{http://purl.org/syndication/thread/1.0}in-reply-to"


class _Text(html.parser.HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts = []

    def handle_data(self, data):
        self.parts.append(data)


def html_text(markup):
    """The text a reader shows for an HTML fragment: tags dropped, references decoded."""
    parser = _Text()
    parser.feed(markup)
    parser.close()
    return "".join(parser.parts)


def seconds(parsed):
    return None if parsed is None else calendar.timegm(parsed)


ATOM = "{http://www.w3.org/2005/Atom}"


def strict_xml(raw):
    """None if `raw` is well-formed namespaced XML, else the parser's complaint;
    and the text of the elements the owner's input reaches, exactly as an XML
    parser reads them: the feed's title and description (subtitle), and each
    entry's or item's title and in-reply-to attributes, in order."""
    try:
        root = ET.fromstring(raw)
    except ET.ParseError as e:
        return str(e), {}
    channel = root.find("channel")
    head = root if channel is None else channel
    ns = ATOM if channel is None else ""
    fields = {
        "title": head.findtext(ns + "title"),
        "subtitle": head.findtext(ns + ("subtitle" if channel is None else "description")),
        "entries": [],
    }
    for entry in head.iter(ns + ("entry" if channel is None else "item")):
        thr = entry.find(THR)
        fields["entries"].append({
            "title": entry.findtext(ns + "title"),
            "in_reply_to": None if thr is None else {"ref": thr.get("ref"), "href": thr.get("href")},
        })
    return None, fields


def text_of(detail):
    """A title as text, whatever type the reader decided it was."""
    if detail is None:
        return None
    value = detail.get("value")
    if detail.get("type") in ("text/html", "application/xhtml+xml"):
        return html_text(value)
    return value


def read_xml(path):
    raw = open(path, "rb").read()
    error, fields = strict_xml(raw)
    d = feedparser.parse(raw)
    feed = d.feed
    out = {
        "xml_error": error,
        "xml": fields,
        "bozo": int(d.bozo),
        "bozo_exception": str(d.get("bozo_exception", "")),
        "version": d.version,
        "feed": {
            "title": text_of(feed.get("title_detail")),
            "subtitle": text_of(feed.get("subtitle_detail")),
            "link": feed.get("link"),
            "self": next((l.get("href") for l in feed.get("links", []) if l.get("rel") == "self"), None),
            "language": feed.get("language"),
            "updated": seconds(feed.get("updated_parsed")),
            "author": feed.get("author"),
        },
        "entries": [],
    }
    for e in d.entries:
        content = e.get("content", [{}])[0].get("value") if e.get("content") else e.get("summary")
        out["entries"].append({
            "title": text_of(e.get("title_detail")),
            "title_type": (e.get("title_detail") or {}).get("type"),
            "link": e.get("link"),
            "id": e.get("id"),
            "guidislink": e.get("guidislink"),
            "published": seconds(e.get("published_parsed")),
            "updated": seconds(e.get("updated_parsed")),
            "content_text": None if content is None else html_text(content),
        })
    return out


def read_json(path):
    raw = open(path, "rb").read()
    try:
        doc = json.loads(raw.decode("utf-8"))
    except ValueError as e:
        return {"json_error": str(e)}
    return {
        "json_error": None,
        "feed": {"title": doc.get("title"), "description": doc.get("description"),
                 "link": doc.get("home_page_url"), "self": doc.get("feed_url"),
                 "language": doc.get("language")},
        "entries": [{
            "id": item.get("id"),
            "link": item.get("url"),
            "content_text": html_text(item.get("content_html", "")),
            "text": item.get("content_text"),
            "published": item.get("date_published"),
            "updated": item.get("date_modified"),
            "in_reply_to": (item.get("_thread") or {}).get("in_reply_to"),
        } for item in doc.get("items", [])],
    }


def main():
    cases = json.load(open(sys.argv[1], encoding="utf-8"))
    result = [{"atom": read_xml(c["atom"]), "rss": read_xml(c["rss"]), "json": read_json(c["json"])}
              for c in cases]
    json.dump(result, sys.stdout, ensure_ascii=True)


if __name__ == "__main__":
    main()
