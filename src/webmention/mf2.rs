//! What a Webmention's source page says, read with html5ever's tree builder
//! (the WHATWG parser, as a browser reads the page): every address it links
//! to (`href` and `src`, resolved against the page and its `<base>`), its
//! title, and its first microformats2 `h-entry` (the properties a mention
//! needs: author h-card, content, name, summary, published, in-reply-to,
//! like-of, repost-of, bookmark-of). Nested microformats keep their own
//! properties, as the mf2 parsing rules say. Does not fetch, sanitize or
//! store: `verify` does.

use html5ever::tendril::TendrilSink;
use markup5ever_rcdom::{Handle, NodeData, RcDom, SerializableHandle};
use url::Url;

/// Deeper than this, an element's descendants are not read for
/// properties (no real page nests so; a hostile one may, to exhaust the stack).
const MAX_DEPTH: usize = 200;

/// What the page holds.
#[derive(Debug, Default)]
pub struct Page {
    pub title: Option<String>,
    /// Every `href` and `src`, resolved (http and https only).
    pub links: Vec<Url>,
    pub entry: Option<Item>,
}

/// One microformat (`h-entry`, `h-card`, `h-cite`...) and its properties,
/// in document order, each named with its prefix (`p-name`, `u-url`).
#[derive(Debug, Default, Clone)]
pub struct Item {
    pub types: Vec<String>,
    pub properties: Vec<(String, Value)>,
    /// The element's own `href` (an `<a class="h-card">`), for implied urls.
    pub own_href: Option<String>,
    /// The first `<img>` in it (itself included), for implied photos.
    pub first_img: Option<(String, String)>,
    /// Its text, for implied names.
    pub text: String,
}

/// A property's value: its text, URL (u-*), HTML (e-*), and the
/// microformat it also is, if any.
#[derive(Debug, Default, Clone)]
pub struct Value {
    pub text: String,
    pub url: Option<String>,
    pub html: Option<String>,
    pub item: Option<Item>,
}

impl Item {
    /// The values of property `name` (`p-name`, `u-in-reply-to`...).
    pub fn get<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Value> + 'a {
        self.properties
            .iter()
            .filter(move |(n, _)| n == name)
            .map(|(_, v)| v)
    }

    pub fn first(&self, name: &str) -> Option<&Value> {
        self.properties
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v)
    }

    /// The first non-empty text of `name`.
    pub fn text(&self, name: &str) -> Option<&str> {
        self.properties
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, v)| v)
            .map(|v| v.text.trim())
            .find(|t| !t.is_empty())
    }

    /// A `u-*` property's addresses: the URL, or a nested item's own `u-url`.
    pub fn urls<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.get(name).filter_map(|v| {
            v.item
                .as_ref()
                .and_then(|i| i.first("u-url").and_then(|u| u.url.as_deref()))
                .or(v.url.as_deref())
        })
    }

    /// `p-name`, or the implied name (an image's alt, else the text).
    pub fn name(&self) -> Option<String> {
        let implied = || {
            let text = self.text.trim();
            (!text.is_empty())
                .then(|| text.to_string())
                .or_else(|| self.first_img.as_ref().map(|(_, alt)| alt.clone()))
        };
        self.text("p-name").map(str::to_string).or_else(implied)
    }

    /// `u-url`, or the implied one (the element's own `href`).
    pub fn url(&self) -> Option<String> {
        self.first("u-url")
            .and_then(|v| v.url.clone())
            .or_else(|| self.own_href.clone())
    }

    /// `u-photo`, or the implied one (the first image).
    pub fn photo(&self) -> Option<String> {
        self.first("u-photo")
            .and_then(|v| v.url.clone())
            .or_else(|| self.first_img.as_ref().map(|(src, _)| src.clone()))
    }
}

/// The tree-building work a source page may cost (twice an entry's: a
/// page may be twice an entry's size), see `sanitize::WORK_BUDGET`.
pub const MAX_WORK: usize = 2 * crate::sanitize::WORK_BUDGET;

/// Reads `html`, fetched from `page_url`; `None` when its markup would cost
/// more than [`MAX_WORK`] to build into a tree (nested and tangled on
/// purpose: html5ever's scope checks make such markup quadratic).
pub fn parse(html: &str, page_url: &Url) -> Option<Page> {
    let html = crate::sanitize::bounded_for_tree(html, MAX_WORK)?;
    let dom = html5ever::parse_document(RcDom::default(), html5ever::ParseOpts::default())
        .one(html.as_ref());
    let mut base = page_url.clone();
    let mut page = Page::default();
    // Document order, without recursion: a page may nest deeply.
    let mut stack = vec![dom.document.clone()];
    let mut elements = Vec::new();
    while let Some(node) = stack.pop() {
        if let NodeData::Element { .. } = node.data {
            elements.push(node.clone());
        }
        stack.extend(node.children.borrow().iter().rev().cloned());
    }
    if let Some(href) = elements
        .iter()
        .find(|e| tag(e) == "base")
        .and_then(|e| attr(e, "href"))
        && let Ok(resolved) = page_url.join(&href)
    {
        base = resolved;
    }
    for element in &elements {
        if page.title.is_none() && tag(element) == "title" {
            page.title = Some(text_of(element)).filter(|t| !t.trim().is_empty());
        }
        for name in ["href", "src"] {
            if let Some(url) = attr(element, name).and_then(|v| resolve(&base, &v)) {
                page.links.push(url);
            }
        }
    }
    page.entry = elements
        .iter()
        .find(|e| classes(e).iter().any(|c| c == "h-entry"))
        .map(|e| item(e, &base, 0));
    Some(page)
}

fn resolve(base: &Url, value: &str) -> Option<Url> {
    let url = base.join(value.trim()).ok()?;
    matches!(url.scheme(), "http" | "https").then_some(url)
}

fn tag(node: &Handle) -> String {
    match &node.data {
        NodeData::Element { name, .. } => name.local.to_ascii_lowercase().to_string(),
        _ => String::new(),
    }
}

fn attr(node: &Handle, wanted: &str) -> Option<String> {
    match &node.data {
        NodeData::Element { attrs, .. } => attrs
            .borrow()
            .iter()
            .find(|a| (*a.name.local).eq_ignore_ascii_case(wanted))
            .map(|a| a.value.to_string()),
        _ => None,
    }
}

fn classes(node: &Handle) -> Vec<String> {
    attr(node, "class")
        .map(|c| c.split_ascii_whitespace().map(str::to_string).collect())
        .unwrap_or_default()
}

fn is_type(class: &str) -> bool {
    class.len() > 2
        && class.starts_with("h-")
        && class[2..]
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

fn property_names(classes: &[String]) -> Vec<String> {
    classes
        .iter()
        .filter(|c| {
            ["p-", "u-", "dt-", "e-"]
                .iter()
                .any(|p| c.len() > p.len() && c.starts_with(p))
        })
        .cloned()
        .collect()
}

/// The text of a node, without scripts and styles, spaces collapsed.
fn text_of(node: &Handle) -> String {
    let mut out = String::new();
    let mut stack = vec![node.clone()];
    while let Some(n) = stack.pop() {
        match &n.data {
            NodeData::Text { contents } => out.push_str(&contents.borrow()),
            NodeData::Element { .. } if matches!(tag(&n).as_str(), "script" | "style") => {}
            NodeData::Element { .. } | NodeData::Document => {
                if tag(&n) == "img"
                    && let Some(alt) = attr(&n, "alt")
                {
                    out.push_str(&alt);
                }
                stack.extend(n.children.borrow().iter().rev().cloned());
            }
            _ => {}
        }
    }
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The HTML inside `node`; its text, escaped, when it nests deeper than
/// [`MAX_DEPTH`] (html5ever's serializer recurses).
fn inner_html(node: &Handle) -> String {
    let mut stack = vec![(node.clone(), 0)];
    while let Some((n, depth)) = stack.pop() {
        if depth > MAX_DEPTH {
            let text = text_of(node);
            return text
                .replace('&', "&amp;")
                .replace('<', "&lt;")
                .replace('>', "&gt;");
        }
        stack.extend(n.children.borrow().iter().map(|c| (c.clone(), depth + 1)));
    }
    let mut out = Vec::new();
    let handle = SerializableHandle::from(node.clone());
    if html5ever::serialize::serialize(&mut out, &handle, Default::default()).is_err() {
        return String::new();
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The microformat rooted at `root`.
fn item(root: &Handle, base: &Url, depth: usize) -> Item {
    let mut found = Item {
        types: classes(root).into_iter().filter(|c| is_type(c)).collect(),
        text: text_of(root),
        own_href: matches!(tag(root).as_str(), "a" | "area" | "link")
            .then(|| attr(root, "href").and_then(|h| resolve(base, &h)))
            .flatten()
            .map(String::from),
        ..Item::default()
    };
    let mut stack = vec![root.clone()];
    while let Some(n) = stack.pop() {
        if tag(&n) == "img"
            && let Some(src) = attr(&n, "src").and_then(|s| resolve(base, &s))
        {
            found.first_img = Some((src.into(), attr(&n, "alt").unwrap_or_default()));
            break;
        }
        stack.extend(n.children.borrow().iter().rev().cloned());
    }
    properties(root, base, depth, &mut found.properties);
    found
}

/// Collects the properties under `parent` for the item being read: an
/// element that is itself a microformat is a value, never searched further.
fn properties(parent: &Handle, base: &Url, depth: usize, out: &mut Vec<(String, Value)>) {
    if depth > MAX_DEPTH {
        return;
    }
    for child in parent.children.borrow().iter() {
        if !matches!(child.data, NodeData::Element { .. }) {
            continue;
        }
        let classes = classes(child);
        let nested = classes.iter().any(|c| is_type(c));
        for name in property_names(&classes) {
            let mut value = value(child, &name, base);
            if nested {
                value.item = Some(item(child, base, depth + 1));
            }
            out.push((name, value));
        }
        if !nested {
            properties(child, base, depth + 1, out);
        }
    }
}

fn value(node: &Handle, name: &str, base: &Url) -> Value {
    let tag = tag(node);
    let mut value = Value {
        text: text_of(node),
        ..Value::default()
    };
    if name.starts_with("u-") {
        let raw = match tag.as_str() {
            "a" | "area" | "link" => attr(node, "href"),
            "img" | "audio" | "video" | "source" | "iframe" => attr(node, "src"),
            "object" => attr(node, "data"),
            _ => attr(node, "value").or_else(|| Some(value.text.clone())),
        };
        value.url = raw.and_then(|r| resolve(base, &r)).map(String::from);
    } else if name.starts_with("dt-") {
        if let Some(datetime) = attr(node, "datetime").or_else(|| attr(node, "value")) {
            value.text = datetime;
        }
    } else if name.starts_with("e-") {
        value.html = Some(inner_html(node));
    } else if tag == "img" || tag == "area" {
        value.text = attr(node, "alt").unwrap_or_default();
    }
    value
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(html: &str) -> Page {
        parse(html, &Url::parse("https://them.example/notes/1").unwrap()).expect("within budget")
    }

    #[test]
    fn a_reply_with_its_author_card_and_content() {
        let p = page(
            r#"<html><head><title>A reply</title><base href="/b/"></head><body>
            <article class="h-entry">
              <a class="p-author h-card" href="/"><img src="me.jpg" alt="">Ann Example</a>
              <div class="u-in-reply-to h-cite"><a class="u-url" href="https://me.example/posts/1">that</a></div>
              <div class="e-content">Hello <b>you</b></div>
              <time class="dt-published" datetime="2026-12-01T10:00:00Z">today</time>
              <a class="u-like-of" href="https://other.example/x">x</a>
            </article></body></html>"#,
        );
        assert_eq!(p.title.as_deref(), Some("A reply"));
        let entry = p.entry.unwrap();
        assert_eq!(
            entry.urls("u-in-reply-to").collect::<Vec<_>>(),
            ["https://me.example/posts/1"]
        );
        assert_eq!(
            entry.urls("u-like-of").collect::<Vec<_>>(),
            ["https://other.example/x"]
        );
        let author = entry.first("p-author").unwrap().item.clone().unwrap();
        assert_eq!(author.name().as_deref(), Some("Ann Example"));
        assert_eq!(author.url().as_deref(), Some("https://them.example/"));
        assert_eq!(
            author.photo().as_deref(),
            Some("https://them.example/b/me.jpg")
        );
        assert_eq!(
            entry.first("e-content").unwrap().html.as_deref(),
            Some("Hello <b>you</b>")
        );
        assert_eq!(entry.text("dt-published"), Some("2026-12-01T10:00:00Z"));
        // The h-cite's u-url is the cite's, not the entry's.
        assert!(entry.first("u-url").is_none());
        assert!(
            p.links
                .iter()
                .any(|l| l.as_str() == "https://me.example/posts/1")
        );
    }

    #[test]
    fn deep_nesting_costs_no_stack_and_bounded_work() {
        let html = format!(
            "<div class=\"h-entry\">{}<a href=\"https://me.example/\">x</a></div>",
            "<div>".repeat(100_000)
        );
        let base = Url::parse("https://them.example/").unwrap();
        assert!(parse(&html, &base).is_none(), "over the budget: not parsed");
        let content = format!(
            "<div class=\"h-entry\"><div class=\"e-content\">{}deep</div></div>",
            "<span>".repeat(10_000)
        );
        let p = page(&content);
        let html = p.entry.unwrap().first("e-content").unwrap().html.clone();
        assert_eq!(html.as_deref(), Some("deep"));
    }
}
