//! Writing XML 1.0 for the Atom and RSS feeds: the one place their text and
//! attribute values are escaped, and where the characters XML 1.0 cannot
//! carry at all are left out. Knows no feed format.
//!
//! Text escapes `&`, `<` and `>` as hexadecimal character references, the
//! form RSS readers read as text whatever they guess an element holds (RSS
//! Best Practices Profile; the W3C Feed Validator warns on `&amp;` and `&lt;`
//! in plain text), and valid in any XML. Attributes also escape `"` and the
//! whitespace XML would otherwise normalise to a space (tab, line feed,
//! carriage return). Left out: C0 controls but tab, line feed and carriage
//! return, and U+FFFE/U+FFFF. (A Rust string holds no lone surrogate; a
//! browser sends one as U+FFFD, and the web forms refuse undecodable bytes.)

use std::fmt::Write;

/// Whether XML 1.0 can carry `c` (its `Char` production, less surrogates,
/// which no `char` is).
pub fn is_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{FFFD}' | '\u{10000}'..)
}

/// Appends `text` as element content.
pub fn escape_text(text: &str, out: &mut String) {
    escape(text, out, false);
}

/// Appends `value` as the inside of a double-quoted attribute value.
pub fn escape_attribute(value: &str, out: &mut String) {
    escape(value, out, true);
}

fn escape(text: &str, out: &mut String, attribute: bool) {
    for c in text.chars() {
        match c {
            '&' | '<' | '>' | '\r' => reference(c, out),
            '"' | '\t' | '\n' if attribute => reference(c, out),
            c if is_xml_char(c) => out.push(c),
            _ => {}
        }
    }
}

fn reference(c: char, out: &mut String) {
    // Writing into a String cannot fail.
    let _ = write!(out, "&#x{:X};", u32::from(c));
}

/// An XML document written from the top down, one element a line.
pub struct Writer {
    out: String,
}

impl Writer {
    /// A document with the XML declaration written.
    pub fn new(capacity: usize) -> Writer {
        let mut out = String::with_capacity(capacity);
        out.push_str("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n");
        Writer { out }
    }

    fn start_tag(&mut self, name: &str, attributes: &[(&str, &str)]) {
        self.out.push('<');
        self.out.push_str(name);
        for (key, value) in attributes {
            self.out.push(' ');
            self.out.push_str(key);
            self.out.push_str("=\"");
            escape_attribute(value, &mut self.out);
            self.out.push('"');
        }
    }

    /// `<name attributes>` and a line end: elements follow.
    pub fn open(&mut self, name: &str, attributes: &[(&str, &str)]) {
        self.start_tag(name, attributes);
        self.out.push_str(">\n");
    }

    pub fn close(&mut self, name: &str) {
        self.out.push_str("</");
        self.out.push_str(name);
        self.out.push_str(">\n");
    }

    /// `<name attributes/>`.
    pub fn empty(&mut self, name: &str, attributes: &[(&str, &str)]) {
        self.start_tag(name, attributes);
        self.out.push_str("/>\n");
    }

    /// `<name attributes>text</name>`.
    pub fn text(&mut self, name: &str, attributes: &[(&str, &str)], text: &str) {
        self.start_tag(name, attributes);
        self.out.push('>');
        escape_text(text, &mut self.out);
        self.close(name);
    }

    pub fn finish(self) -> String {
        self.out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(s: &str) -> String {
        let mut out = String::new();
        escape_text(s, &mut out);
        out
    }

    fn attribute(s: &str) -> String {
        let mut out = String::new();
        escape_attribute(s, &mut out);
        out
    }

    #[test]
    fn markup_characters_become_references() {
        assert_eq!(
            text("a & <b> ]]> \"q\" 'a'"),
            "a &#x26; &#x3C;b&#x3E; ]]&#x3E; \"q\" 'a'"
        );
        assert_eq!(
            attribute("https://e.example/p?a=1&b=\"2\"<>"),
            "https://e.example/p?a=1&#x26;b=&#x22;2&#x22;&#x3C;&#x3E;"
        );
    }

    #[test]
    fn whitespace_survives_attribute_normalisation_and_cr_survives_line_end_handling() {
        assert_eq!(attribute("a\tb\nc\rd"), "a&#x9;b&#xA;c&#xD;d");
        assert_eq!(text("a\tb\nc\rd"), "a\tb\nc&#xD;d");
    }

    #[test]
    fn characters_xml_cannot_carry_are_left_out() {
        let all: String = "a\u{0}\u{1}\u{8}\u{b}\u{c}\u{1f}\u{fffe}\u{ffff}b".into();
        assert_eq!(text(&all), "ab");
        assert_eq!(attribute(&all), "ab");
        // Allowed, if unusual: C1 controls, DEL, U+FFFD, bidi overrides, astral planes.
        let kept = "\u{7f}\u{85}\u{9f}\u{fffd}\u{202e}\u{200f}😀\u{10ffff}";
        assert_eq!(text(kept), kept);
        assert_eq!(attribute(kept), kept);
    }

    #[test]
    fn the_writer_nests_and_escapes() {
        let mut w = Writer::new(0);
        w.open("feed", &[("xmlns", "urn:x")]);
        w.text("title", &[], "A&B");
        w.empty("link", &[("href", "https://e.example/?a&b")]);
        w.close("feed");
        assert_eq!(
            w.finish(),
            "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<feed xmlns=\"urn:x\">\n\
             <title>A&#x26;B</title>\n<link href=\"https://e.example/?a&#x26;b\"/>\n</feed>\n"
        );
    }
}
