//! Who a user id is: the login name `/etc/passwd` gives it, for messages
//! that say whose a file is and who runs roost (suexec hosts). Reads the
//! file only when such a message is made.

/// The login name of `uid`, else `#UID` (the form `sudo -u` also takes).
pub fn name(uid: u32) -> String {
    std::fs::read_to_string("/etc/passwd")
        .unwrap_or_default()
        .lines()
        .find_map(|line| {
            let mut fields = line.split(':');
            let name = fields.next()?;
            (fields.nth(1)?.parse::<u32>().ok()? == uid).then(|| name.to_string())
        })
        .unwrap_or_else(|| format!("#{uid}"))
}

#[cfg(test)]
mod tests {
    #[test]
    fn root_is_named_and_an_unknown_id_is_numbered() {
        assert_eq!(super::name(0), "root");
        assert_eq!(super::name(4_000_000_000), "#4000000000");
    }
}
