//! The owner's time zone: UTC, a fixed offset (`+02:00`), or a zone name
//! (`Europe/Berlin`) read from the host's tz database (`/usr/share/zoneinfo`,
//! TZif files, RFC 8536) so summer time follows the zone's rules. Owns
//! which names are acceptable (no path escapes the database), reading and
//! caching a zone file, and the offset in force at an instant. Parsing the
//! TZif bytes and the footer's POSIX TZ rule is the `tz-rs` crate's; this
//! module insists on version 2 or later (64-bit times and the footer), so a
//! zone stays right after 2037 and after its last listed transition.
//! Does not store or show the setting (`settings`), nor format times (`render`).

use chrono::FixedOffset;
use std::fmt;
use std::io::Read;
use std::path::PathBuf;
use std::sync::Mutex;

/// Where hosts keep the tz database, in the order they are tried (Debian
/// and most Linux first; the others are older Unix layouts).
pub const DATABASES: &[&str] = &[
    "/usr/share/zoneinfo",
    "/usr/lib/zoneinfo",
    "/usr/share/lib/zoneinfo",
];

/// No zone file comes near this (the largest in tzdata 2025 are ~4 KB);
/// anything longer is not one, and is not read whole.
const MAX_FILE_BYTES: u64 = 64 * 1024;

/// The longest name accepted (the longest in tzdata has 32 characters).
const MAX_NAME_BYTES: usize = 64;

/// The owner's zone. `Copy`: a named zone is read once per process and
/// kept for its life (a FastCGI process re-reads after a restart).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Zone {
    /// UTC or an offset that never changes.
    Fixed(FixedOffset),
    /// A zone of the tz database, with its rules.
    Named(&'static Named),
}

/// A zone read from the tz database.
pub struct Named {
    name: String,
    rules: tz::TimeZone,
}

impl fmt::Debug for Named {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Named({})", self.name)
    }
}

impl PartialEq for Named {
    fn eq(&self, other: &Named) -> bool {
        self.name == other.name
    }
}

/// Why a value is not a zone this host can use. Each message says what to
/// do instead; `settings::validate` and `doctor` show them as they are.
#[derive(Debug, Clone, PartialEq)]
pub enum ZoneError {
    /// Neither UTC, an offset within ±14:00, nor a possible zone name.
    NotAZone(String),
    /// A name this host's tz database does not have.
    Missing(String),
    /// The file is there but is not a TZif file of version 2 or later.
    Unreadable { name: String, why: String },
}

impl fmt::Display for ZoneError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let offset = "or a fixed offset such as +01:00, which works on any host \
                      but does not follow summer time";
        match self {
            ZoneError::NotAZone(value) => write!(
                f,
                "the time zone is UTC, a fixed offset from it such as +02:00 or -05:30 \
                 (within ±14:00), or a zone name such as Europe/Berlin (letters, digits, \
                 _ - + and /, no `..` or leading /), not {value:?}"
            ),
            ZoneError::Missing(name) => write!(
                f,
                "the time zone {name} is not in this host's zone database ({}): \
                 check the spelling (names look like Europe/Berlin or America/New_York), \
                 install the database (on Debian: apt install tzdata), {offset}",
                DATABASES[0]
            ),
            ZoneError::Unreadable { name, why } => write!(
                f,
                "the time zone {name} cannot be read from this host's zone database \
                 ({why}): name a zone such as Europe/Berlin, {offset}"
            ),
        }
    }
}

impl std::error::Error for ZoneError {}

impl Zone {
    pub const UTC: Zone = Zone::Fixed(FixedOffset::east_opt(0).expect("zero is an offset"));

    /// `UTC`, `Z`, `+02:00`, `-0530`, `+2` (any offset within ±14 hours), or
    /// a zone name the host's tz database has, such as `Europe/Berlin`.
    pub fn parse(text: &str) -> Result<Zone, ZoneError> {
        let text = text.trim();
        if let Some(offset) = parse_offset(text) {
            return Ok(Zone::Fixed(offset));
        }
        // What starts like an offset and is not one is a mistyped offset.
        if text.starts_with(['+', '-']) || !is_zone_name(text) {
            return Err(ZoneError::NotAZone(text.to_string()));
        }
        named(text).map(Zone::Named)
    }

    /// As stored and shown in the settings: `UTC`, `+02:00` or `Europe/Berlin`.
    pub fn name(&self) -> String {
        match self {
            Zone::Fixed(offset) if offset.local_minus_utc() == 0 => "UTC".into(),
            Zone::Fixed(offset) => offset_text(*offset),
            Zone::Named(named) => named.name.clone(),
        }
    }

    /// The offset from UTC in force at `unix` (summer or winter time for a
    /// named zone). An instant the zone's data cannot place is shown in UTC.
    pub fn offset_at(&self, unix: i64) -> FixedOffset {
        match self {
            Zone::Fixed(offset) => *offset,
            Zone::Named(named) => named
                .rules
                .find_local_time_type(unix)
                .ok()
                .and_then(|t| FixedOffset::east_opt(t.ut_offset()))
                .unwrap_or(FixedOffset::east_opt(0).expect("zero is an offset")),
        }
    }

    /// How a shown time names its offset at `unix`: `UTC` for the UTC
    /// setting, else the offset then in force (`+01:00`, `+02:00`), which
    /// says more to a reader than an abbreviation such as `CEST`.
    pub fn label_at(&self, unix: i64) -> String {
        match self {
            Zone::Fixed(_) => self.name(),
            Zone::Named(_) => offset_text(self.offset_at(unix)),
        }
    }
}

/// `+02:00`, `-05:30`, `+00:00`.
fn offset_text(offset: FixedOffset) -> String {
    let seconds = offset.local_minus_utc();
    let sign = if seconds < 0 { '-' } else { '+' };
    let minutes = seconds.abs() / 60;
    format!("{sign}{:02}:{:02}", minutes / 60, minutes % 60)
}

/// `UTC`, `Z`, `GMT`, `+02:00`, `-0530`, `+2`, `UTC+01:00`: within ±14 hours.
fn parse_offset(text: &str) -> Option<FixedOffset> {
    if text.eq_ignore_ascii_case("utc") || text.eq_ignore_ascii_case("z") || text == "GMT" {
        return FixedOffset::east_opt(0);
    }
    let text = text
        .strip_prefix("UTC")
        .or_else(|| text.strip_prefix("GMT"))
        .unwrap_or(text);
    let (sign, rest) = match text.as_bytes().first()? {
        b'+' => (1, &text[1..]),
        b'-' => (-1, &text[1..]),
        _ => return None,
    };
    let (hours, minutes) = match rest.split_once(':') {
        Some((h, m)) => (h, m),
        None if rest.len() == 4 => rest.split_at(2),
        None => (rest, "0"),
    };
    let digits = |s: &str| (1..=2).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(hours) || !digits(minutes) {
        return None;
    }
    let (hours, minutes): (i32, i32) = (hours.parse().ok()?, minutes.parse().ok()?);
    if hours > 14 || minutes > 59 || (hours == 14 && minutes > 0) {
        return None;
    }
    FixedOffset::east_opt(sign * (hours * 3600 + minutes * 60))
}

/// A name as the tz database spells them (`Europe/Berlin`, `Etc/GMT+5`,
/// `America/Port-au-Prince`): parts of letters, digits, `_`, `-` and `+`
/// joined by `/`. No `.` at all, so no `..`; no empty part, so no leading
/// `/` and no `//`: the name can only reach a file under the database.
pub fn is_zone_name(text: &str) -> bool {
    (1..=MAX_NAME_BYTES).contains(&text.len())
        && text.split('/').all(|part| {
            !part.is_empty()
                && part
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"_-+".contains(&b))
        })
}

/// Named zones read so far, kept for the process's life: a page formats
/// many times, and a long-lived process many pages. A name that failed is
/// not kept, so installing tzdata is seen without a restart.
static READ: Mutex<Vec<&'static Named>> = Mutex::new(Vec::new());

/// The zone `name` (already checked by `is_zone_name`), read once.
fn named(name: &str) -> Result<&'static Named, ZoneError> {
    let mut read = READ.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    if let Some(named) = read.iter().find(|n| n.name == name) {
        return Ok(named);
    }
    let Some(path) = DATABASES
        .iter()
        .map(|dir| PathBuf::from(dir).join(name))
        .find(|path| path.exists())
    else {
        return Err(ZoneError::Missing(name.to_string()));
    };
    let unreadable = |why: String| ZoneError::Unreadable {
        name: name.to_string(),
        why: format!("{}: {why}", path.display()),
    };
    let mut bytes = Vec::new();
    std::fs::File::open(&path)
        .and_then(|file| file.take(MAX_FILE_BYTES + 1).read_to_end(&mut bytes))
        .map_err(|e| unreadable(e.to_string()))?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(unreadable("far too long for a zone file".into()));
    }
    let rules = from_tzif(&bytes).map_err(unreadable)?;
    // Leaked on purpose: one per distinct name a process ever uses, so
    // `Zone` stays `Copy` for every clock a page passes around.
    let named: &'static Named = Box::leak(Box::new(Named {
        name: name.to_string(),
        rules,
    }));
    read.push(named);
    Ok(named)
}

/// A zone's rules from a TZif file of version 2 or later. A version 1 file
/// has only 32-bit times and no rule for the years after its last
/// transition, so it would be silently wrong: refused, as is anything the
/// parser finds incomplete or inconsistent.
pub fn from_tzif(bytes: &[u8]) -> Result<tz::TimeZone, String> {
    match bytes {
        [b'T', b'Z', b'i', b'f', version, ..] => match version {
            0 => return Err("a version 1 TZif file (no 64-bit data); update tzdata".into()),
            b'2' | b'3' => {}
            other => {
                return Err(format!(
                    "TZif version {:?} is not one roost reads (2 and 3 are)",
                    char::from(*other)
                ));
            }
        },
        _ => return Err("not a TZif file".into()),
    }
    let rules = tz::TimeZone::from_tz_data(bytes).map_err(|e| e.to_string())?;
    if rules.as_ref().extra_rule().is_none() && !rules.as_ref().transitions().is_empty() {
        // Without the footer's rule, times after the last transition have
        // no offset at all (RFC 8536 3.3): a file cut short or made by hand.
        return Err(
            "no rule for the times after its last listed change (zones under \
                    right/ count leap seconds, which the times roost keeps do not: use the \
                    name without right/)"
                .into(),
        );
    }
    Ok(rules)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};

    fn unix(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> i64 {
        Utc.with_ymd_and_hms(y, mo, d, h, mi, 0)
            .unwrap()
            .timestamp()
    }

    fn zone(name: &str) -> Zone {
        Zone::parse(name).unwrap_or_else(|e| panic!("{name}: {e}"))
    }

    fn hours(zone: Zone, unix: i64) -> f64 {
        f64::from(zone.offset_at(unix).local_minus_utc()) / 3600.0
    }

    fn zone_file(name: &str) -> Vec<u8> {
        std::fs::read(PathBuf::from(DATABASES[0]).join(name)).unwrap()
    }

    #[test]
    fn berlin_is_one_hour_ahead_in_winter_and_two_in_summer() {
        let berlin = zone("Europe/Berlin");
        assert_eq!(berlin.name(), "Europe/Berlin");
        assert_eq!(hours(berlin, unix(2024, 1, 15, 12, 0)), 1.0);
        assert_eq!(berlin.label_at(unix(2024, 1, 15, 12, 0)), "+01:00");
        assert_eq!(hours(berlin, unix(2024, 7, 15, 12, 0)), 2.0);
        assert_eq!(berlin.label_at(unix(2024, 7, 15, 12, 0)), "+02:00");
        // The change itself: 31 March 2024, 01:00 UTC (02:00 -> 03:00 local).
        assert_eq!(hours(berlin, unix(2024, 3, 31, 0, 59)), 1.0);
        assert_eq!(hours(berlin, unix(2024, 3, 31, 1, 0)), 2.0);
        // Past the file's last transition: the footer's rule decides.
        assert_eq!(hours(berlin, unix(2090, 7, 1, 0, 0)), 2.0);
        assert_eq!(hours(berlin, unix(2090, 12, 1, 0, 0)), 1.0);
        // Before summer time existed (1970: CET all year).
        assert_eq!(hours(berlin, unix(1970, 7, 1, 0, 0)), 1.0);
    }

    #[test]
    fn new_york_follows_the_us_rules() {
        let new_york = zone("America/New_York");
        assert_eq!(hours(new_york, unix(2024, 1, 15, 12, 0)), -5.0);
        assert_eq!(new_york.label_at(unix(2024, 1, 15, 12, 0)), "-05:00");
        assert_eq!(hours(new_york, unix(2024, 7, 15, 12, 0)), -4.0);
        // Second Sunday of March 2024 (10 March), 02:00 EST = 07:00 UTC.
        assert_eq!(hours(new_york, unix(2024, 3, 10, 6, 59)), -5.0);
        assert_eq!(hours(new_york, unix(2024, 3, 10, 7, 0)), -4.0);
        // First Sunday of November 2024 (3 November), 02:00 EDT = 06:00 UTC.
        assert_eq!(hours(new_york, unix(2024, 11, 3, 5, 59)), -4.0);
        assert_eq!(hours(new_york, unix(2024, 11, 3, 6, 0)), -5.0);
    }

    #[test]
    fn lord_howe_moves_half_an_hour() {
        let lord_howe = zone("Australia/Lord_Howe");
        // Southern summer: +11:00; winter: +10:30.
        assert_eq!(lord_howe.label_at(unix(2024, 1, 15, 12, 0)), "+11:00");
        assert_eq!(lord_howe.label_at(unix(2024, 7, 15, 12, 0)), "+10:30");
        assert_eq!(lord_howe.label_at(unix(2080, 7, 15, 12, 0)), "+10:30");
    }

    #[test]
    fn zones_without_summer_time_keep_one_offset() {
        let tokyo = zone("Asia/Tokyo");
        for t in [
            unix(2024, 1, 15, 12, 0),
            unix(2024, 7, 15, 12, 0),
            unix(2100, 7, 1, 0, 0),
        ] {
            assert_eq!(tokyo.label_at(t), "+09:00");
        }
        let utc_file = zone("Etc/UTC");
        assert_eq!(utc_file.label_at(unix(2024, 7, 15, 12, 0)), "+00:00");
        // `UTC` itself is the setting's default, never a file read.
        assert_eq!(zone("UTC"), Zone::UTC);
        assert_eq!(Zone::UTC.label_at(0), "UTC");
    }

    #[test]
    fn a_zone_is_read_once_per_process() {
        let first = zone("Europe/Paris");
        let Zone::Named(a) = first else {
            panic!("{first:?}")
        };
        let Zone::Named(b) = zone("Europe/Paris") else {
            panic!()
        };
        assert!(std::ptr::eq(a, b));
    }

    #[test]
    fn offsets_are_still_fixed_offsets() {
        for (typed, stored) in [
            ("UTC", "UTC"),
            ("utc", "UTC"),
            ("+02:00", "+02:00"),
            ("-0530", "-05:30"),
            ("+2", "+02:00"),
            ("UTC+01:00", "+01:00"),
            ("+00:00", "UTC"),
            ("+14:00", "+14:00"),
        ] {
            assert_eq!(zone(typed).name(), stored, "{typed}");
            assert_eq!(zone(typed).label_at(0), stored, "{typed}");
        }
        for bad in ["+15:00", "+02:60", "+", "+123", "-1:2:3"] {
            assert!(
                matches!(Zone::parse(bad), Err(ZoneError::NotAZone(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn names_cannot_leave_the_zone_database() {
        for bad in [
            "../../etc/passwd",
            "/etc/passwd",
            "..",
            "Europe/../../../etc/passwd",
            "Europe//Berlin",
            "Europe/Berlin/",
            "./Europe/Berlin",
            "Europe/Berlin\0",
            "Europe\\Berlin",
            "",
            &"A".repeat(65),
        ] {
            let error = Zone::parse(bad).unwrap_err();
            assert!(matches!(error, ZoneError::NotAZone(_)), "{bad:?}: {error}");
            assert!(error.to_string().contains("Europe/Berlin"), "{error}");
        }
    }

    #[test]
    fn a_name_the_host_lacks_says_what_to_do() {
        let error = Zone::parse("Mars/Olympus").unwrap_err();
        assert_eq!(error, ZoneError::Missing("Mars/Olympus".into()));
        let message = error.to_string();
        for part in ["apt install tzdata", "+01:00", "Europe/Berlin"] {
            assert!(message.contains(part), "{part} in {message}");
        }
        // A folder of zones and a file beside them that is not one.
        for name in ["Europe", "leapseconds"] {
            let error = Zone::parse(name).unwrap_err();
            assert!(
                matches!(error, ZoneError::Unreadable { .. }),
                "{name}: {error}"
            );
            assert!(error.to_string().contains("+01:00"), "{error}");
        }
    }

    /// Every zone file on this host reads, with an offset today and far
    /// ahead (so the footer check refuses no real file).
    #[test]
    fn every_zone_on_this_host_is_read() {
        fn walk(dir: &std::path::Path, found: &mut Vec<PathBuf>) {
            for entry in std::fs::read_dir(dir).unwrap() {
                let path = entry.unwrap().path();
                // Leap-second zones are refused on purpose (below).
                if path.ends_with("right") {
                    continue;
                } else if path.is_dir() {
                    walk(&path, found);
                } else {
                    found.push(path);
                }
            }
        }
        let mut files = Vec::new();
        walk(std::path::Path::new(DATABASES[0]), &mut files);
        let mut zones = 0;
        for path in files {
            let bytes = std::fs::read(&path).unwrap();
            if !bytes.starts_with(b"TZif") {
                continue;
            }
            let rules = from_tzif(&bytes).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            for t in [0, 1_700_000_000, 4_000_000_000] {
                assert!(
                    rules.find_local_time_type(t).is_ok(),
                    "{} at {t}",
                    path.display()
                );
            }
            zones += 1;
        }
        assert!(zones > 300, "only {zones} zone files in {}", DATABASES[0]);
        // A zone that counts leap seconds has no rule past its last leap
        // second, and would be off by half a minute before it anyway.
        if std::path::Path::new(DATABASES[0])
            .join("right/CET")
            .exists()
        {
            let error = Zone::parse("right/CET").unwrap_err().to_string();
            assert!(error.contains("use the name without right/"), "{error}");
        }
    }

    #[test]
    fn broken_zone_files_are_refused() {
        let berlin = zone_file("Europe/Berlin");
        assert!(from_tzif(&berlin).is_ok());
        // Cut anywhere: the header, the v1 block, the v2 block, the footer.
        for cut in [
            0,
            3,
            20,
            44,
            100,
            berlin.len() / 2,
            berlin.len() - 10,
            berlin.len() - 1,
        ] {
            assert!(from_tzif(&berlin[..cut]).is_err(), "cut at {cut}");
        }
        // A version 1 file: the same header with version 0 and only the v1 block.
        let mut v1 = berlin.clone();
        v1[4] = 0;
        let error = from_tzif(&v1).unwrap_err();
        assert!(error.contains("version 1"), "{error}");
        let mut v9 = berlin.clone();
        v9[4] = b'9';
        assert!(from_tzif(&v9).is_err());
        // Garbage, and text that is no zone.
        assert!(from_tzif(b"").is_err());
        assert!(from_tzif(b"TZif").is_err());
        assert!(from_tzif(&[0xff; 4096]).is_err());
        assert!(from_tzif(&zone_file("zone1970.tab")).is_err());
        // A garbled footer rule.
        let footer = berlin.iter().rposition(|&b| b == b'C').unwrap();
        let mut bad_rule = berlin.clone();
        bad_rule[footer] = b'!';
        assert!(from_tzif(&bad_rule).is_err());
    }
}
