"""An independent IndieAuth + Micropub client, written from the specs
(IndieAuth 2024-08-05, Micropub 2017-05-23) with requests, mf2py and
beautifulsoup4 only (tests/micropub.rs runs it; indieweb-utils 0.10.0 was
the first choice, but importing it pulls granary and 110 packages, 315 MB).

    micropub_client.py ME COOKIE TEXT [PHOTO]
    micropub_client.py --sign-in ME COOKIE


ME is the roost's URL, COOKIE the owner's session cookie ("name=value"),
which the consent page is shown and submitted with, as the owner's browser
would. Prints one JSON object: what was discovered, the token response and
the answers to a form and a JSON create. With PHOTO (a JPEG file) the app
also asks for the media scope, uploads the photo to the media endpoint that
q=config names, posts it with alt text by JSON and as a file of a
multipart create (Micropub 3.6-3.7), and reads both posts back with mf2py.
With --sign-in it is instead another IndieWeb site the owner signs in to
with their roost URL (IndieAuth 5.3.3, profile only): the code is redeemed
at the authorization endpoint, and the answer's me and profile are printed.
Exits non-zero, saying why, on any step that breaks the specs."""

import base64
import hashlib
import json
import secrets
import sys
import urllib.parse

import mf2py
import requests
from bs4 import BeautifulSoup

CLIENT_ID = "http://127.0.0.1:9/"
REDIRECT = "http://127.0.0.1:9/callback"


def fail(why):
    print(why, file=sys.stderr)
    sys.exit(1)


def discover(me):
    """IndieAuth 4.1: the indieauth-metadata rel, from the Link header
    first, then the HTML; Micropub 5.3: the micropub rel, likewise."""
    page = requests.get(me, timeout=10)
    page.raise_for_status()
    rels = mf2py.parse(doc=page.text, url=page.url)["rels"]

    def rel(name):
        if name in page.links:
            return urllib.parse.urljoin(page.url, page.links[name]["url"])
        if rels.get(name):
            return rels[name][0]
        fail(f"no rel={name} on {me}")

    meta_url = rel("indieauth-metadata")
    metadata = requests.get(meta_url, timeout=10).json()
    if not meta_url.startswith(metadata["issuer"]):
        fail(f"issuer {metadata['issuer']} is not a prefix of {meta_url}")
    if "S256" not in metadata.get("code_challenge_methods_supported", []):
        fail("no S256 in the metadata")
    return metadata, rel("micropub"), rel("authorization_endpoint"), rel("token_endpoint")


def authorize(metadata, me, cookie, scope="create profile"):
    """IndieAuth 5.2-5.3.1: the request with PKCE S256 and state, the consent
    form sent back as a browser would, the redirect's state and iss checked."""
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    state = secrets.token_urlsafe(12)
    params = {
        "response_type": "code", "client_id": CLIENT_ID, "redirect_uri": REDIRECT, "state": state,
        "code_challenge": challenge, "code_challenge_method": "S256", "scope": scope, "me": me,
    }
    url = metadata["authorization_endpoint"] + "?" + urllib.parse.urlencode(params)
    headers = {"Cookie": cookie}
    page = requests.get(url, headers=headers, allow_redirects=False, timeout=10)
    if page.status_code != 200:
        fail(f"consent page: {page.status_code} {page.text[:500]}")
    form = BeautifulSoup(page.text, "html.parser").find("form", attrs={"method": "post", "action": lambda a: a and a.endswith("/auth/approve")})
    if form is None:
        fail("no consent form on the page")
    fields = {i["name"]: i.get("value", "") for i in form.find_all("input") if i.get("name")}
    fields["allow"] = "1"  # the Allow button
    action = urllib.parse.urljoin(page.url, form["action"])
    answer = requests.post(action, data=fields, headers=headers, allow_redirects=False, timeout=10)
    if answer.status_code not in (302, 303):
        fail(f"approval: {answer.status_code} {answer.text[:500]}")
    location = answer.headers["Location"]
    if not location.startswith(REDIRECT):
        fail(f"redirected to {location}")
    back = dict(urllib.parse.parse_qsl(urllib.parse.urlparse(location).query))
    if back.get("state") != state:
        fail(f"state {back.get('state')} is not {state}")
    if back.get("iss") != metadata["issuer"]:
        fail(f"iss {back.get('iss')} is not the issuer {metadata['issuer']}")
    return back["code"], verifier


def exchange(endpoint, code, verifier):
    """IndieAuth 5.3.2-5.3.3: the code and verifier redeemed at `endpoint`
    (the token endpoint for a token, the authorization endpoint for me)."""
    answer = requests.post(endpoint, data={
        "grant_type": "authorization_code", "code": code, "client_id": CLIENT_ID,
        "redirect_uri": REDIRECT, "code_verifier": verifier,
    }, headers={"Accept": "application/json"}, timeout=10)
    if answer.status_code != 200:
        fail(f"{endpoint}: {answer.status_code} {answer.text}")
    return answer.json()


def sign_in(me, cookie):
    """IndieAuth 5.3.3 and 5.3.4: the site the owner signs in to redeems the
    code at the authorization endpoint (no token), then checks that the
    returned me is on the issuer's own site (the discovered server speaks
    for it) before trusting it."""
    metadata, _, _, _ = discover(me)
    code, verifier = authorize(metadata, me, cookie, scope="profile")
    body = exchange(metadata["authorization_endpoint"], code, verifier)
    if "access_token" in body:
        fail("the authorization endpoint gave an access token")
    confirmed, _, _, _ = discover(body["me"])
    if confirmed["authorization_endpoint"] != metadata["authorization_endpoint"]:
        fail(f"{body['me']} names another authorization endpoint")
    print(json.dumps({"answer": body}))


def main():
    if sys.argv[1] == "--sign-in":
        return sign_in(sys.argv[2], sys.argv[3])
    me, cookie, text = sys.argv[1], sys.argv[2], sys.argv[3]
    photo = sys.argv[4] if len(sys.argv) > 4 else None
    metadata, micropub, auth_rel, token_rel = discover(me)
    scope = "create media profile" if photo else "create profile"
    code, verifier = authorize(metadata, me, cookie, scope)
    token = exchange(metadata["token_endpoint"], code, verifier)
    if token.get("me") != me:
        fail(f"the token is for {token.get('me')}, not {me}")
    bearer = {"Authorization": "Bearer " + token["access_token"]}
    form = requests.post(micropub, headers=bearer, data={"h": "entry", "content": text, "category[]": ["a", "b"]}, timeout=10)
    as_json = requests.post(micropub, headers=bearer, json={"type": ["h-entry"], "properties": {"content": [text + " (JSON)"]}}, timeout=10)
    in_body = requests.post(micropub, data={"h": "entry", "content": text + " (token in body)", "access_token": token["access_token"]}, timeout=10)
    config = requests.get(micropub, headers=bearer, params={"q": "config"}, timeout=10)
    source = requests.get(micropub, headers=bearer, params={"q": "source", "url": form.headers.get("Location", "")}, timeout=10)
    report = {
        "issuer": metadata["issuer"],
        "authorization_endpoint_rel": auth_rel,
        "token_endpoint_rel": token_rel,
        "micropub": micropub,
        "token": {k: v for k, v in token.items() if k != "access_token"},
        "creates": [{"status": r.status_code, "location": r.headers.get("Location"), "body": r.text}
                    for r in (form, as_json, in_body)],
        "config": config.json(),
        "source": source.json(),
    }
    if photo:
        report["photos"] = post_photos(micropub, bearer, config.json(), text, photo)
    print(json.dumps(report))


def mf2_photos(url):
    """The h-entry's photo property as mf2py reads the post's page."""
    page = requests.get(url, timeout=10)
    items = mf2py.parse(doc=page.text, url=page.url)["items"]
    entries = [i for i in items if "h-entry" in i["type"]]
    return entries[0]["properties"].get("photo", []) if entries else []


def post_photos(micropub, bearer, config, text, path):
    """Micropub 3.6.1-3.7: the media endpoint from q=config, a file uploaded
    there (201 + Location), that URL posted with alt text, and the same file
    sent as a multipart create."""
    endpoint = config.get("media-endpoint")
    if not endpoint:
        fail(f"no media-endpoint in q=config: {config}")
    with open(path, "rb") as f:
        data = f.read()
    upload = requests.post(endpoint, headers=bearer, files={"file": ("photo.jpg", data, "image/jpeg")}, timeout=30)
    if upload.status_code != 201 or "Location" not in upload.headers:
        fail(f"media endpoint: {upload.status_code} {upload.text}")
    alt = "A photo posted by an independent client"
    with_alt = requests.post(micropub, headers=bearer, json={"type": ["h-entry"], "properties": {
        "content": [text + " (photo)"], "photo": [{"value": upload.headers["Location"], "alt": alt}]}}, timeout=30)
    multipart = requests.post(micropub, headers=bearer, data={"h": "entry", "content": text + " (multipart)"},
                              files={"photo": ("photo.jpg", data, "image/jpeg")}, timeout=30)
    return {
        "upload": {"status": upload.status_code, "location": upload.headers["Location"]},
        "with_alt": {"status": with_alt.status_code, "mf2": mf2_photos(with_alt.headers.get("Location", ""))},
        "multipart": {"status": multipart.status_code, "mf2": mf2_photos(multipart.headers.get("Location", ""))},
    }


main()
