//! The node's RSA-2048 key pair: made once (at `init`, or on first need
//! after an upgrade), the private key kept only in the database
//! (`store::activitypub`), the public key published in the actor. Also
//! reading other servers' public keys (SubjectPublicKeyInfo or PKCS#1 PEM)
//! and the two RSA signatures HTTP signatures use.

use crate::store;
use anyhow::{Context, Result};
use rsa::pkcs1::DecodeRsaPublicKey;
use rsa::pkcs8::{
    DecodePrivateKey, DecodePublicKey, EncodePrivateKey, EncodePublicKey, LineEnding,
};
use rsa::signature::{SignatureEncoding, Signer, Verifier};
use rsa::{RsaPrivateKey, RsaPublicKey};
use rusqlite::Connection;
use sha2::{Sha256, Sha512};

/// The key size made: what Mastodon makes, and every peer reads.
pub const BITS: usize = 2048;

/// The node's key pair as stored: PKCS#8 and SubjectPublicKeyInfo PEM.
#[derive(Debug, Clone)]
pub struct KeyPair {
    pub private_pem: String,
    pub public_pem: String,
}

/// Makes a new key pair (a fraction of a second in a release build).
pub fn generate() -> Result<KeyPair> {
    let private = RsaPrivateKey::new(&mut rand_core::OsRng, BITS)
        .context("making the ActivityPub key pair")?;
    let private_pem = private
        .to_pkcs8_pem(LineEnding::LF)
        .context("writing the private key")?
        .to_string();
    let public_pem = private
        .to_public_key()
        .to_public_key_pem(LineEnding::LF)
        .context("writing the public key")?;
    Ok(KeyPair {
        private_pem,
        public_pem,
    })
}

/// The node's key pair, made and stored now when there is none yet (a
/// node made before ActivityPub).
pub fn ensure(conn: &mut Connection) -> Result<KeyPair> {
    if let Some((private_pem, public_pem)) = store::activitypub::key_pair(conn)? {
        return Ok(KeyPair {
            private_pem,
            public_pem,
        });
    }
    let made = generate()?;
    let now = chrono::Utc::now().timestamp();
    store::write_unseen(conn, |tx| {
        store::activitypub::set_key_pair(tx, &made.private_pem, &made.public_pem, now)
    })?;
    // Another process may have stored its own first: use what is stored.
    let (private_pem, public_pem) =
        store::activitypub::key_pair(conn)?.context("the ActivityPub key pair was not stored")?;
    Ok(KeyPair {
        private_pem,
        public_pem,
    })
}

/// A public key from PEM: SubjectPublicKeyInfo (`BEGIN PUBLIC KEY`, what
/// Mastodon and Fedify publish) or PKCS#1 (`BEGIN RSA PUBLIC KEY`).
pub fn public_key(pem: &str) -> Result<RsaPublicKey> {
    let pem = pem.trim();
    RsaPublicKey::from_public_key_pem(pem)
        .or_else(|_| RsaPublicKey::from_pkcs1_pem(pem))
        .context("the key is not an RSA public key in PEM")
}

pub fn private_key(pem: &str) -> Result<RsaPrivateKey> {
    RsaPrivateKey::from_pkcs8_pem(pem.trim())
        .or_else(|_| {
            use rsa::pkcs1::DecodeRsaPrivateKey;
            RsaPrivateKey::from_pkcs1_pem(pem.trim())
        })
        .context("the private key is not an RSA key in PEM")
}

/// RSASSA-PKCS1-v1_5 with SHA-256 (`rsa-sha256`, `rsa-v1_5-sha256`).
pub fn sign_pkcs1_sha256(key: &RsaPrivateKey, message: &[u8]) -> Vec<u8> {
    rsa::pkcs1v15::SigningKey::<Sha256>::new(key.clone())
        .sign(message)
        .to_vec()
}

/// The RSA signature algorithms HTTP signatures name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Algorithm {
    /// RSASSA-PKCS1-v1_5 with SHA-256 (cavage `rsa-sha256`, RFC 9421 `rsa-v1_5-sha256`).
    Pkcs1Sha256,
    /// RSASSA-PSS with SHA-512 (RFC 9421 `rsa-pss-sha512`).
    PssSha512,
}

/// Whether `signature` is `key`'s signature of `message` under `algorithm`.
pub fn verify(key: &RsaPublicKey, algorithm: Algorithm, message: &[u8], signature: &[u8]) -> bool {
    match algorithm {
        Algorithm::Pkcs1Sha256 => rsa::pkcs1v15::Signature::try_from(signature).is_ok_and(|s| {
            rsa::pkcs1v15::VerifyingKey::<Sha256>::new(key.clone())
                .verify(message, &s)
                .is_ok()
        }),
        Algorithm::PssSha512 => rsa::pss::Signature::try_from(signature).is_ok_and(|s| {
            rsa::pss::VerifyingKey::<Sha512>::new(key.clone())
                .verify(message, &s)
                .is_ok()
        }),
    }
}
