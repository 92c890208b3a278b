//! IndieAuth's tables: authorization codes (single use, short-lived) and
//! the bearer tokens issued for them. Only SHA-256 hashes of codes and
//! tokens are stored, so the database alone signs no app in.

use anyhow::{Context, Result};
use rusqlite::{Connection, OptionalExtension, params};

/// What the owner approved on the consent page, bound to the code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    pub client_id: String,
    pub redirect_uri: String,
    /// Space-separated scopes, as approved.
    pub scope: String,
    /// The PKCE `code_challenge` (S256).
    pub challenge: String,
}

/// Keeps a new code's hash until `expires`; forgets expired ones.
pub fn save_code(
    conn: &Connection,
    code_hash: &str,
    grant: &Grant,
    now: i64,
    expires: i64,
) -> Result<()> {
    conn.execute("DELETE FROM indieauth_codes WHERE expires <= ?1", [now])
        .context("removing expired authorization codes")?;
    conn.execute(
        "INSERT INTO indieauth_codes (code_hash, client_id, redirect_uri, scope, challenge, expires)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![
            code_hash,
            grant.client_id,
            grant.redirect_uri,
            grant.scope,
            grant.challenge,
            expires
        ],
    )
    .context("saving the authorization code")?;
    Ok(())
}

/// Uses a code up: its grant when it was known and not expired. The row is
/// removed either way, so a code works at most once, even when the first
/// try failed its checks (a guessed verifier gets one attempt).
pub fn take_code(conn: &Connection, code_hash: &str, now: i64) -> Result<Option<Grant>> {
    let found = conn
        .query_row(
            "DELETE FROM indieauth_codes WHERE code_hash = ?1
             RETURNING client_id, redirect_uri, scope, challenge, expires",
            [code_hash],
            |r| {
                Ok((
                    Grant {
                        client_id: r.get(0)?,
                        redirect_uri: r.get(1)?,
                        scope: r.get(2)?,
                        challenge: r.get(3)?,
                    },
                    r.get::<_, i64>(4)?,
                ))
            },
        )
        .optional()
        .context("using the authorization code")?;
    Ok(found.and_then(|(grant, expires)| (expires > now).then_some(grant)))
}

/// A bearer token as stored: whom it was issued to and what it may do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    pub client_id: String,
    pub scope: String,
    pub expires: i64,
}

/// Keeps a new token's hash; forgets expired ones.
pub fn save_token(conn: &Connection, token_hash: &str, token: &Token, now: i64) -> Result<()> {
    conn.execute("DELETE FROM access_tokens WHERE expires <= ?1", [now])
        .context("removing expired tokens")?;
    conn.execute(
        "INSERT INTO access_tokens (token_hash, client_id, scope, created, expires)
         VALUES (?1, ?2, ?3, ?4, ?5)",
        params![token_hash, token.client_id, token.scope, now, token.expires],
    )
    .context("saving the access token")?;
    Ok(())
}

/// The live token with this hash, if any (an expired one is none).
pub fn token(conn: &Connection, token_hash: &str, now: i64) -> Result<Option<Token>> {
    conn.query_row(
        "SELECT client_id, scope, expires FROM access_tokens
         WHERE token_hash = ?1 AND expires > ?2",
        params![token_hash, now],
        |r| {
            Ok(Token {
                client_id: r.get(0)?,
                scope: r.get(1)?,
                expires: r.get(2)?,
            })
        },
    )
    .optional()
    .context("checking the access token")
}

/// Forgets a token: true when it was there.
pub fn delete_token(conn: &Connection, token_hash: &str) -> Result<bool> {
    conn.execute(
        "DELETE FROM access_tokens WHERE token_hash = ?1",
        [token_hash],
    )
    .map(|n| n > 0)
    .context("revoking the access token")
}

/// A live token as the owner sees it in the list of signed-in apps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed {
    pub token_hash: String,
    pub client_id: String,
    pub scope: String,
    pub created: i64,
    pub expires: i64,
}

/// Every live token, newest first.
pub fn list_tokens(conn: &Connection, now: i64) -> Result<Vec<Listed>> {
    let mut stmt = conn
        .prepare(
            "SELECT token_hash, client_id, scope, created, expires FROM access_tokens
             WHERE expires > ?1 ORDER BY created DESC, token_hash",
        )
        .context("listing the access tokens")?;
    let rows = stmt
        .query_map([now], |r| {
            Ok(Listed {
                token_hash: r.get(0)?,
                client_id: r.get(1)?,
                scope: r.get(2)?,
                created: r.get(3)?,
                expires: r.get(4)?,
            })
        })
        .context("listing the access tokens")?;
    rows.collect::<rusqlite::Result<_>>()
        .context("reading the access tokens")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grant() -> Grant {
        Grant {
            client_id: "https://app.example/".into(),
            redirect_uri: "https://app.example/cb".into(),
            scope: "create".into(),
            challenge: "c".into(),
        }
    }

    #[test]
    fn a_code_works_once_and_only_until_it_expires() {
        let conn = crate::store::migrations::in_memory();
        save_code(&conn, "a", &grant(), 100, 200).unwrap();
        save_code(&conn, "b", &grant(), 100, 200).unwrap();
        assert_eq!(take_code(&conn, "a", 150).unwrap(), Some(grant()));
        assert_eq!(take_code(&conn, "a", 150).unwrap(), None, "used up");
        assert_eq!(take_code(&conn, "b", 200).unwrap(), None, "expired at 200");
        assert_eq!(take_code(&conn, "nope", 150).unwrap(), None);
    }

    #[test]
    fn a_token_is_found_by_its_hash_until_it_expires() {
        let conn = crate::store::migrations::in_memory();
        let token = Token {
            client_id: "https://app.example/".into(),
            scope: "create".into(),
            expires: 200,
        };
        save_token(&conn, "h", &token, 100).unwrap();
        assert_eq!(super::token(&conn, "h", 199).unwrap(), Some(token));
        assert_eq!(super::token(&conn, "h", 200).unwrap(), None);
        assert_eq!(super::token(&conn, "x", 100).unwrap(), None);
        assert_eq!(list_tokens(&conn, 150).unwrap().len(), 1);
        assert_eq!(list_tokens(&conn, 200).unwrap().len(), 0, "expired");
        assert!(delete_token(&conn, "h").unwrap());
        assert!(!delete_token(&conn, "h").unwrap());
        assert_eq!(super::token(&conn, "h", 150).unwrap(), None, "revoked");
    }
}
