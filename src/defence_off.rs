//! The hostile-content test's switch for turning one defence off at a time,
//! so that it can show each defence holds alone (`tests/xss.rs`).
//!
//! Only a build with the cargo feature `xss-test-defence-off` reads
//! [`VARIABLE`]; in every other build (the one users get) the functions here
//! are constant `false` and nothing reads the environment. In the test build
//! the variable is read once per process and holds a comma-separated list:
//!
//! - `sanitizer`: `sanitize` passes remote HTML, titles, names and URLs
//!   through unchanged (so only the Content-Security-Policy stands);
//! - `csp`: responses carry no `Content-Security-Policy` header (so only the
//!   sanitizer stands).

/// The environment variable the test build reads (never a normal build).
pub const VARIABLE: &str = "ROOST_XSS_TEST_DEFENCE_OFF";

/// Whether the sanitizer is turned off (test build only).
pub fn sanitizer_off() -> bool {
    off("sanitizer")
}

/// Whether the Content-Security-Policy header is left out (test build only).
pub fn csp_off() -> bool {
    off("csp")
}

#[cfg(not(feature = "xss-test-defence-off"))]
fn off(_defence: &str) -> bool {
    false
}

#[cfg(feature = "xss-test-defence-off")]
fn off(defence: &str) -> bool {
    static OFF: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();
    OFF.get_or_init(|| {
        std::env::var(VARIABLE)
            .unwrap_or_default()
            .split(',')
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect()
    })
    .iter()
    .any(|d| d == defence)
}

#[cfg(all(test, not(feature = "xss-test-defence-off")))]
mod tests {
    use super::*;

    #[test]
    fn a_normal_build_ignores_the_variable() {
        // SAFETY: this test binary's only test touching the environment.
        unsafe { std::env::set_var(VARIABLE, "sanitizer,csp") };
        assert!(!sanitizer_off());
        assert!(!csp_off());
    }
}
