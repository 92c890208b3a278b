"""Checks and makes HTTP signatures with libraries that are not roost's, for
the tests (tests/common/http_signatures.rs runs it): http-message-signatures
3.0.0 (RFC 9421 HTTP Message Signatures) and pyhttpsig 1.3.0
(draft-cavage-http-signatures-12, as Mastodon signs).

Reads one JSON object on stdin, prints one JSON object on stdout:

  {"action": "verify", "method", "url" (absolute: scheme, host, path, query),
   "headers": [[name, value], ...] (as sent, repeated names allowed),
   "body_b64", "public_key_pem"}
  -> {"rfc9421": {"present", "verified", "covered" [component ids],
                  "key_id", "alg", "created", "error"},
      "cavage":  {"present", "verified", "headers" [the signed ones],
                  "key_id", "algorithm", "error"},
      "digest": {"digest": true/false/null (Digest: SHA-256= matches the
                 body; null: no such header), "content_digest": the same for
                 Content-Digest}}
  Both schemes are checked whenever their headers are there (`Signature-Input`
  for RFC 9421; a `Signature` with `keyId=` for cavage). RFC 9421 checks the
  signed Content-Digest against the body too (a body needs one), and
  signatures up to a day old.

  {"action": "sign", "scheme": "rfc9421" | "cavage", "method", "url",
   "headers": [[name, value], ...], "body_b64", "private_key_pem", "key_id",
   "covered": [...] (optional: RFC 9421 component ids, default @method
   @target-uri @authority content-type date, plus content-digest with a body;
   cavage header names, default (request-target) host date, plus digest with
   a body)}
  -> {"headers": [[name, value], ...]} the request's headers with what
     signing added: Date and Host when missing, Content-Digest (RFC 9421) or
     Digest (cavage) for a body, Signature-Input + Signature or Signature.

  {"action": "keygen", "type": "rsa" | "ed25519", "bits": 2048 (rsa)}
  -> {"private_key_pem" (PKCS#8), "public_key_pem" (SubjectPublicKeyInfo)}

Keys: RSA (rsa-v1_5-sha256 / rsa-sha256) or, for RFC 9421, Ed25519. A bad
request exits 2 with the reason on stderr; a failed verification is not an
error (verified false, and why).
"""

import base64
import email.utils
import hashlib
import json
import sys
import urllib.parse

try:
    import httpsig
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ed25519, rsa
    from http_message_signatures import (HTTPMessageSigner, HTTPMessageVerifier,
                                         HTTPSignatureKeyResolver, algorithms)
except ImportError as e:
    sys.stderr.write(f"http_signatures: {e}: run scripts/setup (it installs "
                     "tests/python/requirements.txt into .venv/)\n")
    sys.exit(3)


class Message:
    """The request as http-message-signatures reads it: method, url, headers
    (a dict; its view keeps the names' case, compares without it)."""

    def __init__(self, method, url, headers):
        self.method, self.url, self.headers = method, url, headers


class Keys(HTTPSignatureKeyResolver):
    def __init__(self, public=None, private=None):
        self.public, self.private = public, private

    def resolve_public_key(self, key_id):
        return self.public

    def resolve_private_key(self, key_id):
        return self.private


def rfc9421_algorithm(key, alg=None):
    """The http-message-signatures algorithm: the one `alg` names, else the
    key's usual one."""
    by_id = {a.algorithm_id: a for a in (algorithms.RSA_V1_5_SHA256, algorithms.RSA_PSS_SHA512,
                                         algorithms.ED25519, algorithms.ECDSA_P256_SHA256)}
    if alg is not None:
        if alg not in by_id:
            raise ValueError(f"alg {alg!r} is none of {sorted(by_id)}")
        return by_id[alg]
    if isinstance(key, (ed25519.Ed25519PrivateKey, ed25519.Ed25519PublicKey)):
        return algorithms.ED25519
    return algorithms.RSA_V1_5_SHA256


def header_dict(pairs):
    """Repeated names joined with ", " (as HTTP does), first spelling kept."""
    out = {}
    for name, value in pairs:
        for have in out:
            if have.lower() == name.lower():
                out[have] += ", " + value
                break
        else:
            out[name] = value
    return out


def get(headers, name):
    return next((v for k, v in headers.items() if k.lower() == name.lower()), None)


def digest_matches(value, body, prefix, sep, encode):
    """Does a Digest / Content-Digest value carry the body's SHA-256?"""
    if value is None:
        return None
    want = encode(base64.b64encode(hashlib.sha256(body).digest()).decode())
    for part in value.split(","):
        part = part.strip()
        name, _, got = part.partition(sep)
        if name.strip().lower() == prefix:
            return got.strip() == want
    return False


def path_of(url):
    u = urllib.parse.urlsplit(url)
    return (u.path or "/") + ("?" + u.query if u.query else "")


def verify(req):
    headers = header_dict(req["headers"])
    body = base64.b64decode(req.get("body_b64", ""))
    public = serialization.load_pem_public_key(req["public_key_pem"].encode())
    out = {
        "digest": {
            "digest": digest_matches(get(headers, "Digest"), body, "sha-256", "=", lambda b: b),
            "content_digest": digest_matches(get(headers, "Content-Digest"), body, "sha-256", "=",
                                             lambda b: f":{b}:"),
        },
    }

    r = {"present": get(headers, "Signature-Input") is not None, "verified": False}
    if r["present"]:
        try:
            inp = get(headers, "Signature-Input")
            alg = None
            if 'alg="' in inp:
                alg = inp.split('alg="', 1)[1].split('"', 1)[0]
            verifier = HTTPMessageVerifier(signature_algorithm=rfc9421_algorithm(public, alg),
                                           key_resolver=Keys(public=public))
            results = verifier.verify(Message(req["method"], req["url"], headers),
                                      body=body if body or get(headers, "Content-Digest") else None)
            res = results[0]
            params = dict(res.parameters)
            r.update(verified=True, covered=[c.strip('"') for c in res.covered_components],
                     key_id=params.get("keyid"), alg=params.get("alg"), created=params.get("created"))
        except Exception as e:  # noqa: BLE001 - any failure is the answer
            r["error"] = f"{type(e).__name__}: {e}"
    out["rfc9421"] = r

    c = {"present": False, "verified": False}
    sig = get(headers, "Signature")
    if sig is not None and "keyId=" in sig:
        c["present"] = True
        try:
            fields = httpsig.utils.parse_signature_header(sig)
            c.update(headers=fields.get("headers", "date").split(" "), key_id=fields.get("keyId", fields.get("keyid")),
                     algorithm=fields.get("algorithm"))
            if fields.get("algorithm") == "hs2019" and isinstance(public, rsa.RSAPublicKey):
                # hs2019 names no algorithm; with an RSA key everyone means
                # RSASSA-PKCS1-v1_5 SHA-256, which is all pyhttpsig knows.
                headers = dict(headers)
                for k in headers:
                    if k.lower() == "signature":
                        headers[k] = headers[k].replace('algorithm="hs2019"', 'algorithm="rsa-sha256"')
            pem = public.public_bytes(serialization.Encoding.PEM,
                                      serialization.PublicFormat.SubjectPublicKeyInfo)
            host = urllib.parse.urlsplit(req["url"]).netloc
            ok = httpsig.HeaderVerifier(headers, pem, required_headers=[], method=req["method"],
                                        path=path_of(req["url"]), host=host,
                                        sign_header="Signature").verify()
            c["verified"] = bool(ok)
            if not ok:
                c["error"] = "the signature does not match"
        except Exception as e:  # noqa: BLE001 - any failure is the answer
            c["error"] = f"{type(e).__name__}: {e}"
    out["cavage"] = c
    return out


def sign(req):
    headers = header_dict(req.get("headers", []))
    body = base64.b64decode(req.get("body_b64", ""))
    private = serialization.load_pem_private_key(req["private_key_pem"].encode(), password=None)
    url, method, key_id = req["url"], req["method"], req["key_id"]
    if get(headers, "Date") is None:
        headers["Date"] = email.utils.formatdate(usegmt=True)
    if get(headers, "Host") is None:
        headers["Host"] = urllib.parse.urlsplit(url).netloc
    scheme = req["scheme"]
    if scheme == "rfc9421":
        covered = req.get("covered") or [c for c in ("@method", "@target-uri", "@authority",
                                                     "content-type", "date")
                                         if not c[0].isalpha() or get(headers, c) is not None]
        signer = HTTPMessageSigner(signature_algorithm=rfc9421_algorithm(private), key_resolver=Keys(private=private))
        # With a body, the signer adds Content-Digest and covers it.
        signer.sign(Message(method, url, headers), key_id=key_id, label="sig1",
                    covered_component_ids=tuple(covered), body=body if body else None)
    elif scheme == "cavage":
        if not isinstance(private, rsa.RSAPrivateKey):
            raise ValueError("cavage signing here is RSA only (pyhttpsig)")
        covered = req.get("covered") or ["(request-target)", "host", "date"]
        if body and not req.get("covered"):
            covered.append("digest")
        if "digest" in covered and get(headers, "Digest") is None:
            headers["Digest"] = "SHA-256=" + base64.b64encode(hashlib.sha256(body).digest()).decode()
        pem = private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption())
        signer = httpsig.HeaderSigner(key_id, pem, algorithm="rsa-sha256", headers=covered,
                                      sign_header="Signature")
        headers = signer.sign(headers, method=method, path=path_of(url))
    else:
        raise ValueError(f"scheme must be rfc9421 or cavage, not {scheme!r}")
    return {"headers": [[k, v] for k, v in headers.items()]}


def keygen(req):
    kind = req.get("type", "rsa")
    if kind == "rsa":
        key = rsa.generate_private_key(public_exponent=65537, key_size=int(req.get("bits", 2048)))
    elif kind == "ed25519":
        key = ed25519.Ed25519PrivateKey.generate()
    else:
        raise ValueError(f"type must be rsa or ed25519, not {kind!r}")
    return {
        "private_key_pem": key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                             serialization.NoEncryption()).decode(),
        "public_key_pem": key.public_key().public_bytes(serialization.Encoding.PEM,
                                                        serialization.PublicFormat.SubjectPublicKeyInfo).decode(),
    }


def main():
    try:
        req = json.load(sys.stdin)
        action = {"verify": verify, "sign": sign, "keygen": keygen}.get(req.get("action"))
        if action is None:
            raise ValueError(f"action must be verify, sign or keygen, not {req.get('action')!r}")
        out = action(req)
    except (KeyError, ValueError, TypeError) as e:
        sys.stderr.write(f"http_signatures: bad request: {type(e).__name__}: {e}\n")
        sys.exit(2)
    json.dump(out, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
