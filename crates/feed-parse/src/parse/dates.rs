//! Dates as feeds write them, into Unix seconds: RFC 3339 / ISO 8601,
//! RFC 822 / 1123 and the loose forms found in the wild.

/// Parses the date formats found in feeds into Unix seconds: RFC 3339 / ISO 8601
/// (with or without `T`, seconds, fraction or zone; compact forms), RFC 822 /
/// 2822 and their variants (any or no weekday, long month names, two-digit
/// years, zone names, no zone, no seconds), `asctime`, and `DD.MM.YYYY`. A
/// missing zone is UTC. Anything else is None: a date is never invented.
pub fn parse_date(s: &str) -> Option<i64> {
    let s = s.trim();
    if s.is_empty() || s.len() > 100 {
        return None;
    }
    parse_iso8601(s).or_else(|| parse_loose(s))
}

fn to_unix(y: i32, mo: u32, d: u32, h: u32, mi: u32, sec: u32, offset_secs: i64) -> Option<i64> {
    if !(1000..=9999).contains(&y) || h > 24 || mi > 59 || sec > 60 {
        return None;
    }
    let date = chrono::NaiveDate::from_ymd_opt(y, mo, d)?;
    let (h, extra_day) = if h == 24 {
        if mi != 0 || sec != 0 {
            return None;
        }
        (0, 86_400)
    } else {
        (h, 0)
    };
    let t = date.and_hms_opt(h, mi, sec.min(59))?;
    Some(t.and_utc().timestamp() + extra_day - offset_secs)
}

fn digits(s: &str, n: usize) -> Option<u32> {
    let d = s.get(..n)?;
    d.bytes()
        .all(|b| b.is_ascii_digit())
        .then(|| d.parse().ok())?
}

fn parse_iso8601(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() < 7 || !b[..4].iter().all(u8::is_ascii_digit) {
        return None;
    }
    let y = digits(s, 4)? as i32;
    let (mo, d, mut rest) = if b[4] == b'-' {
        let mo = digits(&s[5..], 2)?;
        if s.len() == 7 {
            (mo, 1, "")
        } else if b.get(7) == Some(&b'-') {
            (mo, digits(s.get(8..)?, 2)?, s.get(10..)?)
        } else {
            return None;
        }
    } else if b.len() >= 8 && b[..8].iter().all(u8::is_ascii_digit) {
        (digits(&s[4..], 2)?, digits(&s[6..], 2)?, &s[8..])
    } else {
        return None;
    };
    let (mut h, mut mi, mut sec) = (0, 0, 0);
    if let Some(t) = rest.strip_prefix(['T', 't', ' ']) {
        let t = t.trim_start();
        if t.len() >= 2 && t.as_bytes()[..2].iter().all(u8::is_ascii_digit) {
            h = digits(t, 2)?;
            let mut r = &t[2..];
            let colon = r.starts_with(':');
            let field = |r: &str| -> Option<(u32, usize)> {
                let off = usize::from(colon && r.starts_with(':'));
                Some((digits(r.get(off..)?, 2)?, off + 2))
            };
            if let Some((m, used)) = field(r) {
                mi = m;
                r = &r[used..];
                if let Some((sv, used)) = field(r) {
                    sec = sv;
                    r = &r[used..];
                    if let Some(frac) = r.strip_prefix(['.', ',']) {
                        r = frac.trim_start_matches(|c: char| c.is_ascii_digit());
                    }
                }
            }
            rest = r;
        } else {
            rest = t;
        }
    }
    let offset = parse_zone(rest.trim())?;
    to_unix(y, mo, d, h, mi, sec, offset)
}

/// A zone: empty (UTC), `Z`, `±HH:MM`, `±HHMM`, `±HH`, or a name (with or without parentheses).
fn parse_zone(z: &str) -> Option<i64> {
    let z = z.trim().trim_matches(|c| c == '(' || c == ')').trim();
    if z.is_empty() {
        return Some(0);
    }
    if let Some(sign) = z
        .strip_prefix(['+', '-'])
        .map(|_| if z.starts_with('-') { -1 } else { 1 })
    {
        let n: String = z[1..].chars().filter(|c| *c != ':').collect();
        if !n.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let (h, m) = match n.len() {
            1 | 2 => (n.parse::<i64>().ok()?, 0),
            3 => (n[..1].parse::<i64>().ok()?, n[1..].parse::<i64>().ok()?),
            4 => (n[..2].parse::<i64>().ok()?, n[2..].parse::<i64>().ok()?),
            _ => return None,
        };
        if h > 23 || m > 59 {
            return None;
        }
        return Some(sign * (h * 3600 + m * 60));
    }
    let upper = z.to_ascii_uppercase();
    // "GMT+2", "UTC-05:00"
    for prefix in ["GMT", "UTC", "UT"] {
        if let Some(r) = upper.strip_prefix(prefix)
            && (r.starts_with('+') || r.starts_with('-'))
        {
            return parse_zone(r);
        }
    }
    let hours = match upper.as_str() {
        "Z" | "UT" | "UTC" | "GMT" | "WET" => 0,
        "EST" => -5,
        "EDT" => -4,
        "CST" => -6,
        "CDT" => -5,
        "MST" => -7,
        "MDT" => -6,
        "PST" => -8,
        "PDT" => -7,
        "AKST" => -9,
        "AKDT" => -8,
        "HST" => -10,
        "AST" => -4,
        "ADT" => -3,
        "BST" | "CET" | "MET" | "WEST" => 1,
        "CEST" | "MEST" | "EET" => 2,
        "EEST" | "MSK" => 3,
        "IST" => return Some(5 * 3600 + 1800),
        "JST" | "KST" => 9,
        "AEST" => 10,
        "AEDT" => 11,
        "NZST" => 12,
        "NZDT" => 13,
        _ => return None,
    };
    Some(hours * 3600)
}

fn month_from_name(w: &str) -> Option<u32> {
    let w = w.trim_end_matches('.').to_ascii_lowercase();
    if w.len() < 3 {
        return None;
    }
    const MONTHS: [&str; 12] = [
        "january",
        "february",
        "march",
        "april",
        "may",
        "june",
        "july",
        "august",
        "september",
        "october",
        "november",
        "december",
    ];
    MONTHS
        .iter()
        .position(|m| m.starts_with(&w) || (w.len() > 3 && w.starts_with(&m[..3]) && w == "sept"))
        .map(|i| i as u32 + 1)
}

fn is_weekday(w: &str) -> bool {
    let w = w.trim_end_matches('.').to_ascii_lowercase();
    w.len() >= 2
        && [
            "monday",
            "tuesday",
            "wednesday",
            "thursday",
            "friday",
            "saturday",
            "sunday",
        ]
        .iter()
        .any(|d| d.starts_with(&w) || w.starts_with(&d[..3]))
}

/// RFC 822 and friends, by tokens: a month name, a day, a year, an optional
/// time (with am/pm), an optional zone; also `YYYY/MM/DD` and `DD.MM.YYYY`.
fn parse_loose(s: &str) -> Option<i64> {
    let mut year: Option<i32> = None;
    let mut month: Option<u32> = None;
    let mut day: Option<u32> = None;
    let mut time: Option<(u32, u32, u32)> = None;
    let mut offset: Option<i64> = None;
    let mut pm: Option<bool> = None;
    let tokens: Vec<&str> = s
        .split(|c: char| c.is_whitespace() || c == ',')
        .filter(|t| !t.is_empty())
        .collect();
    for (i, tok) in tokens.iter().enumerate() {
        let tok = *tok;
        let lower = tok.to_ascii_lowercase();
        if tok.contains(':') && tok.as_bytes()[0].is_ascii_digit() && time.is_none() {
            // 12:00, 12:00:00, 12:00:00.123, 12:00:00Z, 12:00:00+0100
            let split = tok
                .find(|c: char| c == '+' || c == '-' || c.is_ascii_alphabetic())
                .unwrap_or(tok.len());
            let (clock, zone) = tok.split_at(split);
            let mut parts = clock.split(':');
            let h = parts.next()?.parse::<u32>().ok()?;
            let m = parts.next()?.parse::<u32>().ok()?;
            let sec = parts
                .next()
                .map_or(Some(0), |p| p.split(['.', ',']).next()?.parse::<u32>().ok())?;
            time = Some((h, m, sec));
            if !zone.is_empty() {
                match zone.to_ascii_lowercase().as_str() {
                    "am" => pm = Some(false),
                    "pm" => pm = Some(true),
                    _ => offset = Some(parse_zone(zone)?),
                }
            }
        } else if lower == "am" || lower == "pm" {
            pm = Some(lower == "pm");
        } else if tok.contains('/')
            || (tok.matches('.').count() == 2 && tok.as_bytes()[0].is_ascii_digit())
        {
            let parts: Vec<&str> = tok.split(['/', '.']).collect();
            let nums: Vec<u32> = parts.iter().filter_map(|p| p.parse().ok()).collect();
            if nums.len() != 3 || year.is_some() {
                return None;
            }
            if parts[0].len() == 4 {
                (year, month, day) = (Some(nums[0] as i32), Some(nums[1]), Some(nums[2]));
            } else if tok.contains('.') && parts[2].len() == 4 {
                (day, month, year) = (Some(nums[0]), Some(nums[1]), Some(nums[2] as i32));
            } else {
                return None;
            }
        } else if let Some(m) = month_from_name(tok)
            .filter(|_| month.is_none() && tok.chars().all(|c| c.is_ascii_alphabetic() || c == '.'))
        {
            month = Some(m);
        } else if tok.bytes().all(|b| b.is_ascii_digit()) {
            let n: u32 = tok.parse().ok()?;
            match tok.len() {
                4 if year.is_none() => year = Some(n as i32),
                1 | 2 if day.is_none() => day = Some(n),
                2 if year.is_none() => {
                    year = Some(if n < 50 {
                        2000 + n as i32
                    } else {
                        1900 + n as i32
                    })
                }
                _ => return None,
            }
        } else if (tok.starts_with('+') || tok.starts_with('-')) && offset.is_none() {
            offset = Some(parse_zone(tok)?);
        } else if is_weekday(tok) || lower == "at" || lower == "the" || lower == "of" {
            continue;
        } else if let Some(o) = parse_zone(tok).filter(|_| offset.is_none() && i > 0) {
            offset = Some(o);
        } else if tok.starts_with('(')
            || (i == 0 && tok.chars().all(|c| c.is_alphabetic() || c == '.'))
        {
            // A comment, or a weekday in another language ("mer, 16 nov 2022").
            continue;
        } else {
            return None;
        }
    }
    let (y, mo, d) = (year?, month?, day?);
    let (mut h, mi, sec) = time.unwrap_or((0, 0, 0));
    match pm {
        Some(true) if h < 12 => h += 12,
        Some(false) if h == 12 => h = 0,
        _ => {}
    }
    to_unix(y, mo, d, h, mi, sec, offset.unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::testing::*;

    #[test]
    fn dates() {
        let cases = [
            ("2003-12-31T10:14:55Z", "2003-12-31T10:14:55Z"),
            ("2003-12-31T10:14:55.123-08:00", "2003-12-31T18:14:55Z"),
            ("2003-12-31t10:14:55z", "2003-12-31T10:14:55Z"),
            ("2003-12-31 10:14:55", "2003-12-31T10:14:55Z"),
            ("2003-12-31T10:14", "2003-12-31T10:14:00Z"),
            ("2003-12-31T10:14:55+0100", "2003-12-31T09:14:55Z"),
            ("2003-12-31T10:14:55 +01", "2003-12-31T09:14:55Z"),
            ("2003-12-31", "2003-12-31T00:00:00Z"),
            ("20031231T101455Z", "2003-12-31T10:14:55Z"),
            ("2003-12", "2003-12-01T00:00:00Z"),
            ("Wed, 31 Dec 2003 10:14:55 GMT", "2003-12-31T10:14:55Z"),
            ("Wed, 31 Dec 2003 10:14:55 +0000", "2003-12-31T10:14:55Z"),
            ("Wed, 31 Dec 2003 10:14:55 -0500", "2003-12-31T15:14:55Z"),
            ("Wed, 31 Dec 2003 10:14:55 EST", "2003-12-31T15:14:55Z"),
            ("Wed, 31 Dec 2003 10:14:55 PDT", "2003-12-31T17:14:55Z"),
            ("Wed, 31 Dec 2003 10:14:55 UT", "2003-12-31T10:14:55Z"),
            ("Wed, 31 Dec 2003 10:14:55", "2003-12-31T10:14:55Z"),
            ("Wed, 31 Dec 2003 10:14 GMT", "2003-12-31T10:14:00Z"),
            ("Thu, 31 Dec 2003 10:14:55 GMT", "2003-12-31T10:14:55Z"),
            (
                "Wednesday, 31 December 2003 10:14:55 GMT",
                "2003-12-31T10:14:55Z",
            ),
            ("31 Dec 03 10:14:55 GMT", "2003-12-31T10:14:55Z"),
            ("Wed, 31 Dec 2003 9:04:05 GMT", "2003-12-31T09:04:05Z"),
            ("Wed, 1 Sept 2004 10:14:55 GMT", "2004-09-01T10:14:55Z"),
            ("Dec 31, 2003 10:14 PM", "2003-12-31T22:14:00Z"),
            ("Wed Dec 31 10:14:55 2003", "2003-12-31T10:14:55Z"),
            ("Wed Dec 31 10:14:55 PST 2003", "2003-12-31T18:14:55Z"),
            ("mer, 16 nov 2022 00:38:15 +0100", "2022-11-15T23:38:15Z"),
            ("31.12.2003 10:14", "2003-12-31T10:14:00Z"),
            ("2003/12/31 10:14:55", "2003-12-31T10:14:55Z"),
            ("Wed, 31 Dec 2003 10:14:55 GMT+2", "2003-12-31T08:14:55Z"),
            ("2003-12-31T24:00:00Z", "2004-01-01T00:00:00Z"),
        ];
        for (input, want) in cases {
            assert_eq!(parse_date(input), Some(ts(want)), "{input}");
        }
        for bad in [
            "",
            "yesterday",
            "2003-13-01",
            "2003-02-30T00:00:00Z",
            "Wed, 32 Dec 2003 10:14:55 GMT",
            "Wed, 31 Foo 2003 10:14:55 GMT",
            "\u{fffd}\u{fffd}\u{fffd}, 29 \u{fffd}\u{fffd}\u{fffd}\u{fffd} 2004 12:53:00 GMT",
            "31 Dec",
            "12:00",
            "2003",
            "1234567890",
        ] {
            assert_eq!(parse_date(bad), None, "{bad:?}");
        }
    }
}
