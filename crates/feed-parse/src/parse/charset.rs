//! The charset decision and decoding: which encoding a document's bytes are
//! in, chosen from its head and one pass over its bytes, and decoding them.
//! Does not parse.
//!
//! # Encoding precedence
//!
//! From strongest to weakest:
//!
//! 1. A byte-order mark (UTF-8, UTF-16 LE/BE, UTF-32 LE/BE).
//! 2. A UTF-16/UTF-32 byte pattern without a BOM (`<` `?` interleaved with zero
//!    bytes, XML 1.0 appendix F), since such bytes cannot be anything else.
//! 3. The HTTP `Content-Type` charset parameter (RFC 7303: it overrides the
//!    document).
//! 4. The XML declaration's `encoding`.
//! 5. UTF-8.
//!
//! Then two corrections for the mislabelling that is common in the wild: a
//! declared legacy charset (ISO-8859-1, windows-1252, KOI8-R...) loses to UTF-8
//! when the bytes are valid UTF-8 and not plain ASCII (servers that add
//! `charset=ISO-8859-1` to everything); and when UTF-8 was chosen but the bytes
//! are not valid UTF-8, each bad byte becomes U+FFFD where it stands (the rest
//! is never re-read in another charset), and so when a legacy charset was
//! declared but the bytes are mostly UTF-8 (more good multi-byte characters
//! than bad sequences). Bytes that are not mostly UTF-8 are read otherwise:
//! as the XML declaration's charset when HTTP said UTF-8 and the declaration
//! names another, and as windows-1252 when nothing named a charset. A
//! declared UTF-16/32 without the byte
//! pattern is ignored. Labels are resolved the WHATWG way (encoding_rs), so
//! ISO-8859-1 and US-ASCII decode as windows-1252 (curly quotes in
//! `0x80..0x9F` come out right). RFC 3023's "text/xml without a charset means
//! US-ASCII" is deliberately not followed, like every current reader.

use std::borrow::Cow;
use std::io::{self, Read};

use encoding_rs::Encoding;

use crate::stream::Decoding;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) enum Charset {
    Std(&'static Encoding),
    Utf32Le,
    Utf32Be,
}

impl Charset {
    pub(super) fn name(self) -> &'static str {
        match self {
            Charset::Std(e) => e.name(),
            Charset::Utf32Le => "UTF-32LE",
            Charset::Utf32Be => "UTF-32BE",
        }
    }
    pub(super) fn decoding(self) -> Decoding {
        match self {
            Charset::Std(e) => Decoding::Encoding(e),
            Charset::Utf32Le => Decoding::Utf32 {
                little_endian: true,
            },
            Charset::Utf32Be => Decoding::Utf32 {
                little_endian: false,
            },
        }
    }
    fn is_wide(self) -> bool {
        match self {
            Charset::Std(e) => e == encoding_rs::UTF_16LE || e == encoding_rs::UTF_16BE,
            _ => true,
        }
    }
}

fn charset_for_label(label: &str) -> Option<Charset> {
    let label = label.trim().trim_matches(|c| c == '"' || c == '\'').trim();
    let lower = label.to_ascii_lowercase();
    match lower.as_str() {
        "utf-32" | "utf32" | "ucs-4" | "utf-32le" => return Some(Charset::Utf32Le),
        "utf-32be" => return Some(Charset::Utf32Be),
        _ => {}
    }
    match Encoding::for_label_no_replacement(label.as_bytes()) {
        Some(e) if e != encoding_rs::REPLACEMENT && e != encoding_rs::X_USER_DEFINED => {
            Some(Charset::Std(e))
        }
        _ => None,
    }
}

/// Decodes `bytes` to UTF-8 following the precedence in the module docs.
/// Returns the text (without BOM) and the name of the encoding used.
pub(super) fn decode<'a>(
    bytes: &'a [u8],
    content_type: Option<&str>,
) -> (Cow<'a, str>, &'static str) {
    let scan = scan_utf8(&mut &bytes[..]).unwrap_or_default();
    let valid_utf8 = scan.valid;
    let (chosen, bom) = choose_charset(bytes, content_type, &scan);
    let utf8 = Charset::Std(encoding_rs::UTF_8);
    if chosen == utf8 && valid_utf8 && bom == 0 {
        // Checked above: no copy needed.
        return (
            Cow::Borrowed(std::str::from_utf8(bytes).unwrap_or_default()),
            utf8.name(),
        );
    }
    (decode_with(chosen, &bytes[bom..]), chosen.name())
}

/// The charset of a document (the precedence in the module docs) and the
/// length of its byte-order mark. `head` is the start of the document (a few
/// KiB are enough); `scan` is about the whole of it.
pub(super) fn choose_charset(
    head: &[u8],
    content_type: Option<&str>,
    scan: &Utf8Scan,
) -> (Charset, usize) {
    let (valid_utf8, ascii) = (scan.valid, scan.ascii);
    let boms: [(&[u8], Charset); 5] = [
        (&[0xEF, 0xBB, 0xBF], Charset::Std(encoding_rs::UTF_8)),
        (&[0xFF, 0xFE, 0, 0], Charset::Utf32Le),
        (&[0, 0, 0xFE, 0xFF], Charset::Utf32Be),
        (&[0xFF, 0xFE], Charset::Std(encoding_rs::UTF_16LE)),
        (&[0xFE, 0xFF], Charset::Std(encoding_rs::UTF_16BE)),
    ];
    for (bom, cs) in boms {
        if head.starts_with(bom) {
            return (cs, bom.len());
        }
    }
    if let Some(cs) = sniff_wide(head) {
        return (cs, 0);
    }
    let http = content_type
        .and_then(charset_param)
        .and_then(|l| charset_for_label(&l));
    let decl = xml_declared_encoding(head).and_then(|l| charset_for_label(&l));
    // No wide byte pattern was seen: a declared UTF-16/32 is wrong.
    let http = http.filter(|c| !c.is_wide());
    let decl = decl.filter(|c| !c.is_wide());
    let utf8 = Charset::Std(encoding_rs::UTF_8);
    // Not valid UTF-8, but more good multi-byte characters than bad
    // sequences: a UTF-8 document with a bad byte or two, not Latin-1 text
    // with an accidental sequence.
    let mostly_utf8 = !valid_utf8 && scan.multibyte > scan.broken;
    let chosen = match http.or(decl) {
        None if valid_utf8 => utf8,
        Some(c) if c == utf8 && valid_utf8 => utf8,
        // UTF-8 with a bad byte or two: each is replaced where it stands (the
        // rest is never re-read in another charset). Only a document that is
        // not mostly UTF-8 is taken for the legacy text it then is.
        None if mostly_utf8 => utf8,
        None => Charset::Std(encoding_rs::WINDOWS_1252),
        // Declared UTF-8 means UTF-8, bad bytes and all (but an HTTP charset
        // of UTF-8 loses to a declaration of another, when no UTF-8 is there).
        Some(c) if c == utf8 => match decl {
            Some(d) if d != utf8 && !mostly_utf8 => d,
            _ => utf8,
        },
        // A legacy label on what is (mostly) UTF-8: a server's default.
        Some(_) if (valid_utf8 || mostly_utf8) && !ascii => utf8,
        Some(other) => other,
    };
    (chosen, 0)
}

/// What the bytes of a whole document are, as UTF-8 ([`scan_utf8`]).
#[derive(Debug, Default, Clone, Copy)]
pub(super) struct Utf8Scan {
    /// Valid UTF-8 throughout.
    pub(super) valid: bool,
    /// ASCII throughout.
    ascii: bool,
    /// Well-formed multi-byte characters.
    multibyte: usize,
    /// Broken sequences (each a run of bytes that are no UTF-8).
    broken: usize,
}

/// Reads the whole of `src` a chunk at a time and says what it is as UTF-8
/// (a sequence cut by a chunk's end is carried to the next chunk).
pub(super) fn scan_utf8(src: &mut impl Read) -> io::Result<Utf8Scan> {
    const SCAN_CHUNK: usize = 16 * 1024;
    // Read into spare capacity: most documents are smaller than a chunk,
    // and zeroing a whole chunk for each was a cost of its own.
    let mut buf = Vec::with_capacity(SCAN_CHUNK);
    let mut scan = Utf8Scan {
        valid: true,
        ascii: true,
        ..Utf8Scan::default()
    };
    let mut carry = 0;
    loop {
        buf.truncate(carry);
        let n = src
            .by_ref()
            .take((SCAN_CHUNK - carry) as u64)
            .read_to_end(&mut buf)?;
        let len = carry + n;
        if n == 0 {
            // An incomplete sequence at the very end.
            if carry > 0 {
                scan.valid = false;
                scan.broken += 1;
            }
            return Ok(scan);
        }
        scan.ascii &= buf[carry..len].is_ascii();
        if scan.ascii {
            carry = 0;
            continue;
        }
        // Valid UTF-8 (but perhaps for a sequence cut by the chunk's end),
        // the usual case, is told by the fast check; only chunks with a bad
        // byte are looked at a sequence at a time.
        let valid = match std::str::from_utf8(&buf[..len]) {
            Ok(_) => Some(len),
            Err(e) if e.error_len().is_none() => Some(e.valid_up_to()),
            Err(_) => None,
        };
        if let Some(valid) = valid {
            scan.multibyte += count_lead_bytes(&buf[..valid]);
            buf.copy_within(valid..len, 0);
            carry = len - valid;
            continue;
        }
        // An incomplete sequence at the end of the chunk is carried over.
        let (mut at, mut keep) = (0, 0);
        for chunk in buf[..len].utf8_chunks() {
            // A multi-byte character has one lead byte (0xC0 and up).
            scan.multibyte += count_lead_bytes(chunk.valid().as_bytes());
            let bad = chunk.invalid();
            at += chunk.valid().len() + bad.len();
            if bad.is_empty() {
                continue;
            }
            let incomplete = std::str::from_utf8(bad).is_err_and(|e| e.error_len().is_none());
            if at == len && incomplete {
                keep = bad.len();
            } else {
                scan.valid = false;
                scan.broken += 1;
            }
        }
        buf.copy_within(len - keep..len, 0);
        carry = keep;
    }
}

/// How many bytes of `b` start a multi-byte UTF-8 character (0xC0 and up).
fn count_lead_bytes(b: &[u8]) -> usize {
    count_bytes(b, |c| c >= 0xc0)
}

/// How many bytes of `b` are `wanted`, counted in blocks of 255 that a
/// vector register can sum (a byte at a time was a cost of its own).
pub(super) fn count_bytes(b: &[u8], wanted: impl Fn(u8) -> bool) -> usize {
    b.chunks(255)
        .map(|block| usize::from(block.iter().fold(0u8, |n, &c| n + u8::from(wanted(c)))))
        .sum()
}

pub(super) fn decode_with(cs: Charset, bytes: &[u8]) -> Cow<'_, str> {
    match cs {
        Charset::Std(e) => e.decode_without_bom_handling(bytes).0,
        Charset::Utf32Le | Charset::Utf32Be => {
            let mut out = String::with_capacity(bytes.len() / 4);
            for c in bytes.chunks(4) {
                let v = match (c.len(), cs) {
                    (4, Charset::Utf32Le) => u32::from_le_bytes([c[0], c[1], c[2], c[3]]),
                    (4, _) => u32::from_be_bytes([c[0], c[1], c[2], c[3]]),
                    _ => 0xFFFD,
                };
                out.push(char::from_u32(v).unwrap_or('\u{FFFD}'));
            }
            Cow::Owned(out)
        }
    }
}

/// UTF-16/32 without a BOM, from the zero bytes around the first character.
fn sniff_wide(b: &[u8]) -> Option<Charset> {
    if b.len() < 4 {
        return None;
    }
    match (b[0] == 0, b[1] == 0, b[2] == 0, b[3] == 0) {
        (true, true, true, false) => Some(Charset::Utf32Be),
        (false, true, true, true) => Some(Charset::Utf32Le),
        (true, false, true, false) => Some(Charset::Std(encoding_rs::UTF_16BE)),
        (false, true, false, true) => Some(Charset::Std(encoding_rs::UTF_16LE)),
        _ => None,
    }
}

/// The `charset` parameter of a Content-Type header value.
fn charset_param(content_type: &str) -> Option<String> {
    content_type.split(';').skip(1).find_map(|p| {
        let (k, v) = p.split_once('=')?;
        k.trim()
            .eq_ignore_ascii_case("charset")
            .then(|| v.trim().to_string())
    })
}

/// `text/html` from `text/html; charset=...`, lower-cased.
pub(super) fn mime_essence(content_type: Option<&str>) -> Option<String> {
    let m = content_type?.split(';').next()?.trim().to_ascii_lowercase();
    (!m.is_empty()).then_some(m)
}

/// The `encoding` pseudo-attribute of an XML declaration at the start of an
/// ASCII-compatible document.
fn xml_declared_encoding(bytes: &[u8]) -> Option<String> {
    let start = bytes.iter().position(|b| !b.is_ascii_whitespace())?;
    let head = &bytes[start..bytes.len().min(start + 512)];
    if !head.starts_with(b"<?xml") {
        return None;
    }
    let end = head.windows(2).position(|w| w == b"?>")?;
    let decl = String::from_utf8_lossy(&head[..end]);
    let at = decl.find("encoding")?;
    let rest = decl[at + "encoding".len()..]
        .trim_start()
        .strip_prefix('=')?
        .trim_start();
    let quote = rest.chars().next().filter(|c| *c == '"' || *c == '\'')?;
    let value = &rest[1..];
    Some(value[..value.find(quote)?].to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::testing::*;

    /// One feed, in many encodings and labellings.
    #[test]
    fn encodings() {
        let title = "Café – “quoted” ½";
        let doc = |decl: &str| {
            format!("{decl}<rss version=\"2.0\"><channel><title>{title}</title></channel></rss>")
        };
        let plain = doc("");
        let utf16 = |s: &str, be: bool| -> Vec<u8> {
            s.encode_utf16()
                .flat_map(|u| if be { u.to_be_bytes() } else { u.to_le_bytes() })
                .collect()
        };
        let utf32 = |s: &str, be: bool| -> Vec<u8> {
            s.chars()
                .flat_map(|c| {
                    if be {
                        (c as u32).to_be_bytes()
                    } else {
                        (c as u32).to_le_bytes()
                    }
                })
                .collect()
        };
        let cp1252 = |s: &str| encoding_rs::WINDOWS_1252.encode(s).0.into_owned();
        let cases: Vec<(&str, Vec<u8>, Option<&str>, &str)> = vec![
            (
                "UTF-8, no declaration",
                plain.clone().into_bytes(),
                None,
                "UTF-8",
            ),
            (
                "UTF-8 BOM",
                [&[0xEF, 0xBB, 0xBF][..], plain.as_bytes()].concat(),
                None,
                "UTF-8",
            ),
            (
                "UTF-8 BOM beats a wrong charset",
                [&[0xEF, 0xBB, 0xBF][..], plain.as_bytes()].concat(),
                Some("text/xml; charset=koi8-r"),
                "UTF-8",
            ),
            (
                "windows-1252 declared",
                cp1252(&doc("<?xml version=\"1.0\" encoding=\"windows-1252\"?>")),
                None,
                "windows-1252",
            ),
            (
                "ISO-8859-1 declared, cp1252 quotes inside",
                cp1252(&doc("<?xml version='1.0' encoding='ISO-8859-1'?>")),
                None,
                "windows-1252",
            ),
            (
                "Latin-1 bytes, no declaration",
                cp1252(&plain),
                None,
                "windows-1252",
            ),
            (
                "HTTP charset beats the declaration",
                cp1252(&doc("<?xml version=\"1.0\" encoding=\"koi8-r\"?>")),
                Some("application/rss+xml; charset=\"windows-1252\""),
                "windows-1252",
            ),
            (
                "UTF-8 bytes mislabelled ISO-8859-1 by HTTP",
                plain.clone().into_bytes(),
                Some("text/xml; charset=ISO-8859-1"),
                "UTF-8",
            ),
            (
                "UTF-8 bytes mislabelled in the declaration",
                doc("<?xml version=\"1.0\" encoding=\"iso-8859-1\"?>").into_bytes(),
                None,
                "UTF-8",
            ),
            (
                "declared UTF-16, really UTF-8",
                doc("<?xml version=\"1.0\" encoding=\"UTF-16\"?>").into_bytes(),
                None,
                "UTF-8",
            ),
            (
                "UTF-16LE BOM",
                [
                    &[0xFF, 0xFE][..],
                    &utf16(&doc("<?xml version=\"1.0\" encoding=\"utf-16\"?>"), false),
                ]
                .concat(),
                None,
                "UTF-16LE",
            ),
            (
                "UTF-16BE BOM",
                [&[0xFE, 0xFF][..], &utf16(&plain, true)].concat(),
                None,
                "UTF-16BE",
            ),
            (
                "UTF-16LE, no BOM",
                utf16(&doc("<?xml version=\"1.0\" encoding=\"utf-16\"?>"), false),
                None,
                "UTF-16LE",
            ),
            (
                "UTF-16BE, no BOM, wrong HTTP charset",
                utf16(&plain, true),
                Some("text/xml; charset=utf-8"),
                "UTF-16BE",
            ),
            ("UTF-32BE, no BOM", utf32(&plain, true), None, "UTF-32BE"),
            (
                "UTF-32LE BOM",
                [&[0xFF, 0xFE, 0, 0][..], &utf32(&plain, false)].concat(),
                None,
                "UTF-32LE",
            ),
        ];
        for (what, bytes, content_type, encoding) in cases {
            let f = parse(&bytes, content_type, URL).unwrap_or_else(|e| panic!("{what}: {e}"));
            assert_eq!(f.title.as_deref(), Some(title), "{what}");
            assert_eq!(f.encoding, encoding, "{what}");
        }
        // A legacy charset that is only in the declaration, and one only in HTTP.
        let koi8 = encoding_rs::KOI8_R.encode("<?xml version=\"1.0\" encoding=\"KOI8-R\"?><rss><channel><title>Привет</title></channel></rss>").0.into_owned();
        assert_eq!(
            parse(&koi8, None, URL).unwrap().title.as_deref(),
            Some("Привет")
        );
        let koi8 = encoding_rs::KOI8_R
            .encode("<rss><channel><title>Привет</title></channel></rss>")
            .0
            .into_owned();
        assert_eq!(
            parse(&koi8, Some("text/xml;charset=KOI8-R"), URL)
                .unwrap()
                .title
                .as_deref(),
            Some("Привет")
        );
        // JSON Feed in UTF-16 with a BOM.
        let json = r#"{"version":"https://jsonfeed.org/version/1.1","title":"Ünïcode","items":[]}"#;
        let bytes = [&[0xFF, 0xFE][..], &utf16(json, false)].concat();
        assert_eq!(
            parse(&bytes, Some("application/feed+json"), URL)
                .unwrap()
                .title
                .as_deref(),
            Some("Ünïcode")
        );
    }

    /// The scan's fast check of valid chunks counts as the sequence by
    /// sequence reading of the whole document does, with characters and bad
    /// bytes cut by a chunk's end, however the source hands out its bytes.
    #[test]
    fn utf8_scan_counts_what_a_whole_document_reading_counts() {
        let text = "aé€😀 ".repeat(2000);
        let bad: [&[u8]; 4] = [b"\xff", b"\xe2\x82", b"\xf0\x9f\x98", b"\xc3"];
        for cut in [
            0,
            1,
            16 * 1024 - 2,
            16 * 1024 - 1,
            16 * 1024,
            16 * 1024 + 1,
            20_000,
        ] {
            for b in bad.iter().map(|b| Some(*b)).chain([None]) {
                let mut doc = text.as_bytes()[..cut.min(text.len())].to_vec();
                doc.extend_from_slice(b.unwrap_or_default());
                doc.extend_from_slice(&text.as_bytes()[cut.min(text.len())..]);
                let (mut multibyte, mut broken) = (0, 0);
                for chunk in doc.utf8_chunks() {
                    multibyte += chunk.valid().chars().filter(|c| c.len_utf8() > 1).count();
                    broken += usize::from(!chunk.invalid().is_empty());
                }
                for cap in [7, 8 * 1024, 1 << 20] {
                    let scan = scan_utf8(&mut io::BufReader::with_capacity(cap, &doc[..])).unwrap();
                    let what = format!("{b:?} at {cut}, reads of {cap}");
                    assert_eq!(scan.valid, b.is_none(), "{what}");
                    assert_eq!(scan.multibyte, multibyte, "{what}");
                    assert_eq!(scan.broken, broken, "{what}");
                }
                // Valid UTF-8 is passed on as it is, whatever the reads.
                if b.is_none() {
                    let mut out = Vec::new();
                    Utf8Reader::new(
                        io::BufReader::with_capacity(7, &doc[..]),
                        Decoding::ValidUtf8,
                    )
                    .read_to_end(&mut out)
                    .unwrap();
                    assert!(out == doc);
                }
            }
        }
    }

    #[test]
    fn one_bad_byte_in_utf8_is_replaced_where_it_stands() {
        let mut doc = b"<?xml version=\"1.0\" encoding=\"utf-8\"?><rss><channel><title>caf\xC3\xA9 \xFF na\xC3\xAFve</title><item><guid>1</guid><title>\xE2\x80\x9Cq\xE2\x80\x9D</title></item></channel></rss>".to_vec();
        let f = parse(&doc, None, URL).unwrap();
        assert_eq!(f.title.as_deref(), Some("café \u{FFFD} naïve"));
        assert_eq!(f.entries[0].title.as_deref(), Some("“q”"));
        assert_eq!(f.encoding, "UTF-8");
        // The same without a declaration, and with HTTP saying UTF-8.
        doc.drain(..38);
        assert!(doc.starts_with(b"<rss>"));
        for ct in [None, Some("application/rss+xml; charset=utf-8")] {
            let f = parse(&doc, ct, URL).unwrap();
            assert_eq!(f.title.as_deref(), Some("café \u{FFFD} naïve"), "{ct:?}");
        }
        // Mislabelled ISO-8859-1 by HTTP or by the declaration: still UTF-8.
        for (decl, ct) in [
            ("", Some("text/xml; charset=ISO-8859-1")),
            ("<?xml version=\"1.0\" encoding=\"iso-8859-1\"?>", None),
        ] {
            let bytes = [decl.as_bytes(), &doc].concat();
            let f = parse(&bytes, ct, URL).unwrap();
            assert_eq!(
                f.title.as_deref(),
                Some("café \u{FFFD} naïve"),
                "{ct:?} {decl}"
            );
        }
        // Declared UTF-8, all ASCII but one byte: still UTF-8.
        let f = parse(
            b"<?xml version=\"1.0\" encoding=\"UTF-8\"?><rss><channel><title>a \x92 b</title></channel></rss>",
            None,
            URL,
        )
        .unwrap();
        assert_eq!(f.title.as_deref(), Some("a \u{FFFD} b"));
    }

    #[test]
    fn latin1_label_reads_windows_1252_and_no_control_character_is_kept() {
        // 0x80 €, 0x93/0x94 curly quotes, 0x81 and 0x9D (no character in
        // windows-1252), 0x01 and 0x1B (C0 controls).
        let doc = b"<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><rss><channel><title>\x80 \x93q\x94 \x81\x9Dx\x01\x1B\t</title><item><guid>1</guid><title>caf\xE9</title><description>a&amp;#1;b&#x85;c&#2;\x02 &amp;#x1b; &amp;#65;&amp;#x81;&amp;#x93;</description><author>\x07Ann</author><enclosure url=\"https://a.example/a.mp3\" type=\"audio/mpeg&#1;\"/></item></channel></rss>";
        let f = parse(doc, None, URL).unwrap();
        assert_eq!(f.title.as_deref(), Some("€ “q” x"));
        let e = &f.entries[0];
        assert_eq!(e.title.as_deref(), Some("café"));
        assert_eq!(
            e.summary_html.as_deref(),
            Some("ab…c  &#65;&#x93;"),
            "HTML would read &#x81; as a control, &#x93; as a quote"
        );
        assert_eq!(e.author.as_deref(), Some("Ann"));
        assert_eq!(e.enclosures[0].mime_type.as_deref(), Some("audio/mpeg"));
        // JSON escapes and raw C1 characters in UTF-8.
        let f = parse(
            "{\"version\": \"https://jsonfeed.org/version/1.1\", \"title\": \"a\\u0000b\\u0093\\u008d\", \"items\": [{\"id\": \"1\", \"title\": \"t\\u0007\u{9d}\", \"content_text\": \"x\\u001b\"}]}".as_bytes(),
            None,
            URL,
        )
        .unwrap();
        assert_eq!(f.title.as_deref(), Some("ab“"));
        assert_eq!(f.entries[0].title.as_deref(), Some("t"));
        assert_eq!(f.entries[0].content_html.as_deref(), Some("x"));
    }
}
