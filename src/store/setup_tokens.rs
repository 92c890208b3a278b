//! The one-time setup links' tokens (stored hashed, with an expiry): how the
//! owner of a node without a password chooses one in the browser.

use anyhow::{Context, Result};
use rusqlite::{Connection, params};

/// Keeps a new token's hash until `expires`; forgets expired ones.
pub fn create(conn: &Connection, token_hash: &str, now: i64, expires: i64) -> Result<()> {
    conn.execute("DELETE FROM setup_tokens WHERE expires <= ?1", [now])
        .context("removing expired setup links")?;
    conn.execute(
        "INSERT INTO setup_tokens (token_hash, expires) VALUES (?1, ?2)",
        params![token_hash, expires],
    )
    .context("saving the setup link")?;
    Ok(())
}

/// Whether the token is known and not expired (it is not used up).
pub fn is_valid(conn: &Connection, token_hash: &str, now: i64) -> Result<bool> {
    conn.query_row(
        "SELECT count(*) FROM setup_tokens WHERE token_hash = ?1 AND expires > ?2",
        params![token_hash, now],
        |r| r.get::<_, i64>(0),
    )
    .map(|n| n > 0)
    .context("checking the setup link")
}

/// Uses the token up: true when it was valid. Every other setup link goes
/// with it (a password is chosen once).
pub fn take(conn: &Connection, token_hash: &str, now: i64) -> Result<bool> {
    if !is_valid(conn, token_hash, now)? {
        return Ok(false);
    }
    conn.execute("DELETE FROM setup_tokens", [])
        .context("using up the setup link")?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schema() -> Connection {
        let mut conn = Connection::open_in_memory().unwrap();
        crate::store::migrations::migrate(&mut conn).unwrap();
        conn
    }

    #[test]
    fn a_setup_token_works_once_and_only_until_it_expires() {
        let conn = schema();
        create(&conn, "a", 100, 200).unwrap();
        create(&conn, "b", 100, 200).unwrap();
        assert!(!is_valid(&conn, "a", 200).unwrap(), "expired at 200");
        assert!(!take(&conn, "a", 200).unwrap());
        assert!(!take(&conn, "wrong", 150).unwrap());
        assert!(
            is_valid(&conn, "b", 150).unwrap(),
            "a wrong token spoils no other"
        );
        assert!(take(&conn, "a", 150).unwrap());
        assert!(!take(&conn, "a", 150).unwrap(), "used up");
        assert!(!is_valid(&conn, "b", 150).unwrap(), "one password, one use");
    }
}
