//! HTTP signatures on a received request, both kinds the fediverse sends:
//! draft-cavage's `Signature` header (Mastodon; `rsa-sha256` and `hs2019`)
//! with its `Digest: SHA-256=`, and RFC 9421's `Signature-Input` and
//! `Signature` (Fedify's first knock) with `Content-Digest`. [`claim`]
//! reads what a request claims (the key id, the signed bytes, the
//! signature) and checks what needs no key (the digest of the body, the
//! time); [`Claim::verify`] checks the signature with the key. Fetching the
//! key is the inbox job's. Also [`sign_cavage`], for deliveries.
//!
//! Only RSA keys are taken (what Mastodon, Fedify and most servers publish).

use super::keys::{self, Algorithm};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use rsa::{RsaPrivateKey, RsaPublicKey};
use sha2::{Digest, Sha256, Sha512};

/// How far a signature's time may be from now, either way.
pub const MAX_SKEW_SECONDS: i64 = 60 * 60;

/// A received request, as the signature saw it.
#[derive(Debug, Clone, Copy)]
pub struct Incoming<'a> {
    pub method: &'a str,
    /// `scheme://host[:port]/path?query`, as the sender addressed it.
    pub target_uri: &'a str,
    /// Lower-case names.
    pub headers: &'a [(String, String)],
    pub body: &'a [u8],
}

impl Incoming<'_> {
    /// Every value of header `name`, joined by `, ` (RFC 9110 5.3).
    fn header(&self, name: &str) -> Option<String> {
        let values: Vec<&str> = self
            .headers
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, v)| v.trim())
            .collect();
        (!values.is_empty()).then(|| values.join(", "))
    }
}

/// Why a request's signature is refused before any key is fetched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// No `Signature` (or `Signature-Input`) at all.
    Unsigned,
    /// Not readable, or missing what must be signed.
    Malformed(String),
    /// Signed too long ago (or in the future), or expired.
    Stale(String),
    /// The body is not the one the digest names.
    BadDigest(String),
}

impl Refusal {
    /// The counter a dropped request is counted under.
    pub fn counter(&self) -> &'static str {
        match self {
            Refusal::Unsigned => "unsigned",
            Refusal::Malformed(_) => "bad signature",
            Refusal::Stale(_) => "stale",
            Refusal::BadDigest(_) => "bad digest",
        }
    }
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Refusal::Unsigned => write!(f, "the request carries no HTTP signature"),
            Refusal::Malformed(why) | Refusal::Stale(why) | Refusal::BadDigest(why) => {
                write!(f, "{why}")
            }
        }
    }
}

/// What a request's signature claims: checked by [`Claim::verify`] once
/// the key named is at hand.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claim {
    pub key_id: String,
    /// The bytes signed (cavage's signing string, RFC 9421's signature base).
    pub signed: Vec<u8>,
    pub signature: Vec<u8>,
    /// `None`: not said (RFC 9421 without `alg`); each RSA one is tried.
    pub algorithm: Option<Algorithm>,
    /// RFC 9421 (else draft-cavage): for the counters and messages.
    pub rfc9421: bool,
}

impl Claim {
    pub fn verify(&self, key: &RsaPublicKey) -> bool {
        match self.algorithm {
            Some(algorithm) => keys::verify(key, algorithm, &self.signed, &self.signature),
            None => [Algorithm::Pkcs1Sha256, Algorithm::PssSha512]
                .into_iter()
                .any(|a| keys::verify(key, a, &self.signed, &self.signature)),
        }
    }
}

/// Reads the request's signature (RFC 9421 first, when both are there) and
/// checks its digest and time against `now`.
pub fn claim(req: &Incoming, now: i64) -> Result<Claim, Refusal> {
    if let (Some(input), Some(signature)) = (req.header("signature-input"), req.header("signature"))
    {
        return rfc9421(req, &input, &signature, now);
    }
    let cavage = req.header("signature").or_else(|| {
        req.header("authorization")
            .and_then(|a| a.strip_prefix("Signature ").map(str::to_string))
    });
    match cavage {
        Some(value) => cavage_claim(req, &value, now),
        None => Err(Refusal::Unsigned),
    }
}

/// The value of the first pair named `name`.
pub fn lookup<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

fn malformed(why: impl Into<String>) -> Refusal {
    Refusal::Malformed(why.into())
}

/// `key="value",key2="value2"` (values may hold commas inside quotes).
fn cavage_params(value: &str) -> Vec<(String, String)> {
    let mut params = Vec::new();
    let mut rest = value.trim();
    while !rest.is_empty() {
        let Some((key, after)) = rest.split_once('=') else {
            break;
        };
        let key = key
            .trim()
            .trim_start_matches(',')
            .trim()
            .to_ascii_lowercase();
        let after = after.trim_start();
        let (val, next) = match after.strip_prefix('"') {
            Some(quoted) => match quoted.find('"') {
                Some(end) => (&quoted[..end], &quoted[end + 1..]),
                None => (quoted, ""),
            },
            None => match after.find(',') {
                Some(end) => (&after[..end], &after[end..]),
                None => (after, ""),
            },
        };
        params.push((key, val.to_string()));
        rest = next.trim_start().trim_start_matches(',').trim_start();
    }
    params
}

/// The path and query of an absolute URI (`/` when it has no path).
fn request_target(target_uri: &str) -> String {
    match url::Url::parse(target_uri) {
        Ok(u) => match u.query() {
            Some(q) => format!("{}?{q}", u.path()),
            None => u.path().to_string(),
        },
        Err(_) => target_uri.to_string(),
    }
}

fn check_time(what: &str, at: i64, now: i64) -> Result<(), Refusal> {
    if (now - at).abs() > MAX_SKEW_SECONDS {
        return Err(Refusal::Stale(format!(
            "the signature's {what} is {} seconds from now (at most {MAX_SKEW_SECONDS} taken)",
            now - at
        )));
    }
    Ok(())
}

fn cavage_claim(req: &Incoming, value: &str, now: i64) -> Result<Claim, Refusal> {
    let params = cavage_params(value);
    let param = |name: &str| lookup(&params, name);
    let key_id = param("keyid").ok_or_else(|| malformed("the Signature names no keyId"))?;
    let signature = BASE64
        .decode(param("signature").unwrap_or_default())
        .map_err(|_| malformed("the Signature's signature is not base64"))?;
    if signature.is_empty() {
        return Err(malformed("the Signature has no signature"));
    }
    let algorithm = match param("algorithm").map(str::to_ascii_lowercase).as_deref() {
        None | Some("rsa-sha256") | Some("hs2019") => Algorithm::Pkcs1Sha256,
        Some(other) => {
            return Err(malformed(format!(
                "the signature algorithm {other:?} is not taken"
            )));
        }
    };
    let headers: Vec<String> = param("headers")
        .unwrap_or("date")
        .split_ascii_whitespace()
        .map(str::to_ascii_lowercase)
        .collect();
    let created = param("created").and_then(|c| c.parse::<i64>().ok());
    let expires = param("expires").and_then(|c| c.parse::<i64>().ok());
    let mut lines = Vec::new();
    for name in &headers {
        let value = match name.as_str() {
            "(request-target)" => format!(
                "{} {}",
                req.method.to_ascii_lowercase(),
                request_target(req.target_uri)
            ),
            "(created)" => created
                .ok_or_else(|| malformed("(created) is signed but not given"))?
                .to_string(),
            "(expires)" => expires
                .ok_or_else(|| malformed("(expires) is signed but not given"))?
                .to_string(),
            header => req
                .header(header)
                .ok_or_else(|| malformed(format!("the signed header {header} is missing")))?,
        };
        lines.push(format!("{name}: {value}"));
    }
    let signed_time = if headers.iter().any(|h| h == "(created)") {
        created
    } else if headers.iter().any(|h| h == "date") {
        req.header("date")
            .and_then(|d| httpdate::parse_http_date(&d).ok())
            .and_then(|d| d.duration_since(std::time::UNIX_EPOCH).ok())
            .map(|d| d.as_secs() as i64)
    } else {
        return Err(malformed("neither Date nor (created) is signed"));
    };
    let at = signed_time.ok_or_else(|| malformed("the signed date is not an HTTP date"))?;
    check_time("date", at, now)?;
    if expires.is_some_and(|e| e < now) {
        return Err(Refusal::Stale("the signature has expired".into()));
    }
    if !req.body.is_empty() {
        if !headers.iter().any(|h| h == "digest") {
            return Err(malformed("the body's Digest is not signed"));
        }
        check_digest(req)?;
    }
    Ok(Claim {
        key_id: key_id.to_string(),
        signed: lines.join("\n").into_bytes(),
        signature,
        algorithm: Some(algorithm),
        rfc9421: false,
    })
}

/// `Digest: SHA-256=base64` (RFC 3230): the body's, when SHA-256 is named.
fn check_digest(req: &Incoming) -> Result<(), Refusal> {
    let digest = req
        .header("digest")
        .ok_or_else(|| malformed("the Digest header is missing"))?;
    let expected = BASE64.encode(Sha256::digest(req.body));
    let sha256 = digest.split(',').find_map(|part| {
        let (alg, value) = part.trim().split_once('=')?;
        alg.eq_ignore_ascii_case("sha-256").then(|| value.trim())
    });
    match sha256 {
        Some(value) if value == expected => Ok(()),
        Some(_) => Err(Refusal::BadDigest(
            "the Digest does not match the body".into(),
        )),
        None => Err(malformed("the Digest names no SHA-256")),
    }
}

/// `Content-Digest: sha-256=:b64:, sha-512=:b64:` (RFC 9530): every
/// algorithm known must match the body, and one must be there.
fn check_content_digest(req: &Incoming) -> Result<(), Refusal> {
    let header = req
        .header("content-digest")
        .ok_or_else(|| malformed("the Content-Digest header is missing"))?;
    let mut checked = false;
    for member in split_top_level(&header) {
        let Some((alg, value)) = member.split_once('=') else {
            continue;
        };
        let value = value.trim().trim_matches(':');
        let expected = match alg.trim() {
            "sha-256" => BASE64.encode(Sha256::digest(req.body)),
            "sha-512" => BASE64.encode(Sha512::digest(req.body)),
            _ => continue,
        };
        if value != expected {
            return Err(Refusal::BadDigest(format!(
                "the Content-Digest's {} does not match the body",
                alg.trim()
            )));
        }
        checked = true;
    }
    if checked {
        Ok(())
    } else {
        Err(malformed(
            "the Content-Digest names neither sha-256 nor sha-512",
        ))
    }
}

/// A structured-field dictionary or list split at its top-level commas
/// (not those inside quotes or parentheses), each member trimmed.
fn split_top_level(value: &str) -> Vec<&str> {
    let mut members = split_outside(value, ',');
    members.retain(|m| !m.is_empty());
    members
}

/// `name;p1=v1;p2="v2"` split at its top-level semicolons.
fn split_params(item: &str) -> Vec<&str> {
    split_outside(item, ';')
}

/// `value` split at each `separator` outside quotes and parentheses, trimmed.
fn split_outside(value: &str, separator: char) -> Vec<&str> {
    let mut parts = Vec::new();
    let (mut depth, mut quoted, mut escaped, mut start) = (0i32, false, false, 0);
    for (i, c) in value.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            '(' if !quoted => depth += 1,
            ')' if !quoted => depth -= 1,
            _ if c == separator && !quoted && depth == 0 => {
                parts.push(value[start..i].trim());
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(value[start..].trim());
    parts
}

fn unquote(value: &str) -> String {
    let inner = value.trim().trim_start_matches('"').trim_end_matches('"');
    inner.replace("\\\"", "\"").replace("\\\\", "\\")
}

/// Items of an inner list `("a" "b";p="x")`, each as written.
fn inner_list_items(list: &str) -> Result<Vec<&str>, Refusal> {
    let inner = list
        .strip_prefix('(')
        .and_then(|l| l.strip_suffix(')'))
        .ok_or_else(|| malformed("the Signature-Input's components are not a list"))?;
    let mut items = Vec::new();
    let (mut quoted, mut start) = (false, None::<usize>);
    for (i, c) in inner.char_indices() {
        match c {
            '"' => {
                quoted = !quoted;
                start.get_or_insert(i);
            }
            ' ' if !quoted => {
                if let Some(s) = start.take() {
                    items.push(&inner[s..i]);
                }
            }
            _ => {
                start.get_or_insert(i);
            }
        }
    }
    if let Some(s) = start {
        items.push(&inner[s..]);
    }
    Ok(items)
}

fn rfc9421(req: &Incoming, input: &str, signatures: &str, now: i64) -> Result<Claim, Refusal> {
    // The first signature of Signature-Input that Signature also carries.
    let labelled = |member: &str| {
        member
            .split_once('=')
            .map(|(label, value)| (label.trim().to_string(), value.trim().to_string()))
    };
    let signature_values: Vec<(String, String)> = split_top_level(signatures)
        .into_iter()
        .filter_map(labelled)
        .collect();
    let (label, params_text, signature) = split_top_level(input)
        .into_iter()
        .filter_map(labelled)
        .find_map(|(label, value)| {
            let signature = signature_values
                .iter()
                .find(|(l, _)| *l == label)?
                .1
                .clone();
            Some((label, value, signature))
        })
        .ok_or_else(|| malformed("Signature-Input and Signature name no signature in common"))?;
    let signature = BASE64
        .decode(signature.trim().trim_matches(':'))
        .map_err(|_| malformed(format!("signature {label} is not a byte sequence")))?;
    let parts = split_params(&params_text);
    let components = inner_list_items(parts[0])?;
    let mut key_id = None;
    let mut algorithm = None;
    let (mut created, mut expires) = (None, None);
    for param in &parts[1..] {
        let (name, value) = param.split_once('=').unwrap_or((param, "?1"));
        match name.trim() {
            "keyid" => key_id = Some(unquote(value)),
            "alg" => {
                algorithm = Some(match unquote(value).as_str() {
                    "rsa-v1_5-sha256" => Algorithm::Pkcs1Sha256,
                    "rsa-pss-sha512" => Algorithm::PssSha512,
                    other => {
                        return Err(malformed(format!(
                            "the signature algorithm {other:?} is not taken"
                        )));
                    }
                })
            }
            "created" => created = value.trim().parse::<i64>().ok(),
            "expires" => expires = value.trim().parse::<i64>().ok(),
            _ => {}
        }
    }
    let key_id = key_id.ok_or_else(|| malformed(format!("signature {label} names no keyid")))?;
    let created =
        created.ok_or_else(|| malformed(format!("signature {label} has no created time")))?;
    check_time("created time", created, now)?;
    if expires.is_some_and(|e| e < now) {
        return Err(Refusal::Stale(format!("signature {label} has expired")));
    }
    let mut base = String::new();
    let mut covers_digest = false;
    for item in &components {
        let pieces = split_params(item);
        let name = unquote(pieces[0]);
        let value = component(req, &name, &pieces[1..])?;
        covers_digest |= name == "content-digest";
        base.push_str(item);
        base.push_str(": ");
        base.push_str(&value);
        base.push('\n');
    }
    base.push_str("\"@signature-params\": ");
    base.push_str(&params_text);
    if !req.body.is_empty() {
        if !covers_digest {
            return Err(malformed("the body's Content-Digest is not signed"));
        }
        check_content_digest(req)?;
    }
    Ok(Claim {
        key_id,
        signed: base.into_bytes(),
        signature,
        algorithm,
        rfc9421: true,
    })
}

/// A covered component's value (RFC 9421 2.1, 2.2).
fn component(req: &Incoming, name: &str, params: &[&str]) -> Result<String, Refusal> {
    let target = || {
        url::Url::parse(req.target_uri)
            .map_err(|_| malformed(format!("the target {:?} is not a URI", req.target_uri)))
    };
    if let Some(unknown) = params.iter().find(|p| !p.starts_with("name=")) {
        return Err(malformed(format!(
            "the component parameter {unknown:?} is not taken"
        )));
    }
    Ok(match name {
        "@method" => req.method.to_string(),
        "@target-uri" => req.target_uri.to_string(),
        "@authority" => {
            let t = target()?;
            let host = t.host_str().unwrap_or_default().to_ascii_lowercase();
            match t.port() {
                Some(port) => format!("{host}:{port}"),
                None => host,
            }
        }
        "@scheme" => target()?.scheme().to_string(),
        "@request-target" => request_target(req.target_uri),
        "@path" => target()?.path().to_string(),
        "@query" => format!("?{}", target()?.query().unwrap_or_default()),
        "@query-param" => {
            let wanted = params
                .iter()
                .find_map(|p| p.strip_prefix("name="))
                .map(unquote)
                .ok_or_else(|| malformed("@query-param names no parameter"))?;
            let t = target()?;
            let mut found = t.query_pairs().filter(|(n, _)| *n == wanted.as_str());
            let (Some((_, value)), None) = (found.next(), found.next()) else {
                return Err(malformed(format!(
                    "the query parameter {wanted:?} is not there once"
                )));
            };
            url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
        }
        derived if derived.starts_with('@') => {
            return Err(malformed(format!("the component {derived} is not taken")));
        }
        header => {
            if header.bytes().any(|b| b.is_ascii_uppercase()) {
                return Err(malformed(format!(
                    "the component {header:?} is not lower case"
                )));
            }
            req.header(header)
                .ok_or_else(|| malformed(format!("the signed header {header} is missing")))?
        }
    })
}

/// The headers a delivery carries to be taken by Mastodon (and Fedify's
/// second knock): `Date`, `Digest` and a draft-cavage `Signature` over
/// `(request-target) host date digest content-type`, rsa-sha256.
pub fn sign_cavage(
    key: &RsaPrivateKey,
    key_id: &str,
    url: &url::Url,
    content_type: &str,
    body: &[u8],
    now: i64,
) -> Vec<(&'static str, String)> {
    let digest = format!("SHA-256={}", BASE64.encode(Sha256::digest(body)));
    let extra = [("digest", digest.as_str()), ("content-type", content_type)];
    let mut headers = sign_cavage_request(key, key_id, "post", url, &extra, now);
    headers.insert(2, ("Digest", digest.clone()));
    headers
}

/// The headers that sign a delivery the RFC 9421 way, for a server that
/// asked for it (`Accept-Signature`): `Content-Digest` (sha-256) and
/// `Signature-Input` / `Signature` (label `sig1`) over `@method`,
/// `@target-uri`, `@authority`, `content-type` and `content-digest`,
/// `created` and `keyid`, `alg="rsa-v1_5-sha256"`.
pub fn sign_rfc9421(
    key: &RsaPrivateKey,
    key_id: &str,
    url: &url::Url,
    content_type: &str,
    body: &[u8],
    now: i64,
) -> Vec<(&'static str, String)> {
    let digest = format!("sha-256=:{}:", BASE64.encode(Sha256::digest(body)));
    let host = url.host_str().unwrap_or_default().to_ascii_lowercase();
    let authority = match url.port() {
        Some(port) => format!("{host}:{port}"),
        None => host,
    };
    let params = format!(
        "(\"@method\" \"@target-uri\" \"@authority\" \"content-type\" \"content-digest\");\
         created={now};keyid=\"{key_id}\";alg=\"rsa-v1_5-sha256\""
    );
    let base = format!(
        "\"@method\": POST\n\"@target-uri\": {url}\n\"@authority\": {authority}\n\
         \"content-type\": {content_type}\n\"content-digest\": {digest}\n\
         \"@signature-params\": {params}"
    );
    let signature = BASE64.encode(keys::sign_pkcs1_sha256(key, base.as_bytes()));
    vec![
        ("Content-Digest", digest),
        ("Signature-Input", format!("sig1={params}")),
        ("Signature", format!("sig1=:{signature}:")),
    ]
}

/// The headers that sign a GET of `url` (Mastodon's secure mode, "authorized
/// fetch"): `Date` and a draft-cavage `Signature` over
/// `(request-target) host date`, rsa-sha256.
pub fn sign_cavage_get(
    key: &RsaPrivateKey,
    key_id: &str,
    url: &url::Url,
    now: i64,
) -> Vec<(&'static str, String)> {
    sign_cavage_request(key, key_id, "get", url, &[], now)
}

/// `Host`, `Date` and a `Signature` over `(request-target) host date` and
/// the `extra` headers (lower-case names and their values), in that order.
fn sign_cavage_request(
    key: &RsaPrivateKey,
    key_id: &str,
    method: &str,
    url: &url::Url,
    extra: &[(&str, &str)],
    now: i64,
) -> Vec<(&'static str, String)> {
    let date = httpdate::fmt_http_date(
        std::time::UNIX_EPOCH + std::time::Duration::from_secs(now.max(0) as u64),
    );
    let host = match url.port() {
        Some(port) => format!("{}:{port}", url.host_str().unwrap_or_default()),
        None => url.host_str().unwrap_or_default().to_string(),
    };
    let mut signed = format!(
        "(request-target): {method} {}\nhost: {host}\ndate: {date}",
        request_target(url.as_str())
    );
    let mut names = String::from("(request-target) host date");
    for (name, value) in extra {
        signed.push_str(&format!("\n{name}: {value}"));
        names.push(' ');
        names.push_str(name);
    }
    let signature = BASE64.encode(keys::sign_pkcs1_sha256(key, signed.as_bytes()));
    vec![
        ("Host", host),
        ("Date", date),
        (
            "Signature",
            format!(
                "keyId=\"{key_id}\",algorithm=\"rsa-sha256\",headers=\"{names}\",signature=\"{signature}\""
            ),
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::super::vectors::*;
    use super::*;

    fn headers(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(n, v)| (n.to_ascii_lowercase(), v.to_string()))
            .collect()
    }

    /// draft-cavage-12 appendix C: the request every example signs.
    fn cavage_request(signature: &str) -> Vec<(String, String)> {
        headers(&[
            ("Host", "example.com"),
            ("Date", "Sun, 05 Jan 2014 21:31:40 GMT"),
            ("Content-Type", "application/json"),
            (
                "Digest",
                "SHA-256=X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=",
            ),
            ("Content-Length", "18"),
            ("Signature", signature),
        ])
    }

    /// The appendix's `POST /foo?param=value&pet=dog` with `headers`.
    fn cavage_incoming(headers: &[(String, String)]) -> Incoming<'_> {
        Incoming {
            method: "POST",
            target_uri: "https://example.com/foo?param=value&pet=dog",
            headers,
            body: b"{\"hello\": \"world\"}",
        }
    }

    const CAVAGE_NOW: i64 = 1388957500; // 2014-01-05 21:31:40 UTC, and a minute

    #[test]
    fn draft_cavage_appendix_c_signatures_verify_and_a_changed_path_does_not() {
        let key = keys::public_key(CAVAGE_PUBLIC_KEY).unwrap();
        for signature in [CAVAGE_C2_BASIC, CAVAGE_C3_ALL_HEADERS] {
            let h = cavage_request(signature);
            let req = cavage_incoming(&h);
            // The C.2 basic test signs no digest: taken only without a body.
            let claim = match claim(&req, CAVAGE_NOW) {
                Err(Refusal::Malformed(why)) if signature == CAVAGE_C2_BASIC => {
                    assert!(why.contains("Digest is not signed"), "{why}");
                    super::claim(&Incoming { body: b"", ..req }, CAVAGE_NOW).unwrap()
                }
                other => other.unwrap(),
            };
            assert_eq!(claim.key_id, "Test");
            assert!(claim.verify(&key), "{signature}");
            let mut moved = claim.clone();
            moved.signed = String::from_utf8(moved.signed)
                .unwrap()
                .replace("pet=dog", "pet=cat")
                .into_bytes();
            assert!(!moved.verify(&key));
        }
    }

    #[test]
    fn a_cavage_request_with_a_changed_body_stale_date_or_no_signature_is_refused() {
        let h = cavage_request(CAVAGE_C3_ALL_HEADERS);
        let req = cavage_incoming(&h);
        let changed = Incoming {
            body: b"{\"hello\": \"there\"}",
            ..req
        };
        assert!(matches!(
            claim(&changed, CAVAGE_NOW),
            Err(Refusal::BadDigest(_))
        ));
        assert!(matches!(
            claim(&req, CAVAGE_NOW + 2 * MAX_SKEW_SECONDS),
            Err(Refusal::Stale(_))
        ));
        let unsigned = headers(&[("Date", "Sun, 05 Jan 2014 21:31:40 GMT")]);
        let bare = Incoming {
            headers: &unsigned,
            ..req
        };
        assert_eq!(claim(&bare, CAVAGE_NOW), Err(Refusal::Unsigned));
    }

    fn rfc_request(extra: &[(&str, &str)]) -> Vec<(String, String)> {
        let mut h = headers(&[
            ("Host", "example.com"),
            ("Date", "Tue, 20 Apr 2021 02:07:55 GMT"),
            ("Content-Type", "application/json"),
            ("Content-Digest", RFC9421_CONTENT_DIGEST),
            ("Content-Length", "18"),
        ]);
        h.extend(headers(extra));
        h
    }

    const RFC_NOW: i64 = 1618884480;
    const RFC_BODY: &[u8] = b"{\"hello\": \"world\"}";

    type Sign =
        fn(&RsaPrivateKey, &str, &url::Url, &str, &[u8], i64) -> Vec<(&'static str, String)>;

    /// A delivery signed by `sign` at `now`, read back as its receiver
    /// does: its claim, and the claim of the same headers over another body.
    fn signed_claim(
        private: &RsaPrivateKey,
        sign: Sign,
        now: i64,
    ) -> (Result<Claim, Refusal>, Result<Claim, Refusal>) {
        let url = url::Url::parse("https://peer.example:8443/inbox").unwrap();
        let body = br#"{"type":"Create"}"#;
        let key_id = "https://me.example/actor#main-key";
        let signed = sign(
            private,
            key_id,
            &url,
            "application/activity+json",
            body,
            now,
        );
        let mut headers: Vec<(String, String)> = signed
            .iter()
            .map(|(n, v)| (n.to_ascii_lowercase(), v.clone()))
            .collect();
        headers.push(("content-type".into(), "application/activity+json".into()));
        let req = Incoming {
            method: "POST",
            target_uri: url.as_str(),
            headers: &headers,
            body,
        };
        let changed = Incoming {
            body: br#"{"type":"Delete"}"#,
            ..req
        };
        (claim(&req, now), claim(&changed, now))
    }

    #[test]
    fn a_delivery_signed_rfc9421_is_one_this_module_takes() {
        let private = keys::private_key(RFC9421_RSA_PRIVATE_KEY).unwrap();
        let public = keys::public_key(RFC9421_RSA_PUBLIC_KEY).unwrap();
        let (claim, changed) = signed_claim(&private, sign_rfc9421, RFC_NOW);
        let claim = claim.unwrap();
        assert!(claim.rfc9421);
        assert_eq!(claim.key_id, "https://me.example/actor#main-key");
        assert!(claim.verify(&public));
        assert!(changed.is_err());
    }

    #[test]
    fn rfc9421_appendix_b_rsa_pss_signatures_verify() {
        let key = keys::public_key(RFC9421_PSS_PUBLIC_KEY).unwrap();
        let h = rfc_request(&[
            ("Signature-Input", RFC9421_B23_INPUT),
            ("Signature", RFC9421_B23_SIGNATURE),
        ]);
        let req = Incoming {
            method: "POST",
            target_uri: "https://example.com/foo?param=Value&Pet=dog",
            headers: &h,
            body: RFC_BODY,
        };
        let claim = claim(&req, RFC_NOW).unwrap();
        assert_eq!(
            String::from_utf8(claim.signed.clone()).unwrap(),
            RFC9421_B23_BASE
        );
        assert!(claim.verify(&key));
        // B.2.2: a query parameter and the digest, no alg (tried with each).
        let h = rfc_request(&[
            ("Signature-Input", RFC9421_B22_INPUT),
            ("Signature", RFC9421_B22_SIGNATURE),
        ]);
        let req = Incoming { headers: &h, ..req };
        assert!(super::claim(&req, RFC_NOW).unwrap().verify(&key));
        let cat = Incoming {
            target_uri: "https://example.com/foo?param=Value&Pet=cat",
            ..req
        };
        assert!(!super::claim(&cat, RFC_NOW).unwrap().verify(&key));
    }

    /// RFC 9421 4.3: the proxy's rsa-v1_5-sha256 signature, which signing
    /// with the test key must reproduce exactly (PKCS#1 v1.5 is deterministic).
    #[test]
    fn rfc9421_rsa_v1_5_sha256_verifies_and_signing_reproduces_it() {
        let public = keys::public_key(RFC9421_RSA_PUBLIC_KEY).unwrap();
        let private = keys::private_key(RFC9421_RSA_PRIVATE_KEY).unwrap();
        let h = headers(&[
            ("Host", "origin.host.internal.example"),
            ("Date", "Tue, 20 Apr 2021 02:07:56 GMT"),
            ("Content-Type", "application/json"),
            ("Content-Length", "18"),
            ("Forwarded", "for=192.0.2.123;host=example.com;proto=https"),
            ("Content-Digest", RFC9421_CONTENT_DIGEST),
            ("Signature-Input", RFC9421_PROXY_INPUT),
            ("Signature", RFC9421_PROXY_SIGNATURE),
        ]);
        let req = Incoming {
            method: "POST",
            target_uri: "https://origin.host.internal.example/foo?param=Value&Pet=dog",
            headers: &h,
            body: RFC_BODY,
        };
        let claim = claim(&req, 1618884500).unwrap();
        assert_eq!(claim.key_id, "test-key-rsa");
        assert_eq!(claim.algorithm, Some(Algorithm::Pkcs1Sha256));
        assert!(claim.verify(&public));
        let signed = keys::sign_pkcs1_sha256(&private, &claim.signed);
        assert_eq!(signed, claim.signature);
        // Its expires (1618884540) has passed a minute later.
        assert!(matches!(
            super::claim(&req, 1618884600),
            Err(Refusal::Stale(_))
        ));
    }

    #[test]
    fn our_cavage_signature_is_read_back_by_the_verifier() {
        let private = keys::private_key(RFC9421_RSA_PRIVATE_KEY).unwrap();
        let public = keys::public_key(RFC9421_RSA_PUBLIC_KEY).unwrap();
        let claim = signed_claim(&private, sign_cavage, 1_800_000_000)
            .0
            .unwrap();
        assert_eq!(claim.key_id, "https://me.example/actor#main-key");
        assert!(claim.verify(&public));
    }
}
