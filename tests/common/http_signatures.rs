//! HTTP signatures checked and made by libraries that are not roost's, for
//! testing roost's signing and verifying against them:
//! http-message-signatures 3.0.0 (RFC 9421) and pyhttpsig 1.3.0
//! (draft-cavage-http-signatures-12), run as tests/python/http_signatures.py
//! in the venv `scripts/setup` makes. Each call is one Python process
//! (~0.3 s). Keys are PEM: RSA (PKCS#1 v1.5, SHA-256) for both schemes,
//! Ed25519 for RFC 9421; [`keygen_rsa`] / [`keygen_ed25519`] make them.
//! [`SigningActor`] is an actor of the tests' own, with such a key, that
//! POSTs any activity to any inbox signed in either scheme (forged ones
//! too); [`Request::from_seen`] turns what roost sent to a [`FeedServer`]
//! into a request to verify.

use std::net::SocketAddr;

use serde::Deserialize;
use serde_json::{Value, json};

use super::feed_server::{FeedServer, Route, Seen};
use super::http::{self, HttpResponse};
use super::python::run_script_with_input;

/// The HTTP Signatures scheme of a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum Scheme {
    /// RFC 9421 HTTP Message Signatures (`Signature-Input` + `Signature`).
    #[serde(rename = "rfc9421")]
    Rfc9421,
    /// draft-cavage-http-signatures-12 (`Signature` alone), as Mastodon.
    #[serde(rename = "draft-cavage")]
    Cavage,
}

impl Scheme {
    /// Its short name: `rfc9421`, `cavage` (the Fedify peer's `first_knock`
    /// and the Python tool's `scheme`).
    pub fn short(self) -> &'static str {
        match self {
            Scheme::Rfc9421 => "rfc9421",
            Scheme::Cavage => "cavage",
        }
    }
}

/// A request as it went over the wire: what to sign, or what to verify.
#[derive(Debug, Clone)]
pub struct Request {
    pub method: String,
    /// Absolute: `http://HOST:PORT/PATH?QUERY`.
    pub url: String,
    /// As sent, in order; names repeat where the request repeats them.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Request {
    pub fn new(method: &str, url: &str, headers: &[(&str, &str)], body: &[u8]) -> Request {
        Request {
            method: method.to_string(),
            url: url.to_string(),
            headers: headers
                .iter()
                .map(|(n, v)| (n.to_string(), v.to_string()))
                .collect(),
            body: body.to_vec(),
        }
    }

    /// What a [`FeedServer`] at `base_url` (`http://127.0.0.1:PORT`) received.
    pub fn from_seen(seen: &Seen, base_url: &str) -> Request {
        Request {
            method: seen.method.clone(),
            url: format!("{base_url}{}", seen.path),
            headers: seen
                .headers
                .iter()
                .map(|(n, v)| (n.clone(), v.clone()))
                .collect(),
            body: seen.body.clone(),
        }
    }

    /// Sends it, as is, to the host and port of its URL (an IP address).
    pub fn send(&self) -> HttpResponse {
        let url = url::Url::parse(&self.url).unwrap_or_else(|e| panic!("{}: {e}", self.url));
        let addr: SocketAddr = format!(
            "{}:{}",
            url.host_str().unwrap_or_default(),
            url.port_or_known_default().unwrap_or(80)
        )
        .parse()
        .unwrap_or_else(|e| panic!("{}: not an IP address and port: {e}", self.url));
        let path = &url[url::Position::BeforePath..];
        let headers: Vec<(&str, &str)> = self
            .headers
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_str()))
            .collect();
        http::send(addr, &self.method, path, &headers, Some(&self.body))
    }

    /// The first value of header `name` (any case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn fields(&self) -> Value {
        json!({
            "method": self.method,
            "url": self.url,
            "headers": self.headers,
            "body_b64": base64_encode(&self.body),
        })
    }
}

/// A key pair, PEM (private PKCS#8, public SubjectPublicKeyInfo).
#[derive(Debug, Clone, Deserialize)]
pub struct KeyPair {
    pub private_key_pem: String,
    pub public_key_pem: String,
}

/// What both libraries made of a request's signatures.
#[derive(Debug, Clone, Deserialize)]
pub struct Verdict {
    pub rfc9421: Check,
    pub cavage: Check,
    pub digest: Digests,
}

impl Verdict {
    /// Did the `scheme` signature verify?
    pub fn verified(&self, scheme: Scheme) -> bool {
        match scheme {
            Scheme::Rfc9421 => self.rfc9421.verified,
            Scheme::Cavage => self.cavage.verified,
        }
    }
}

/// One scheme's check.
#[derive(Debug, Clone, Deserialize)]
pub struct Check {
    /// The request carries this scheme's headers.
    pub present: bool,
    pub verified: bool,
    /// RFC 9421: the covered component ids, `@signature-params` last.
    #[serde(default)]
    pub covered: Vec<String>,
    /// Cavage: the signed header names (`(request-target)`, `host`, ...).
    #[serde(default)]
    pub headers: Vec<String>,
    pub key_id: Option<String>,
    /// RFC 9421 `alg` parameter.
    pub alg: Option<String>,
    /// Cavage `algorithm` parameter.
    pub algorithm: Option<String>,
    /// Why it did not verify.
    pub error: Option<String>,
}

/// Whether the digest headers carry the body's SHA-256 (None: no such header).
#[derive(Debug, Clone, Deserialize)]
pub struct Digests {
    /// `Digest: SHA-256=...` (cavage).
    pub digest: Option<bool>,
    /// `Content-Digest: sha-256=:...:` (RFC 9451 / 9421).
    pub content_digest: Option<bool>,
}

/// Verifies `request`'s signatures (every scheme present) with
/// `public_key_pem`, and its digests against its body.
pub fn verify(request: &Request, public_key_pem: &str) -> Verdict {
    let mut fields = request.fields();
    fields["action"] = json!("verify");
    fields["public_key_pem"] = json!(public_key_pem);
    call(&fields)
}

/// `request` signed with `scheme`, the key `key_id` / `private_key_pem`,
/// covering the defaults (see http_signatures.py): its headers with Date,
/// Host, the digest and the signature headers added.
pub fn sign(scheme: Scheme, request: &Request, key_id: &str, private_key_pem: &str) -> Request {
    sign_covering(scheme, request, key_id, private_key_pem, &[])
}

/// [`sign`] covering exactly `covered` (RFC 9421 component ids, or cavage
/// header names); empty means the defaults.
pub fn sign_covering(
    scheme: Scheme,
    request: &Request,
    key_id: &str,
    private_key_pem: &str,
    covered: &[&str],
) -> Request {
    let mut fields = request.fields();
    fields["action"] = json!("sign");
    fields["scheme"] = json!(scheme.short());
    fields["key_id"] = json!(key_id);
    fields["private_key_pem"] = json!(private_key_pem);
    if !covered.is_empty() {
        fields["covered"] = json!(covered);
    }
    #[derive(Deserialize)]
    struct Signed {
        headers: Vec<(String, String)>,
    }
    let signed: Signed = call(&fields);
    Request {
        headers: signed.headers,
        ..request.clone()
    }
}

/// A fresh RSA key pair of `bits` bits.
pub fn keygen_rsa(bits: u32) -> KeyPair {
    call(&json!({ "action": "keygen", "type": "rsa", "bits": bits }))
}

/// A fresh Ed25519 key pair (RFC 9421 only).
pub fn keygen_ed25519() -> KeyPair {
    call(&json!({ "action": "keygen", "type": "ed25519" }))
}

/// An actor of the tests' own at `BASE/actor` (a [`FeedServer`] serves its
/// document: a Person with `publicKey` `BASE/actor#main-key`), that signs
/// what it POSTs with the Python libraries.
pub struct SigningActor {
    pub server: FeedServer,
    /// `BASE/actor`.
    pub actor: String,
    /// `BASE/actor#main-key`.
    pub key_id: String,
    pub keys: KeyPair,
}

impl SigningActor {
    /// With a fresh RSA-2048 key (Mastodon's size).
    pub fn new() -> SigningActor {
        SigningActor::with_keys(keygen_rsa(2048))
    }

    pub fn with_keys(keys: KeyPair) -> SigningActor {
        let server = FeedServer::start();
        let actor = server.url("/actor");
        let key_id = format!("{actor}#main-key");
        let doc = json!({
            "@context": ["https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"],
            "id": actor, "type": "Person", "preferredUsername": "carol",
            "inbox": server.url("/inbox"),
            "publicKey": { "id": key_id, "owner": actor, "publicKeyPem": keys.public_key_pem },
        });
        server.set(
            "/actor",
            Route::Raw {
                headers: vec![("Content-Type".into(), "application/activity+json".into())],
                body: doc.to_string().into_bytes().into(),
            },
        );
        SigningActor {
            server,
            actor,
            key_id,
            keys,
        }
    }

    /// `BASE/PATH`, for ids of its activities.
    pub fn url(&self, path: &str) -> String {
        self.server.url(path)
    }

    /// POSTs `activity` to `inbox` as `application/activity+json`, signed in
    /// `scheme` with its key, covering the defaults.
    pub fn post(&self, inbox: &str, activity: &Value, scheme: Scheme) -> HttpResponse {
        self.post_signed_with(inbox, activity, scheme, &self.keys, &[])
    }

    /// [`SigningActor::post`] signed with `keys` under its key id (another
    /// key: a forgery), covering `covered` (empty: the defaults).
    pub fn post_signed_with(
        &self,
        inbox: &str,
        activity: &Value,
        scheme: Scheme,
        keys: &KeyPair,
        covered: &[&str],
    ) -> HttpResponse {
        let request = Request::new(
            "POST",
            inbox,
            &[("Content-Type", "application/activity+json")],
            activity.to_string().as_bytes(),
        );
        sign_covering(
            scheme,
            &request,
            &self.key_id,
            &keys.private_key_pem,
            covered,
        )
        .send()
    }
}

fn call<T: serde::de::DeserializeOwned>(request: &Value) -> T {
    let out = run_script_with_input("http_signatures.py", request.to_string().as_bytes());
    serde_json::from_str(&out)
        .unwrap_or_else(|e| panic!("http_signatures.py answered {out:?}: {e}"))
}

/// Standard base64 with padding (RFC 4648), for the tool's `body_b64`.
pub fn base64_encode(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = chunk.iter().fold(0u32, |n, &b| n << 8 | u32::from(b)) << (8 * (3 - chunk.len()));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[(n >> (18 - 6 * i)) as usize & 63]));
            } else {
                out.push('=');
            }
        }
    }
    out
}
