//! Which binary this is: the package version and a hash of the sources it was
//! built from (`build.rs`). Part of every page ETag and of the page-cache key,
//! so that after an upgrade (a new `roost.cgi` uploaded over the old one) no
//! client keeps, and no kept page serves, what the old binary rendered.

/// `VERSION+SOURCEHASH`, e.g. `0.1.0+3f2a9c0d11e4b7a2`.
pub const BUILD_ID: &str = concat!(env!("CARGO_PKG_VERSION"), "+", env!("ROOST_BUILD_ID"));

#[cfg(test)]
mod tests {
    #[test]
    fn build_id_names_the_version_and_a_source_hash() {
        let (version, hash) = super::BUILD_ID.split_once('+').unwrap();
        assert_eq!(version, env!("CARGO_PKG_VERSION"));
        assert_eq!(hash.len(), 16);
        assert!(hash.bytes().all(|b| b.is_ascii_hexdigit()));
    }
}
