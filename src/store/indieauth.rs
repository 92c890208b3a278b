//! IndieAuth's tables: authorization codes (single use, short-lived) and
//! the bearer tokens issued for them, each row with its refresh token. Only
//! SHA-256 hashes of codes and tokens are stored, so the database alone
//! signs no app in.

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
    take(
        conn,
        "DELETE FROM indieauth_codes WHERE code_hash = ?1
         RETURNING client_id, redirect_uri, scope, challenge, expires",
        code_hash,
        now,
        |r| {
            Ok(Grant {
                client_id: r.get(0)?,
                redirect_uri: r.get(1)?,
                scope: r.get(2)?,
                challenge: r.get(3)?,
            })
        },
    )
    .context("using the authorization code")
}

/// Runs a `DELETE ... RETURNING` of one row by its hash (`?1`), the row's
/// expiry its last column: what `read` made of the row, when it had not
/// expired by `now`.
fn take<T>(
    conn: &Connection,
    sql: &str,
    hash: &str,
    now: i64,
    read: fn(&rusqlite::Row) -> rusqlite::Result<T>,
) -> rusqlite::Result<Option<T>> {
    let found = conn
        .query_row(sql, [hash], |r| {
            let last = r.as_ref().column_count() - 1;
            Ok((read(r)?, r.get::<_, i64>(last)?))
        })
        .optional()?;
    Ok(found.and_then(|(value, expires)| (expires > now).then_some(value)))
}

/// A bearer token as stored: whom it was issued to and what it may do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    pub client_id: String,
    pub scope: String,
    pub created: i64,
    pub expires: i64,
}

/// The refresh token issued with an access token (its hash), and until when
/// it may be exchanged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refresh {
    pub hash: String,
    pub expires: i64,
}

/// Keeps a new token's hash (with its refresh token's, when one was issued);
/// forgets sign-ins whose tokens have both expired.
pub fn save_token(
    conn: &Connection,
    token_hash: &str,
    token: &Token,
    refresh: Option<&Refresh>,
    now: i64,
) -> Result<()> {
    conn.execute(
        "DELETE FROM access_tokens WHERE expires <= ?1 AND refresh_expires <= ?1",
        [now],
    )
    .context("removing expired tokens")?;
    conn.execute(
        "INSERT INTO access_tokens
             (token_hash, client_id, scope, created, expires, refresh_hash, refresh_expires)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![
            token_hash,
            token.client_id,
            token.scope,
            token.created,
            token.expires,
            refresh.map(|r| &r.hash),
            refresh.map_or(0, |r| r.expires)
        ],
    )
    .context("saving the access token")?;
    Ok(())
}

/// The live token with this hash, if any (an expired one is none).
pub fn token(conn: &Connection, token_hash: &str, now: i64) -> Result<Option<Token>> {
    conn.query_row(
        "SELECT client_id, scope, created, expires FROM access_tokens
         WHERE token_hash = ?1 AND expires > ?2",
        params![token_hash, now],
        read_token,
    )
    .optional()
    .context("checking the access token")
}

/// A `Token` from a row's first four columns.
fn read_token(r: &rusqlite::Row) -> rusqlite::Result<Token> {
    Ok(Token {
        client_id: r.get(0)?,
        scope: r.get(1)?,
        created: r.get(2)?,
        expires: r.get(3)?,
    })
}

/// Uses a refresh token up: the sign-in it belonged to, when it was known
/// and not expired. The whole row (its access token too) is removed either
/// way, so a refresh token works once and the tokens it replaced stop.
pub fn take_refresh(conn: &Connection, refresh_hash: &str, now: i64) -> Result<Option<Token>> {
    take(
        conn,
        "DELETE FROM access_tokens WHERE refresh_hash = ?1
         RETURNING client_id, scope, created, expires, refresh_expires",
        refresh_hash,
        now,
        read_token,
    )
    .context("using the refresh token")
}

/// Forgets a sign-in named by its access or its refresh token's hash: true
/// when it was there.
pub fn delete_token(conn: &Connection, token_hash: &str) -> Result<bool> {
    conn.execute(
        "DELETE FROM access_tokens WHERE token_hash = ?1 OR refresh_hash = ?1",
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

/// Every sign-in with a live access or refresh token, newest first.
pub fn list_tokens(conn: &Connection, now: i64) -> Result<Vec<Listed>> {
    let mut stmt = conn
        .prepare(
            "SELECT token_hash, client_id, scope, created, expires FROM access_tokens
             WHERE expires > ?1 OR refresh_expires > ?1 ORDER BY created DESC, token_hash",
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

    fn app_token() -> Token {
        Token {
            client_id: "https://app.example/".into(),
            scope: "create".into(),
            created: 100,
            expires: 200,
        }
    }

    #[test]
    fn a_token_is_found_by_its_hash_until_it_expires() {
        let conn = crate::store::migrations::in_memory();
        let token = app_token();
        save_token(&conn, "h", &token, None, 100).unwrap();
        assert_eq!(super::token(&conn, "h", 199).unwrap(), Some(token));
        assert_eq!(super::token(&conn, "h", 200).unwrap(), None);
        assert_eq!(super::token(&conn, "x", 100).unwrap(), None);
        assert_eq!(list_tokens(&conn, 150).unwrap().len(), 1);
        assert_eq!(list_tokens(&conn, 200).unwrap().len(), 0, "expired");
        assert!(delete_token(&conn, "h").unwrap());
        assert!(!delete_token(&conn, "h").unwrap());
        assert_eq!(super::token(&conn, "h", 150).unwrap(), None, "revoked");
    }

    #[test]
    fn a_refresh_token_works_once_until_it_expires_and_ends_its_access_token() {
        let conn = crate::store::migrations::in_memory();
        let token = app_token();
        let refresh = |hash: &str| Refresh {
            hash: hash.into(),
            expires: 1000,
        };
        save_token(&conn, "a1", &token, Some(&refresh("r1")), 100).unwrap();
        save_token(&conn, "a2", &token, Some(&refresh("r2")), 100).unwrap();
        assert_eq!(
            list_tokens(&conn, 500).unwrap().len(),
            2,
            "kept while refreshable"
        );
        assert_eq!(take_refresh(&conn, "r1", 500).unwrap(), Some(token.clone()));
        assert_eq!(take_refresh(&conn, "r1", 500).unwrap(), None, "used up");
        assert_eq!(super::token(&conn, "a1", 150).unwrap(), None, "replaced");
        assert_eq!(take_refresh(&conn, "r2", 1000).unwrap(), None, "expired");
        save_token(&conn, "a3", &token, Some(&refresh("r3")), 100).unwrap();
        assert!(
            delete_token(&conn, "r3").unwrap(),
            "revoked by its refresh token"
        );
        assert_eq!(super::token(&conn, "a3", 150).unwrap(), None);
    }
}
