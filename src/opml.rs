//! OPML 2.0 follow lists in and out (FreshRSS, Miniflux, Feedly and most
//! readers write this). Reading is all-or-nothing: a file that is not OPML
//! is refused before anything is followed.

use crate::render::post_text::escape_into;
use anyhow::{Result, bail};
use quick_xml::events::Event;

/// One feed named in an OPML file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outline {
    pub xml_url: String,
    pub title: Option<String>,
}

/// More outlines than this in one file is refused (a follow list, not a crawl).
pub const MAX_OUTLINES: usize = 10_000;

/// Every outline with an `xmlUrl`, at any depth (categories are flattened),
/// without duplicates, in file order.
pub fn parse(bytes: &[u8]) -> Result<Vec<Outline>> {
    let text = match std::str::from_utf8(bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes)) {
        Ok(text) => text,
        Err(_) => bail!("the OPML file is not UTF-8 text"),
    };
    let mut reader = quick_xml::Reader::from_str(text);
    let mut outlines: Vec<Outline> = Vec::new();
    let mut saw_opml = false;
    let mut saw_body = false;
    loop {
        let event = reader.read_event().map_err(|e| {
            anyhow::anyhow!(
                "the OPML file is not well-formed XML (at byte {}): {e}",
                reader.buffer_position()
            )
        })?;
        match event {
            Event::Start(ref tag) | Event::Empty(ref tag) => match tag.local_name().into_inner() {
                "opml" => saw_opml = true,
                "body" => saw_body = true,
                "outline" if saw_opml => {
                    let mut xml_url = None;
                    let mut title = None;
                    let mut text_attr = None;
                    for attr in tag.attributes().flatten() {
                        let value = attr
                            .normalized_value(quick_xml::XmlVersion::Implicit1_0)
                            .map_err(|e| anyhow::anyhow!("a bad attribute in the OPML file: {e}"))?
                            .into_owned();
                        match attr.key.local_name().into_inner() {
                            "xmlUrl" | "xmlurl" => xml_url = Some(value),
                            "title" => title = Some(value),
                            "text" => text_attr = Some(value),
                            _ => {}
                        }
                    }
                    if let Some(xml_url) = xml_url
                        .map(|u| u.trim().to_string())
                        .filter(|u| !u.is_empty())
                    {
                        if !outlines.iter().any(|o| o.xml_url == xml_url) {
                            let title = title
                                .or(text_attr)
                                .map(|t| t.trim().to_string())
                                .filter(|t| !t.is_empty());
                            outlines.push(Outline { xml_url, title });
                        }
                        if outlines.len() > MAX_OUTLINES {
                            bail!("the OPML file lists more than {MAX_OUTLINES} feeds");
                        }
                    }
                }
                _ => {}
            },
            Event::DocType(_) => bail!("the OPML file has a DOCTYPE, which roost does not accept"),
            Event::Eof => break,
            _ => {}
        }
    }
    if !saw_opml || !saw_body {
        bail!("this is not an OPML file (no <opml> with a <body>)");
    }
    Ok(outlines)
}

/// One followed feed for export.
pub struct ExportedFeed<'a> {
    pub xml_url: &'a str,
    pub title: &'a str,
    pub html_url: Option<&'a str>,
}

/// The follow list as OPML, for `roost export-opml` and `/following.opml`.
pub fn write_follows(owner: &str, follows: &[crate::store::follows::Follow], now: i64) -> String {
    let feeds: Vec<ExportedFeed> = follows
        .iter()
        .map(|f| ExportedFeed {
            xml_url: &f.url,
            title: f.display_name(),
            html_url: f.home_url.as_deref(),
        })
        .collect();
    write(owner, &feeds, now)
}

pub fn write(owner: &str, feeds: &[ExportedFeed], now: i64) -> String {
    let mut out = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<opml version=\"2.0\">\n<head>\n<title>",
    );
    escape_into(&format!("Feeds followed by {owner}"), &mut out);
    out.push_str("</title>\n<dateCreated>");
    out.push_str(&crate::render::rfc2822(now));
    out.push_str("</dateCreated>\n</head>\n<body>\n");
    for feed in feeds {
        out.push_str("<outline type=\"rss\" text=\"");
        escape_attribute_into(feed.title, &mut out);
        out.push_str("\" title=\"");
        escape_attribute_into(feed.title, &mut out);
        out.push_str("\" xmlUrl=\"");
        escape_attribute_into(feed.xml_url, &mut out);
        out.push('"');
        if let Some(html) = feed.html_url {
            out.push_str(" htmlUrl=\"");
            escape_attribute_into(html, &mut out);
            out.push('"');
        }
        out.push_str("/>\n");
    }
    out.push_str("</body>\n</opml>\n");
    out
}

/// An attribute value that an XML reader gives back unchanged: besides the
/// markup characters, tab, newline and carriage return are written as
/// character references, because a reader turns them into spaces when they
/// stand as they are (attribute-value normalization).
fn escape_attribute_into(value: &str, out: &mut String) {
    let mut rest = value;
    while let Some(i) = rest.find(['\t', '\n', '\r']) {
        escape_into(&rest[..i], out);
        out.push_str(match rest.as_bytes()[i] {
            b'\t' => "&#9;",
            b'\n' => "&#10;",
            _ => "&#13;",
        });
        rest = &rest[i + 1..];
    }
    escape_into(rest, out);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nested_categories_are_flattened_and_duplicates_dropped() {
        let opml = br#"<?xml version="1.0"?>
<opml version="2.0"><head><title>x</title></head><body>
  <outline text="Tech" title="Tech">
    <outline type="rss" text="A &amp; B" xmlUrl="https://a.example/feed"/>
    <outline type="rss" text="C" title="C title" xmlUrl=" https://c.example/rss "/>
  </outline>
  <outline type="rss" text="A again" xmlUrl="https://a.example/feed"/>
  <outline text="no feed here"/>
</body></opml>"#;
        let outlines = parse(opml).unwrap();
        assert_eq!(
            outlines,
            vec![
                Outline {
                    xml_url: "https://a.example/feed".into(),
                    title: Some("A & B".into())
                },
                Outline {
                    xml_url: "https://c.example/rss".into(),
                    title: Some("C title".into())
                },
            ]
        );
    }

    #[test]
    fn bad_files_are_refused_whole() {
        assert!(parse(b"<opml><body><outline xmlUrl='x'></body>").is_err());
        assert!(
            parse(b"<html><body></body></html>")
                .unwrap_err()
                .to_string()
                .contains("not an OPML file")
        );
        assert!(parse(b"\xff\xfe").is_err());
        let doctype =
            br#"<?xml version="1.0"?><!DOCTYPE opml [<!ENTITY x "y">]><opml><body/></opml>"#;
        assert!(parse(doctype).is_err());
    }

    /// Exports one feed and imports the result; the text is returned too.
    fn exported_and_back(xml_url: &str, title: &str) -> (String, Outline) {
        let feeds = [ExportedFeed {
            xml_url,
            title,
            html_url: Some("https://a.example/"),
        }];
        let text = write("Ann", &feeds, 0);
        let mut back = parse(text.as_bytes()).unwrap();
        assert_eq!(back.len(), 1, "{text}");
        (text, back.remove(0))
    }

    #[test]
    fn export_round_trips() {
        let (_, back) = exported_and_back("https://a.example/f?x=1&y=2", "A \"quoted\" <name>");
        assert_eq!(back.xml_url, "https://a.example/f?x=1&y=2");
        assert_eq!(back.title.as_deref(), Some("A \"quoted\" <name>"));
    }

    /// Found by the opml fuzz target's round-trip check: a title or URL with a
    /// tab, newline or CR (from `&#9;`, `&#10;`, `&#13;` in an imported file)
    /// was exported raw and came back with spaces in its place.
    #[test]
    fn export_keeps_tabs_and_line_breaks_in_attributes() {
        let (text, back) =
            exported_and_back("https://a.example/f?a=1\tb", "two\nlines\r\nand\ta tab");
        assert!(
            !text.contains("two\n"),
            "a raw newline in an attribute:\n{text}"
        );
        assert_eq!(back.xml_url, "https://a.example/f?a=1\tb");
        assert_eq!(back.title.as_deref(), Some("two\nlines\r\nand\ta tab"));
    }
}
