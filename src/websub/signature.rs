//! `X-Hub-Signature: method=hex`: an HMAC of the body under the
//! subscription's secret (WebSub 7.1). We sign with sha256; we accept
//! sha1, sha256, sha384 and sha512, the methods the spec names.

use hmac::{Hmac, Mac};

/// HMAC-`$digest` of `body` under `secret`.
macro_rules! mac {
    ($digest:ty, $secret:expr, $body:expr) => {{
        let mut mac = Hmac::<$digest>::new_from_slice($secret.as_bytes())
            .expect("HMAC takes a key of any length");
        mac.update($body);
        mac.finalize().into_bytes().to_vec()
    }};
}

/// The header value for `body` signed with `secret`.
pub fn sign(secret: &str, body: &[u8]) -> String {
    format!("sha256={}", hex(&mac!(sha2::Sha256, secret, body)))
}

/// Why a delivery's signature is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    Missing,
    UnknownMethod,
    Mismatch,
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Refusal::Missing => "no X-Hub-Signature, but this subscription has a secret",
            Refusal::UnknownMethod => {
                "X-Hub-Signature names a method other than sha1, sha256, sha384 or sha512"
            }
            Refusal::Mismatch => "X-Hub-Signature does not match the body and the secret",
        })
    }
}

/// Checks `header` (the `X-Hub-Signature` value, if any) against `body`.
pub fn verify(header: Option<&str>, secret: &str, body: &[u8]) -> Result<(), Refusal> {
    let header = header.ok_or(Refusal::Missing)?.trim();
    let (method, given) = header.split_once('=').ok_or(Refusal::UnknownMethod)?;
    let expected = match method.to_ascii_lowercase().as_str() {
        "sha1" => mac!(sha1::Sha1, secret, body),
        "sha256" => mac!(sha2::Sha256, secret, body),
        "sha384" => mac!(sha2::Sha384, secret, body),
        "sha512" => mac!(sha2::Sha512, secret, body),
        _ => return Err(Refusal::UnknownMethod),
    };
    let given = given.trim().to_ascii_lowercase();
    // Constant time in what matters: every byte is compared.
    let expected = hex(&expected);
    let same = given.len() == expected.len()
        && given
            .bytes()
            .zip(expected.bytes())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0;
    if same { Ok(()) } else { Err(Refusal::Mismatch) }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signs_and_verifies_with_every_method_the_spec_names() {
        let body = b"<feed/>";
        let header = sign("s3cret", body);
        assert!(header.starts_with("sha256="));
        assert_eq!(verify(Some(&header), "s3cret", body), Ok(()));
        assert_eq!(verify(Some(&header), "other", body), Err(Refusal::Mismatch));
        assert_eq!(
            verify(Some(&header), "s3cret", b"<feed />"),
            Err(Refusal::Mismatch)
        );
        assert_eq!(verify(None, "s3cret", body), Err(Refusal::Missing));
        assert_eq!(
            verify(Some("md5=00"), "s3cret", body),
            Err(Refusal::UnknownMethod)
        );
        // RFC 4231 test case 2 (key "Jefe"), sha512 and sha384 results.
        let data = b"what do ya want for nothing?";
        assert_eq!(
            verify(
                Some(
                    "sha512=164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea2505549758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737"
                ),
                "Jefe",
                data
            ),
            Ok(())
        );
        assert_eq!(
            verify(
                Some("sha1=effcdf6ae5eb2fa2d27416d5f184df9c259a7c79"),
                "Jefe",
                data
            ),
            Ok(())
        );
    }
}
