//! A post's text as HTML and as a one-line title: the only HTML a post ever
//! contains comes from here, for pages and feeds alike.

/// The post as HTML: escaped text, paragraphs at blank lines, line breaks,
/// and http(s) URLs made into links. The only HTML a post ever contains.
pub fn to_html(text: &str) -> String {
    let mut html = String::with_capacity(text.len() + 32);
    for paragraph in text.split("\n\n").map(str::trim).filter(|p| !p.is_empty()) {
        html.push_str("<p>");
        for (i, line) in paragraph.lines().enumerate() {
            if i > 0 {
                html.push_str("<br>\n");
            }
            linkify_line(line, &mut html);
        }
        html.push_str("</p>\n");
    }
    html
}

fn linkify_line(line: &str, out: &mut String) {
    let mut rest = line;
    while let Some((start, end)) = next_url(rest) {
        escape_into(&rest[..start], out);
        let url = &rest[start..end];
        if url.len() <= "https://".len() {
            escape_into(url, out);
        } else {
            out.push_str("<a href=\"");
            escape_into(url, out);
            out.push_str("\" rel=\"nofollow\">");
            escape_into(url, out);
            out.push_str("</a>");
        }
        rest = &rest[end..];
        if end == start {
            // Never loop on a bare scheme: emit one char and move on.
            let c = rest.chars().next().unwrap_or(' ');
            escape_into(&rest[..c.len_utf8()], out);
            rest = &rest[c.len_utf8()..];
        }
    }
    escape_into(rest, out);
}

/// The http(s) addresses `to_html` makes into links, in order: what a post
/// links to (and so mentions).
pub fn links(text: &str) -> Vec<&str> {
    let mut links = Vec::new();
    for line in text.lines() {
        let mut rest = line;
        while let Some((start, end)) = next_url(rest) {
            if end - start > "https://".len() {
                links.push(&rest[start..end]);
            }
            rest = &rest[end.max(start + 1)..];
        }
    }
    links
}

/// Where the next address in `s` starts and ends: up to white space, `<` or
/// `"`, less a sentence's closing punctuation.
fn next_url(s: &str) -> Option<(usize, usize)> {
    let start = find_url_start(s)?;
    let tail = &s[start..];
    let mut end = tail
        .find(|c: char| c.is_whitespace() || c == '<' || c == '"')
        .unwrap_or(tail.len());
    // A sentence's closing punctuation is not part of the address.
    while end > 0 && tail[..end].ends_with(['.', ',', ';', ':', '!', '?', ')', '\'']) {
        end -= 1;
    }
    Some((start, start + end))
}

fn find_url_start(s: &str) -> Option<usize> {
    [s.find("https://"), s.find("http://")]
        .into_iter()
        .flatten()
        .min()
}

pub fn escape_into(text: &str, out: &mut String) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
}

/// A one-line summary for feed titles and page titles.
pub fn excerpt(text: &str, max_chars: usize) -> String {
    let first_line = text.lines().next().unwrap_or("").trim();
    let mut out: String = first_line.chars().take(max_chars).collect();
    if first_line.chars().count() > max_chars || text.trim().lines().count() > 1 {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_escapes_and_links() {
        let html = to_html("a <b> & \"c\"\nsee https://example.org/x?a=1&b=2.\n\nnext");
        assert_eq!(
            html,
            "<p>a &lt;b&gt; &amp; &quot;c&quot;<br>\nsee <a href=\"https://example.org/x?a=1&amp;b=2\" rel=\"nofollow\">https://example.org/x?a=1&amp;b=2</a>.</p>\n<p>next</p>\n"
        );
        assert_eq!(to_html("https://"), "<p>https://</p>\n");
        assert!(!to_html("http://\"onmouseover=x").contains("\"onmouseover"));
    }

    #[test]
    fn links_are_the_addresses_made_links() {
        assert_eq!(
            links("see https://a.example/x?b=1, and\n(http://b.example/) or https:// http://"),
            ["https://a.example/x?b=1", "http://b.example/"]
        );
    }

    #[test]
    fn excerpt_marks_truncation() {
        assert_eq!(excerpt("short", 10), "short");
        assert_eq!(excerpt("a long first line", 6), "a long…");
        assert_eq!(excerpt("one\ntwo", 10), "one…");
    }
}
