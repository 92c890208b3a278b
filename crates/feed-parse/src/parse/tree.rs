//! The bounded element tree of one XML document ([`Doc`], [`Element`],
//! [`Ns`]): quick-xml's events read into it, entry by entry, within the
//! limits in `parse`'s docs (*Limits*); each entry mapped as it
//! closes (by `atom` and `rss`) and its subtree dropped. Does not map fields.
//!
//! ## Broken markup
//!
//! What a lenient reader keeps, an error costs at most the entry it is in:
//! an end tag closes the nearest open element of its name (a stray one is
//! ignored, and so is a `</entry>` inside an entry's field whose own end tag
//! comes first, looked for in the next 64 KiB); quick-xml's namespace scopes are kept to the elements still
//! open, so an unclosed `<br>` cannot carry its `xmlns` past its entry; `<`
//! that starts no name is text; and a syntax error (a quote, CDATA section,
//! comment or PI never closed) inside or between entries resumes after the
//! next `</entry>` or `</item>` with a fresh reader given the open scopes
//! (what the broken markup swallowed is read again: `stream::Replay`).
//!
//! ## XML attacks
//!
//! quick-xml does not process DTDs: a `<!DOCTYPE>` internal subset is skipped,
//! entities it declares are never expanded (a reference to one stays as the
//! literal text `&name;`), and nothing external is ever fetched. So billion
//! laughs and external-entity documents are inert (see the tests). Work is
//! bounded: elements deeper than [`MAX_DEPTH`] are not kept (their text is,
//! flattened into the deepest element kept, with a note), at most
//! [`MAX_ATTRIBUTES`] attributes are kept per element, the tree holds at most
//! [`MAX_ELEMENTS`] elements, and quick-xml itself caps namespace bindings.
//! Nothing recurses deeper than [`MAX_DEPTH`].

use std::cell::RefCell;
use std::io::BufRead;

use quick_xml::NsReader;
use quick_xml::events::Event;
use quick_xml::name::ResolveResult;
use url::Url;

use super::escape::{
    char_from_reference, decode_entities, escape_into, html_entity, push_named_entity, unescape,
};
use super::finish::Built;
use super::xml::{Mapper, RootKind, root_kind};
use super::{
    MAX_ATTRIBUTES, MAX_DEPTH, MAX_ELEMENTS, MAX_ENTRIES, MAX_ENTRY_BYTES, MAX_FEED_CONTENT_BYTES,
    MAX_TREE_BYTES,
};
use crate::stream::{self, Replay};

/// What one element costs in the tree besides its names, attributes and text.
const ELEMENT_BYTES: usize = 128;

/// Namespaces the mappers care about. Elements are matched by these, never by prefix.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) enum Ns {
    None,
    Atom10,
    Atom03,
    Rss10,
    Rss090,
    RssUserland,
    Rdf,
    Dc,
    Dcterms,
    Content,
    Xhtml,
    Media,
    Itunes,
    Thr,
    Sy,
    Xml,
    Other,
}

impl Ns {
    fn from_uri(uri: &str) -> Ns {
        match uri.trim() {
            "http://www.w3.org/2005/Atom" => Ns::Atom10,
            "http://purl.org/atom/ns#" => Ns::Atom03,
            "http://purl.org/rss/1.0/" => Ns::Rss10,
            "http://my.netscape.com/rdf/simple/0.9/" => Ns::Rss090,
            "http://backend.userland.com/rss2"
            | "http://backend.userland.com/rss"
            | "http://blogs.law.harvard.edu/tech/rss" => Ns::RssUserland,
            "http://www.w3.org/1999/02/22-rdf-syntax-ns#" => Ns::Rdf,
            "http://purl.org/dc/elements/1.1/" | "http://purl.org/dc/elements/1.0/" => Ns::Dc,
            "http://purl.org/dc/terms/" => Ns::Dcterms,
            "http://purl.org/rss/1.0/modules/content/" => Ns::Content,
            "http://www.w3.org/1999/xhtml" => Ns::Xhtml,
            "http://search.yahoo.com/mrss/" | "http://search.yahoo.com/mrss" => Ns::Media,
            "http://www.itunes.com/dtds/podcast-1.0.dtd"
            | "http://www.itunes.com/DTDs/Podcast-1.0.dtd" => Ns::Itunes,
            "http://purl.org/syndication/thread/1.0" => Ns::Thr,
            "http://purl.org/rss/1.0/modules/syndication/" => Ns::Sy,
            "http://www.w3.org/XML/1998/namespace" => Ns::Xml,
            _ => Ns::Other,
        }
    }

    /// Undeclared prefixes of the usual modules (a common mistake in feeds).
    /// `thr` is deliberately not here: threading is matched by namespace only.
    fn from_undeclared_prefix(prefix: &str) -> Ns {
        match prefix {
            "dc" => Ns::Dc,
            "dcterms" => Ns::Dcterms,
            "content" => Ns::Content,
            "media" => Ns::Media,
            "itunes" => Ns::Itunes,
            "atom" => Ns::Atom10,
            "sy" => Ns::Sy,
            "rdf" => Ns::Rdf,
            "xhtml" => Ns::Xhtml,
            "xml" => Ns::Xml,
            _ => Ns::Other,
        }
    }

    pub(super) fn is_rss(self) -> bool {
        matches!(self, Ns::None | Ns::Rss10 | Ns::Rss090 | Ns::RssUserland)
    }

    pub(super) fn is_atom(self) -> bool {
        matches!(self, Ns::None | Ns::Atom10 | Ns::Atom03)
    }
}

struct Attr {
    ns: Ns,
    qname: Box<str>,
    value: String,
}

pub(super) enum Node {
    El(u32),
    Text(String),
}

pub(super) struct Element {
    pub(super) ns: Ns,
    pub(super) qname: Box<str>,
    /// Where the local name starts in `qname` (found once: looked up often).
    local_at: u32,
    attrs: Vec<Attr>,
    pub(super) children: Vec<Node>,
    /// Index into `Doc::bases`, or `NO_BASE`.
    base: u32,
}

const NO_BASE: u32 = u32::MAX;

impl Element {
    pub(super) fn local(&self) -> &str {
        &self.qname[self.local_at as usize..]
    }
}

fn local_part(qname: &str) -> &str {
    qname.rsplit(':').next().unwrap_or(qname)
}

/// quick-xml's reader, set to be lenient: end tags need not match, `&` may dangle.
fn new_reader<R: BufRead>(input: Replay<R>) -> NsReader<Replay<R>> {
    let mut reader = NsReader::from_reader(input);
    let config = reader.config_mut();
    config.check_end_names = false;
    config.allow_unmatched_ends = true;
    config.allow_dangling_amp = true;
    config.expand_empty_elements = false;
    config.trim_text(false);
    reader
}

/// Moves `reader` past the first end tag `</name>`: in `swallowed` (bytes
/// already read, the rest of which is read again) or else in what follows.
/// False when the document ends first.
fn resume_after_end_tag<R: BufRead>(
    reader: &mut NsReader<Replay<R>>,
    swallowed: &[u8],
    name: &str,
) -> bool {
    match stream::after_end_tag(swallowed, name) {
        Some(after) => {
            reader.get_mut().unread(&swallowed[after..]);
            true
        }
        None => reader.get_mut().skip_past_end_tag(name).unwrap_or(false),
    }
}

/// A fresh reader where `reader` stopped, with the namespace scopes of the
/// elements open in `stack` (after broken markup, quick-xml's own state is
/// not to be trusted).
fn reader_at<R: BufRead>(
    reader: NsReader<Replay<R>>,
    doc: &Doc,
    stack: &[u32],
) -> NsReader<Replay<R>> {
    let mut reader = new_reader(reader.into_inner());
    for &i in stack {
        let e = &doc.els[i as usize];
        let start = quick_xml::events::BytesStart::new(&*e.qname).with_attributes(
            e.attrs
                .iter()
                .filter(|a| &*a.qname == "xmlns" || a.qname.starts_with("xmlns:"))
                .map(|a| (&*a.qname, a.value.as_str())),
        );
        // Bindings past quick-xml's own cap were refused when first read too.
        let _ = reader.resolver_mut().push(&start);
    }
    reader
}

/// A bounded element tree of one XML document.
pub(super) struct Doc {
    els: Vec<Element>,
    bases: Vec<Url>,
    pub(super) root: Option<u32>,
    /// The XML error that stopped reading, if any (what was read before it is kept).
    pub(super) error: Option<String>,
    /// Entries mapped as they closed, by element index (ascending): their
    /// subtrees are gone from `els`. `None`: an entry with nothing in it.
    premapped: RefCell<Vec<(u32, Option<Built>)>>,
    /// What was left out, for [`IncomingFeed::notes`].
    pub(super) notes: Vec<String>,
    /// The entries mapped and kept, as (element, date, bytes held): at most
    /// [`MAX_ENTRIES`] holding at most [`MAX_FEED_CONTENT_BYTES`], the
    /// newest by date (see [`Doc::keep_newest`]).
    kept: Vec<(u32, i64, usize)>,
    /// How many entries were mapped in all, once some were let go.
    pub(super) capped_from: Option<usize>,
    /// Each `xmlns:prefix` declaration's first URI (a few dozen at most), to
    /// declare again in content that uses the prefix (`xlink:href` in MathML).
    prefixes: Vec<(Box<str>, Box<str>)>,
}

/// The entry being read, in [`Doc::build`].
struct OpenEntry {
    idx: u32,
    atom: bool,
    /// The stack's length below it: it is closed when the stack is this short.
    depth: usize,
    /// `Doc::bases` before it: its own bases go with its subtree.
    bases: usize,
    /// Its share of the tree so far.
    bytes: usize,
    /// Over [`MAX_ENTRY_BYTES`]: the rest of it is not read.
    cut: bool,
    /// The element it is a child of (let go from there if it is not kept).
    parent: u32,
}

/// What the document's entries came to, for the notes.
#[derive(Default)]
struct EntryCounts {
    /// Elements nested below [`MAX_DEPTH`] (their text flattened).
    deep: usize,
    cut: usize,
    /// Entries mapped, then let go for newer ones ([`Doc::keep_newest`]).
    let_go: usize,
    content_bytes: usize,
}

fn attr_bytes(attrs: &[Attr]) -> usize {
    attrs
        .iter()
        .map(|a| 32 + a.qname.len() + a.value.len())
        .sum()
}

impl Doc {
    /// Builds the tree from UTF-8 XML, a buffered event at a time. Entries
    /// where a feed puts them (Atom `entry` in `feed`, RSS `item` in
    /// `channel`, `rss` or `rdf:RDF`) are mapped when they close and their
    /// subtrees dropped, within the limits in `parse`'s module docs. A root in an
    /// unknown namespace named like a feed (a made-up RSS namespace) has its
    /// namespace read as none.
    pub(super) fn build(input: impl BufRead, doc_base: Option<&Url>, feed_url: &str) -> Doc {
        let mut doc = Doc {
            els: Vec::new(),
            bases: Vec::new(),
            root: None,
            error: None,
            premapped: RefCell::new(Vec::new()),
            notes: Vec::new(),
            kept: Vec::new(),
            capped_from: None,
            prefixes: Vec::new(),
        };
        let mut alias: Option<String> = None;
        let ns_of = |uri: &str, alias: &Option<String>| {
            if Some(uri) == alias.as_deref() {
                Ns::None
            } else {
                Ns::from_uri(uri)
            }
        };
        let top_base = match doc_base {
            Some(u) => {
                doc.bases.push(u.clone());
                0
            }
            None => NO_BASE,
        };
        let mut reader = new_reader(Replay::new(input));

        let mut buf = Vec::new();
        let mut stack: Vec<u32> = Vec::new();
        // Depth of elements below MAX_DEPTH: their text is kept, flattened
        // into the deepest element kept.
        let mut deep: usize = 0;
        // Depth of elements not read at all (an entry's rest past its cap, an
        // entry past the document's limits).
        let mut dropped: usize = 0;
        let mut entry: Option<OpenEntry> = None;
        let mut counts = EntryCounts::default();
        // The tree's bytes, as `ELEMENT_BYTES`, names, attributes and text.
        let mut bytes: usize = 0;
        // Character references to 0x80..0xFF in a row, held as bytes until
        // the run ends (see `push_ref_bytes`).
        let mut ref_bytes: Vec<u8> = Vec::new();
        // What one reference stands for (`&amp;` is an event of its own in
        // escaped HTML: one buffer for all, not a string each).
        let mut ref_text = String::new();
        // Writes out the run of references held in `ref_bytes`.
        macro_rules! flush_refs {
            () => {
                doc.push_ref_bytes(
                    &stack,
                    dropped,
                    &mut entry,
                    &mut bytes,
                    &mut ref_bytes,
                    &mut counts,
                )
            };
        }
        // The name entries were last seen under (`entry`, `item`, `rss:item`).
        let mut entry_name: Option<Box<str>> = None;
        // A markup error or a broken tag inside an entry costs that entry's
        // rest, never the entries after it: the entry is closed with what
        // was read of it, and reading resumes after its end tag (looked for
        // in `$raw`, what the broken markup swallowed, then in what follows).
        macro_rules! resume_after_entry {
            ($raw:expr) => {{
                match entry.take() {
                    Some(en) => {
                        let name = doc.els[en.idx as usize].qname.to_string();
                        let found = resume_after_end_tag(&mut reader, $raw, &name);
                        stack.truncate(en.depth);
                        deep = 0;
                        dropped = 0;
                        bytes -= doc.close_entry(en, feed_url, &mut counts);
                        if found && !stack.is_empty() {
                            reader = reader_at(reader, &doc, &stack);
                            true
                        } else {
                            false
                        }
                    }
                    None => false,
                }
            }};
        }
        loop {
            buf.clear();
            let (ns, event) = match reader.read_resolved_event_into(&mut buf) {
                Ok((res, ev)) => {
                    let ns = match res {
                        ResolveResult::Bound(n) => {
                            let uri = n.0;
                            if doc.root.is_none()
                                && let Event::Start(e) | Event::Empty(e) = &ev
                            {
                                let name = e.local_name();
                                let local: &str = name.as_ref();
                                let named_like_a_feed = ["feed", "rss", "rdf", "channel"]
                                    .iter()
                                    .any(|n| local.eq_ignore_ascii_case(n));
                                if Ns::from_uri(uri) == Ns::Other && named_like_a_feed {
                                    alias = Some(uri.to_string());
                                }
                            }
                            ns_of(uri, &alias)
                        }
                        ResolveResult::Unknown(p) => Ns::from_undeclared_prefix(&p),
                        ResolveResult::Unbound => Ns::None,
                    };
                    (ns, ev)
                }
                Err(e) => {
                    flush_refs!();
                    let at = reader.error_position();
                    let swallowed = std::mem::take(&mut buf);
                    if resume_after_entry!(&swallowed) {
                        continue;
                    }
                    // Between entries (an entry's own start tag broken, say):
                    // reading resumes after the next entry's end.
                    if let Some(name) = entry_name.clone().filter(|_| !stack.is_empty())
                        && entry.is_none()
                        && resume_after_end_tag(&mut reader, &swallowed, &name)
                    {
                        deep = 0;
                        dropped = 0;
                        reader = reader_at(reader, &doc, &stack);
                        continue;
                    }
                    doc.error = Some(format!("{e} (at byte {at})"));
                    break;
                }
            };
            // A run of references to 0x80..0xFF is held until it ends (see
            // `push_ref_bytes`); anything else ends it.
            if !matches!(event, Event::GeneralRef(_)) && !ref_bytes.is_empty() {
                flush_refs!();
            }
            match event {
                Event::Start(ref e) | Event::Empty(ref e) => {
                    let empty = matches!(event, Event::Empty(_));
                    let opens = usize::from(!empty);
                    if dropped == 0 {
                        let raw = || {
                            let mut raw = Vec::with_capacity(e.len() + 3);
                            raw.push(b'<');
                            raw.extend_from_slice(e.as_bytes());
                            raw.extend_from_slice(if empty { b"/>" } else { b">" });
                            raw
                        };
                        // `a < b` or `x <= y` in text is no tag (XML says it
                        // is an error; HTML reads it as text, and so do we).
                        let name_start = e.name().as_ref().as_bytes().first().copied();
                        if !name_start
                            .is_some_and(|c| c.is_ascii_alphabetic() || c == b'_' || c >= 0x80)
                            && !stack.is_empty()
                        {
                            doc.push_text(
                                &stack,
                                dropped + deep,
                                &mut entry,
                                &mut bytes,
                                "<",
                                &mut counts,
                            );
                            reader.get_mut().unread(&raw()[1..]);
                            reader = reader_at(reader, &doc, &stack);
                            continue;
                        }
                        // An entry's start tag with markup in its attributes
                        // is broken (a quote left open): that entry is skipped.
                        let qname: &str = e.name().into_inner();
                        if matches!(local_part(qname), "entry" | "item")
                            && (ns.is_atom() || ns.is_rss())
                        {
                            let name = qname.to_string();
                            if !stack.is_empty()
                                && entry.is_none()
                                && e.attributes_raw().contains('<')
                                && resume_after_end_tag(&mut reader, &raw(), &name)
                            {
                                entry_name = Some(name.into());
                                reader = reader_at(reader, &doc, &stack);
                                continue;
                            }
                            entry_name = Some(name.into());
                        }
                        // A quote left open in a tag swallows markup up to the
                        // next quote: a "tag" holding its entry's end tag is such a one.
                        // (Almost no tag has a `<` in it: only those are searched.)
                        if let Some(en) = &entry
                            && memchr::memchr(b'<', e.attributes_raw().as_bytes()).is_some()
                        {
                            let end = [b"</", doc.els[en.idx as usize].qname.as_bytes()].concat();
                            if stream::find(e.attributes_raw().as_bytes(), &end).is_some()
                                && resume_after_entry!(&raw())
                            {
                                continue;
                            }
                        }
                    }
                    if dropped > 0 {
                        dropped += opens;
                        continue;
                    }
                    if deep > 0 || stack.len() >= MAX_DEPTH {
                        deep += opens;
                        counts.deep += 1;
                        continue;
                    }
                    if entry.as_ref().is_some_and(|en| en.cut) {
                        dropped = opens;
                        continue;
                    }
                    if stack.is_empty() && doc.root.is_some() {
                        // A second root element: the document is over.
                        break;
                    }
                    if doc.els.len() >= MAX_ELEMENTS {
                        doc.error = Some(format!("more than {MAX_ELEMENTS} elements"));
                        break;
                    }
                    let name = e.name();
                    let qname: &str = name.as_ref();
                    // Some(true): an Atom entry; Some(false): an RSS item.
                    let starts_entry =
                        stack
                            .last()
                            .filter(|_| entry.is_none())
                            .and_then(|&parent| {
                                let local = local_part(qname);
                                match root_kind(&doc, parent)? {
                                    RootKind::Atom => {
                                        (local == "entry" && ns.is_atom()).then_some(true)
                                    }
                                    RootKind::Rss | RootKind::Rdf => {
                                        (local == "item" && ns.is_rss()).then_some(false)
                                    }
                                    RootKind::AtomEntry => None,
                                }
                            });
                    let parent_base = stack.last().map_or(top_base, |&p| doc.els[p as usize].base);
                    let bases_before = doc.bases.len();
                    let mut attrs = Vec::new();
                    let mut base = parent_base;
                    for a in e
                        .html_attributes()
                        .with_checks(false)
                        .take(MAX_ATTRIBUTES)
                        .flatten()
                    {
                        let key: &str = a.key.as_ref();
                        let ans = if key.starts_with("xml:") {
                            Ns::Xml
                        } else if key == "xmlns" || key.starts_with("xmlns:") {
                            Ns::Other
                        } else {
                            match reader.resolver().resolve_attribute(a.key).0 {
                                ResolveResult::Bound(n) => ns_of(n.0, &alias),
                                ResolveResult::Unknown(p) => Ns::from_undeclared_prefix(&p),
                                ResolveResult::Unbound => Ns::None,
                            }
                        };
                        let value = unescape(&a.value);
                        if let Some(prefix) = key.strip_prefix("xmlns:")
                            && doc.prefixes.len() < MAX_ATTRIBUTES
                            && !doc.prefixes.iter().any(|(p, _)| **p == *prefix)
                        {
                            doc.prefixes.push((prefix.into(), value.as_str().into()));
                        }
                        if key == "xml:base" {
                            let parent =
                                (parent_base != NO_BASE).then(|| &doc.bases[parent_base as usize]);
                            if let Some(u) = resolve_base(value.trim(), parent) {
                                doc.bases.push(u);
                                base = (doc.bases.len() - 1) as u32;
                            }
                        }
                        attrs.push(Attr {
                            ns: ans,
                            qname: key.into(),
                            value,
                        });
                    }
                    let cost = ELEMENT_BYTES + qname.len() + attr_bytes(&attrs);
                    if let Some(en) = entry.as_mut()
                        && en.bytes + cost > MAX_ENTRY_BYTES
                    {
                        doc.bases.truncate(bases_before);
                        en.cut = true;
                        counts.cut += 1;
                        dropped = opens;
                        continue;
                    }
                    if entry.is_none() && starts_entry.is_none() && bytes + cost > MAX_TREE_BYTES {
                        doc.error = Some(over_tree(reader.buffer_position()));
                        break;
                    }
                    bytes += cost;
                    let idx = doc.els.len() as u32;
                    doc.els.push(Element {
                        ns,
                        qname: qname.into(),
                        local_at: qname.rfind(':').map_or(0, |c| c as u32 + 1),
                        attrs,
                        children: Vec::new(),
                        base,
                    });
                    match stack.last() {
                        Some(&p) => doc.els[p as usize].children.push(Node::El(idx)),
                        None => doc.root = Some(idx),
                    }
                    if let Some(en) = entry.as_mut() {
                        en.bytes += cost;
                    } else if let Some(atom) = starts_entry {
                        entry = Some(OpenEntry {
                            idx,
                            atom,
                            depth: stack.len(),
                            bases: bases_before,
                            bytes: cost,
                            cut: false,
                            parent: stack.last().copied().unwrap_or(idx),
                        });
                    }
                    if !empty {
                        stack.push(idx);
                    } else if let Some(en) = entry.take_if(|en| en.idx == idx) {
                        bytes -= doc.close_entry(en, feed_url, &mut counts);
                    }
                }
                Event::End(ref e) => {
                    if dropped > 0 {
                        dropped -= 1;
                        continue;
                    }
                    if deep > 0 {
                        deep -= 1;
                        continue;
                    }
                    // An end tag closes the nearest open element of that name
                    // (and any left unclosed inside it); a stray one is ignored.
                    let name = e.name();
                    let name: &str = name.as_ref();
                    if let Some(pos) = stack
                        .iter()
                        .rposition(|&i| &*doc.els[i as usize].qname == name)
                        // Closing more than the innermost element is the case to look at.
                        .filter(|&pos| {
                            pos + 1 == stack.len()
                                || !doc.stray_end(reader.get_mut(), &stack, entry.as_ref(), pos)
                        })
                    {
                        stack.truncate(pos);
                        if let Some(en) = entry.take_if(|en| stack.len() <= en.depth) {
                            bytes -= doc.close_entry(en, feed_url, &mut counts);
                        }
                        if stack.is_empty() {
                            break;
                        }
                    }
                    // quick-xml's namespace scopes follow its own count of
                    // start and end tags; keep them those of the elements
                    // still open here, so that a `<br>` left open inside
                    // XHTML content cannot leave its `xmlns` in force for the
                    // entries after it (the +1 is the pop quick-xml has pending).
                    let open = stack.len();
                    reader
                        .resolver_mut()
                        .set_level(u16::try_from(open + 1).unwrap_or(u16::MAX));
                }
                Event::Text(ref t) => {
                    let text = t.xml10_content();
                    doc.push_text(&stack, dropped, &mut entry, &mut bytes, &text, &mut counts);
                }
                Event::CData(ref t) => {
                    let text = t.xml10_content();
                    doc.push_text(&stack, dropped, &mut entry, &mut bytes, &text, &mut counts);
                }
                Event::GeneralRef(ref r) => {
                    let c = match r.resolve_char_ref() {
                        Ok(Some(c)) => Some(c),
                        // `&lt;` and the like: not characters to hold as bytes.
                        Ok(None) if quick_xml::escape::resolve_predefined_entity(r).is_none() => {
                            html_entity(r)
                        }
                        _ => None,
                    };
                    if let Some(c) = c.filter(|c| (0x80..=0xFF).contains(&u32::from(*c))) {
                        ref_bytes.push(u32::from(c) as u8);
                        continue;
                    }
                    flush_refs!();
                    let s = &mut ref_text;
                    s.clear();
                    match r.resolve_char_ref() {
                        Ok(Some(c)) => s.push(char_from_reference(c as u32, true)),
                        Ok(None) => push_named_entity(s, r),
                        // `&#X41;`: quick-xml reads only a lower-case `x`.
                        Err(_) => s.push_str(&decode_entities(&format!("&{};", &**r), true)),
                    }
                    doc.push_text(&stack, dropped, &mut entry, &mut bytes, s, &mut counts);
                }
                Event::Eof => break,
                // DocType (never processed), comments, processing instructions.
                _ => {}
            }
            if bytes > MAX_TREE_BYTES + MAX_ENTRY_BYTES {
                doc.error = Some(over_tree(reader.buffer_position()));
                break;
            }
        }
        if doc.error.is_none() && !stack.is_empty() {
            doc.error = Some("the document ends before its elements are closed".into());
        }
        doc.note_counts(&counts);
        doc
    }

    /// Maps a closed entry, drops its subtree, and returns the tree bytes freed.
    fn close_entry(&mut self, en: OpenEntry, feed_url: &str, counts: &mut EntryCounts) -> usize {
        let built = {
            let m = Mapper {
                doc: self,
                feed_url,
            };
            if en.atom {
                m.atom_entry(en.idx, None)
            } else {
                m.rss_item(en.idx, None)
            }
        };
        // What the entry holds: its HTML, or its tree where that is more
        // (a huge title, say).
        let html = built.as_ref().map_or(0, |(e, _)| {
            e.content_html.as_ref().map_or(0, String::len)
                + e.summary_html.as_ref().map_or(0, String::len)
        });
        let date = built
            .as_ref()
            .map(|(e, _)| e.published.or(e.updated).unwrap_or(i64::MIN));
        self.els.truncate(en.idx as usize + 1);
        let el = &mut self.els[en.idx as usize];
        el.children = Vec::new();
        el.attrs = Vec::new();
        self.bases.truncate(en.bases);
        self.premapped.get_mut().push((en.idx, built));
        if let Some(date) = date {
            let held = html.max(en.bytes);
            counts.content_bytes += held;
            self.kept.push((en.idx, date, held));
            self.keep_newest(en.parent, counts);
        }
        en.bytes
    }

    /// The per-poll entry cap, kept while streaming: past [`MAX_ENTRIES`]
    /// entries, or [`MAX_FEED_CONTENT_BYTES`] of them, the oldest by date is
    /// let go (undated ones count as oldest; among equal dates the later in
    /// the document goes), so a feed that lists its oldest entries first
    /// still keeps its newest, and what is held stays bounded.
    fn keep_newest(&mut self, parent: u32, counts: &mut EntryCounts) {
        while self.kept.len() > MAX_ENTRIES
            || (self.kept.len() > 1 && counts.content_bytes > MAX_FEED_CONTENT_BYTES)
        {
            let Some(at) = (0..self.kept.len())
                .min_by_key(|&i| (self.kept[i].1, std::cmp::Reverse(self.kept[i].0)))
            else {
                return;
            };
            let (idx, _, held) = self.kept.remove(at);
            counts.content_bytes -= held;
            counts.let_go += 1;
            let premapped = self.premapped.get_mut();
            if let Ok(p) = premapped.binary_search_by_key(&idx, |(i, _)| *i) {
                premapped.remove(p);
            }
            if let Some(el) = self.els.get_mut(parent as usize) {
                el.children
                    .retain(|n| !matches!(n, Node::El(i) if *i == idx));
            }
        }
        if counts.let_go > 0 {
            self.capped_from = Some(self.kept.len() + counts.let_go);
        }
    }

    fn note_counts(&mut self, counts: &EntryCounts) {
        let kib = |b: usize| b / 1024;
        if counts.deep > 0 {
            self.notes.push(format!(
                "{} nested deeper than {MAX_DEPTH} levels: kept as their text",
                plural(counts.deep, "element", "elements")
            ));
        }
        if counts.cut > 0 {
            self.notes.push(format!(
                "{} cut short: an entry is read up to {} KiB",
                plural(counts.cut, "entry", "entries"),
                kib(MAX_ENTRY_BYTES)
            ));
        }
    }

    /// The entry this element was, mapped when it closed (taken: asked once).
    pub(super) fn take_premapped(&self, i: u32) -> Option<Option<Built>> {
        let mut premapped = self.premapped.borrow_mut();
        let at = premapped.binary_search_by_key(&i, |(idx, _)| *idx).ok()?;
        Some(premapped[at].1.take())
    }

    /// Whether an end tag that would close `stack[pos]` is a stray one inside
    /// an entry's field (say a `</entry>` in its XHTML content): it would
    /// close the entry while one of its fields is open, and that field's own
    /// end tag comes before the next entry starts (looked for in the next
    /// 64 KiB; past them, the end tag is taken as it is).
    fn stray_end<R: BufRead>(
        &self,
        input: &mut Replay<R>,
        stack: &[u32],
        entry: Option<&OpenEntry>,
        pos: usize,
    ) -> bool {
        let Some(en) = entry else {
            return false;
        };
        let Some(&field) = stack.get(en.depth + 1) else {
            return false;
        };
        if pos > en.depth {
            return false;
        }
        let Ok(rest) = input.peek(64 * 1024) else {
            return false;
        };
        let field_end = stream::find(
            rest,
            &[b"</", self.els[field as usize].qname.as_bytes()].concat(),
        );
        let start = [b"<", self.els[en.idx as usize].qname.as_bytes()].concat();
        let mut next_entry = None;
        let mut from = 0;
        while let Some(i) = stream::find(&rest[from..], &start) {
            let at = from + i;
            if rest
                .get(at + start.len())
                .is_some_and(|&c| c == b'>' || c == b'/' || c.is_ascii_whitespace())
            {
                next_entry = Some(at);
                break;
            }
            from = at + start.len();
        }
        match (field_end, next_entry) {
            (Some(f), Some(n)) => f < n,
            (Some(_), None) => true,
            (None, _) => false,
        }
    }

    /// A run of references to 0x80..0xFF: UTF-8 written out byte by byte
    /// (`&#226;&#128;&#166;`, text double-encoded on its way) is read as the
    /// UTF-8 it is; otherwise each is its character (0x80..0x9F as windows-1252).
    fn push_ref_bytes(
        &mut self,
        stack: &[u32],
        dropped: usize,
        entry: &mut Option<OpenEntry>,
        bytes: &mut usize,
        run: &mut Vec<u8>,
        counts: &mut EntryCounts,
    ) {
        if run.is_empty() {
            return;
        }
        let text = match std::str::from_utf8(run) {
            Ok(utf8) => utf8.to_string(),
            Err(_) => run
                .iter()
                .map(|&b| char_from_reference(u32::from(b), true))
                .collect(),
        };
        self.push_text(stack, dropped, entry, bytes, &text, counts);
        run.clear();
    }

    /// Text goes to the innermost element read: below MAX_DEPTH that is the
    /// deepest element kept (the text is flattened into it, not lost); in an
    /// entry cut short, or in elements not read, it goes nowhere.
    fn push_text(
        &mut self,
        stack: &[u32],
        dropped: usize,
        entry: &mut Option<OpenEntry>,
        bytes: &mut usize,
        text: &str,
        counts: &mut EntryCounts,
    ) {
        if dropped > 0 || text.is_empty() {
            return;
        }
        if let Some(en) = entry.as_mut() {
            if en.cut {
                return;
            }
            if en.bytes + text.len() > MAX_ENTRY_BYTES {
                en.cut = true;
                counts.cut += 1;
                return;
            }
            en.bytes += text.len();
        }
        *bytes += text.len();
        let Some(&top) = stack.last() else { return };
        let children = &mut self.els[top as usize].children;
        if let Some(Node::Text(last)) = children.last_mut() {
            last.push_str(text);
        } else {
            children.push(Node::Text(text.to_string()));
        }
    }

    pub(super) fn el(&self, i: u32) -> &Element {
        &self.els[i as usize]
    }

    /// Child elements, in order.
    pub(super) fn kids(&self, i: u32) -> impl Iterator<Item = u32> + '_ {
        self.el(i).children.iter().filter_map(|n| match n {
            Node::El(c) => Some(*c),
            Node::Text(_) => None,
        })
    }

    pub(super) fn has_element_children(&self, i: u32) -> bool {
        self.kids(i).next().is_some()
    }

    /// The first child element matching the namespace test and local name.
    pub(super) fn child(&self, i: u32, ns: impl Fn(Ns) -> bool, local: &str) -> Option<u32> {
        self.kids(i).find(|&c| {
            let e = self.el(c);
            ns(e.ns) && e.local() == local
        })
    }

    pub(super) fn children_named<'a>(
        &'a self,
        i: u32,
        ns: impl Fn(Ns) -> bool + 'a,
        local: &'a str,
    ) -> impl Iterator<Item = u32> + 'a {
        self.kids(i).filter(move |&c| {
            let e = self.el(c);
            ns(e.ns) && e.local() == local
        })
    }

    /// An attribute without namespace (`href`, `type`...).
    pub(super) fn attr(&self, i: u32, local: &str) -> Option<&str> {
        self.el(i)
            .attrs
            .iter()
            .find(|a| a.ns == Ns::None && &*a.qname == local)
            .map(|a| a.value.as_str())
    }

    pub(super) fn attr_ns(&self, i: u32, ns: Ns, local: &str) -> Option<&str> {
        self.el(i)
            .attrs
            .iter()
            .find(|a| a.ns == ns && local_part(&a.qname) == local)
            .map(|a| a.value.as_str())
    }

    /// All text below the element, concatenated.
    pub(super) fn text(&self, i: u32) -> String {
        let mut out = String::new();
        self.collect_text(i, &mut out);
        out
    }

    fn collect_text(&self, i: u32, out: &mut String) {
        for n in &self.el(i).children {
            match n {
                Node::Text(t) => out.push_str(t),
                Node::El(c) => self.collect_text(*c, out),
            }
        }
    }

    /// Trimmed text, None when empty.
    pub(super) fn text_opt(&self, i: u32) -> Option<String> {
        let t = self.text(i);
        let t = t.trim();
        (!t.is_empty()).then(|| t.to_string())
    }

    /// The element's content serialized as (X)HTML markup.
    pub(super) fn inner_xml(&self, i: u32) -> String {
        let mut out = String::new();
        let mut declared = Vec::new();
        for n in &self.el(i).children {
            self.serialize(n, &mut out, &mut declared);
        }
        out
    }

    /// `declared`: the prefixes declared by the elements written around this one.
    fn serialize<'a>(&'a self, n: &'a Node, out: &mut String, declared: &mut Vec<&'a str>) {
        match n {
            Node::Text(t) => escape_into(t, false, out),
            Node::El(c) => {
                let e = self.el(*c);
                let scope = declared.len();
                // XHTML elements become plain HTML names; others keep their prefix.
                let name = if e.ns == Ns::Xhtml {
                    e.local()
                } else {
                    &e.qname
                };
                out.push('<');
                out.push_str(name);
                for a in &e.attrs {
                    let is_decl = &*a.qname == "xmlns" || a.qname.starts_with("xmlns:");
                    if is_decl && Ns::from_uri(&a.value) == Ns::Xhtml {
                        continue;
                    }
                    if let Some(prefix) = a.qname.strip_prefix("xmlns:") {
                        declared.push(prefix);
                    }
                    out.push(' ');
                    out.push_str(&a.qname);
                    out.push_str("=\"");
                    escape_into(&a.value, true, out);
                    out.push('"');
                }
                // Prefixes declared outside the content (on the feed, say)
                // are declared here, where the content first uses them.
                // (Only names in namespaces this module does not know: the
                // cheap test, as every element of every XHTML content is here.)
                let used = std::iter::once((e.ns, name))
                    .chain(e.attrs.iter().map(|a| (a.ns, &*a.qname)))
                    .filter(|(ns, _)| *ns == Ns::Other)
                    .filter_map(|(_, q)| q.split_once(':').map(|(p, _)| p))
                    .filter(|p| !matches!(*p, "xml" | "xmlns"));
                for prefix in used {
                    if declared.contains(&prefix) {
                        continue;
                    }
                    if let Some((p, uri)) = self.prefixes.iter().find(|(p, _)| **p == *prefix) {
                        out.push_str(" xmlns:");
                        out.push_str(p);
                        out.push_str("=\"");
                        escape_into(uri, true, out);
                        out.push('"');
                        declared.push(p);
                    }
                }
                if is_void_element(e.local()) {
                    // A `<br>` left open holds what followed it: that comes after it.
                    out.push_str(" />");
                    declared.truncate(scope);
                    for child in &e.children {
                        self.serialize(child, out, declared);
                    }
                    return;
                }
                out.push('>');
                for child in &e.children {
                    self.serialize(child, out, declared);
                }
                declared.truncate(scope);
                out.push_str("</");
                out.push_str(name);
                out.push('>');
            }
        }
    }

    fn base(&self, i: u32) -> Option<&Url> {
        let b = self.el(i).base;
        (b != NO_BASE).then(|| &self.bases[b as usize])
    }

    /// The element's base as a string (what `base_url` carries).
    pub(super) fn base_string(&self, i: u32, feed_url: &str) -> String {
        self.base(i)
            .map_or_else(|| feed_url.to_string(), |u| u.to_string())
    }

    /// A URL attribute or text, resolved against the element's base.
    pub(super) fn url(&self, i: u32, raw: &str) -> Option<String> {
        resolve_url(raw, self.base(i))
    }
}

/// `xml:base` values: resolved against the parent base; only http(s) kept
/// (a `javascript:` or malformed base is ignored and the parent's stays).
fn resolve_base(value: &str, parent: Option<&Url>) -> Option<Url> {
    let u = match parent {
        Some(p) => p.join(value).ok()?,
        None => Url::parse(value).ok()?,
    };
    matches!(u.scheme(), "http" | "https").then_some(u)
}

/// A link resolved against `base`. Absolute URLs come back normalised by the
/// URL parser; a relative one without a base comes back as written.
pub(super) fn resolve_url(raw: &str, base: Option<&Url>) -> Option<String> {
    let raw = raw.trim();
    if raw.is_empty() {
        return None;
    }
    match Url::parse(raw) {
        Ok(u) => Some(u.to_string()),
        Err(url::ParseError::RelativeUrlWithoutBase) => match base.map(|b| b.join(raw)) {
            Some(Ok(u)) => Some(u.to_string()),
            _ => Some(raw.to_string()),
        },
        Err(_) => Some(raw.to_string()),
    }
}

fn is_void_element(name: &str) -> bool {
    matches!(
        name.to_ascii_lowercase().as_str(),
        "area"
            | "base"
            | "br"
            | "col"
            | "embed"
            | "hr"
            | "img"
            | "input"
            | "link"
            | "meta"
            | "param"
            | "source"
            | "track"
            | "wbr"
    )
}

/// Why the document is read no further: its tree is over [`MAX_TREE_BYTES`].
fn over_tree(at: u64) -> String {
    format!(
        "more than {} MiB of markup outside entries (at byte {at})",
        MAX_TREE_BYTES >> 20
    )
}

/// "1 entry", "3 entries".
fn plural(n: usize, one: &str, many: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {many}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::testing::*;
    use crate::parse::xml::MAX_ENCLOSURES;

    /// Each broken entry sits between two good ones; the good ones must survive.
    #[test]
    fn a_markup_error_in_one_entry_never_swallows_the_entries_after_it() {
        let broken_atom = [
            // A void element left open in XHTML content, with the XHTML namespace declared on it.
            r#"<content type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml"><p>one<br>two<img src="a.png"></p></div></content>"#,
            // Mismatched and stray end tags.
            r#"<content type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml"><b><i>x</b></i></span></div></div></content>"#,
            // An end tag of the entry and the feed inside the content.
            r#"<content type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml"><p>x</p></entry></feed></div></content>"#,
            // A quote left open in an attribute.
            r#"<content type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml"><img src="x" alt="a"b"></div></content>"#,
            // A CDATA section and a processing instruction never closed.
            r#"<summary><![CDATA[ never closed</summary>"#,
            r#"<summary>pi <?php echo 1 </summary>"#,
            // `<` as text.
            r#"<content type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml">a < b, 1 <2</div></content>"#,
        ];
        // The broken entry's own start tag: that entry goes, the next ones stay.
        for broken in [
            r#"<entry xml:lang="en><id>2</id><title>broken</title></entry>"#,
            r#"<entry xml:lang="en><id>2</id><title type="text">broken</title></entry>"#,
        ] {
            let f = ok(&format!(
                r#"<feed xmlns="http://www.w3.org/2005/Atom"><entry><id>1</id><title>first</title></entry>{broken}<entry><id>3</id><title>third</title></entry><entry><id>4</id><link href="/4"/><title>fourth</title></entry></feed>"#
            ));
            let titles: Vec<_> = f.entries.iter().map(|e| e.title.as_deref()).collect();
            assert_eq!(
                titles,
                [Some("first"), Some("third"), Some("fourth")],
                "{broken}"
            );
        }
        for broken in broken_atom {
            let f = ok(&format!(
                r#"<feed xmlns="http://www.w3.org/2005/Atom"><entry><id>1</id><title>first</title></entry><entry><id>2</id><title>broken</title>{broken}</entry><entry><id>3</id><title>third</title></entry><entry><id>4</id><title>fourth</title></entry></feed>"#
            ));
            let titles: Vec<_> = f.entries.iter().map(|e| e.title.as_deref()).collect();
            assert_eq!(
                titles,
                [Some("first"), Some("broken"), Some("third"), Some("fourth")],
                "{broken}"
            );
        }
        let f = ok(
            r#"<feed xmlns="http://www.w3.org/2005/Atom"><entry><id>1</id><content type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml"><p>one<br>two</p>a < b</div></content></entry></feed>"#,
        );
        assert_eq!(
            f.entries[0].content_html.as_deref(),
            Some("<p>one<br />two</p>a &lt; b"),
            "what a void element held comes after it"
        );
        let f = ok(
            r#"<rss><channel><item><description><p>HTML-style <img src=x.png alt=hi><input disabled></p></description></item></channel></rss>"#,
        );
        assert_eq!(
            f.entries[0].summary_html.as_deref(),
            Some(r#"<p>HTML-style <img src="x.png" alt="hi" /><input disabled="" /></p>"#),
            "unquoted and bare attributes are kept"
        );
        for broken in [
            r#"<description><p>unclosed <b>bold</description>"#,
            r#"<description><img src="x" alt="a"b"></description>"#,
            r#"<description><![CDATA[ never closed</description>"#,
            r#"<description><p>x</p></item></channel></rss></description>"#,
        ] {
            let f = ok(&format!(
                r#"<rss version="2.0"><channel><item><guid>1</guid></item><item><guid>2</guid>{broken}</item><item><guid>3</guid><title>third</title></item></channel></rss>"#
            ));
            assert_eq!(f.entries.len(), 3, "{broken}");
            assert_eq!(f.entries[2].title.as_deref(), Some("third"), "{broken}");
        }
    }

    #[test]
    fn prefixes_declared_outside_xhtml_content_are_declared_in_it() {
        let f = ok(
            r#"<feed xmlns="http://www.w3.org/2005/Atom" xmlns:xlink="http://www.w3.org/1999/xlink">
  <entry><id>1</id><content type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml"><math xmlns="http://www.w3.org/1998/Math/MathML"><mrow xlink:href="http://a.example/"><mi>a</mi><mrow xlink:type="simple"/></mrow></math></div></content></entry>
</feed>"#,
        );
        assert_eq!(
            f.entries[0].content_html.as_deref(),
            Some(
                r#"<math xmlns="http://www.w3.org/1998/Math/MathML"><mrow xlink:href="http://a.example/" xmlns:xlink="http://www.w3.org/1999/xlink"><mi>a</mi><mrow xlink:type="simple"></mrow></mrow></math>"#
            ),
            "declared once, where first used"
        );
    }

    #[test]
    fn relative_links_and_xml_base() {
        let f = parse(
            br#"<feed xmlns="http://www.w3.org/2005/Atom" xml:base="/feeds/">
  <link href="../"/>
  <entry xml:base="entries/">
    <id>1</id><link href="one.html"/>
    <content type="html" xml:base="content/">&lt;a href="x"&gt;x&lt;/a&gt;</content>
  </entry>
  <entry xml:base="javascript:alert(1)"><id>2</id><link href="two.html"/><summary>s</summary></entry>
  <entry xml:base="http://other.example/"><id>3</id><link href="//cdn.example/three"/></entry>
</feed>"#,
            None,
            "http://example.com/a/feed.atom",
        )
        .unwrap();
        assert_eq!(f.home_url.as_deref(), Some("http://example.com/"));
        assert_eq!(
            f.entries[0].link.as_deref(),
            Some("http://example.com/feeds/entries/one.html")
        );
        assert_eq!(
            f.entries[0].base_url,
            "http://example.com/feeds/entries/content/"
        );
        assert_eq!(
            f.entries[1].link.as_deref(),
            Some("http://example.com/feeds/two.html"),
            "an unsafe base is ignored"
        );
        assert_eq!(f.entries[1].base_url, "http://example.com/feeds/");
        assert_eq!(
            f.entries[2].link.as_deref(),
            Some("http://cdn.example/three")
        );
        // Without a usable feed URL, relative links stay as written.
        let f = parse(
            br#"<rss><channel><item><link>/x</link></item></channel></rss>"#,
            None,
            "",
        )
        .unwrap();
        assert_eq!(f.entries[0].link.as_deref(), Some("/x"));
    }

    #[test]
    fn broken_feeds_keep_what_was_read() {
        let truncated = ok(
            r#"<rss version="2.0"><channel><title>T</title><item><title>one</title><guid>1</guid></item><item><title>two</title><guid>2</guid></item><item><title>thr"#,
        );
        assert_eq!(truncated.entries.len(), 3);
        assert_eq!(truncated.entries[1].title.as_deref(), Some("two"));
        let unclosed = ok(
            r#"<rss><channel><itunes:category text="a"><item><title>inside</title><guid>1</guid></item></channel></rss>"#,
        );
        assert_eq!(
            unclosed.entries.len(),
            1,
            "an unclosed element is closed by its parent's end tag"
        );
        let amp = ok(
            r#"<rss><channel><item><link>http://a.example/?a=1&b=2</link></item></channel></rss>"#,
        );
        assert_eq!(
            amp.entries[0].link.as_deref(),
            Some("http://a.example/?a=1&b=2")
        );
    }

    #[test]
    fn billion_laughs_is_inert() {
        let mut dtd = String::from("<!DOCTYPE rss [\n<!ENTITY lol \"lol\">\n");
        for i in 1..=9 {
            let prev = if i == 1 {
                "lol".to_string()
            } else {
                format!("lol{}", i - 1)
            };
            dtd.push_str(&format!(
                "<!ENTITY lol{i} \"{}\">\n",
                format!("&{prev};").repeat(10)
            ));
        }
        dtd.push_str("]>\n");
        let doc = format!(
            "<?xml version=\"1.0\"?>\n{dtd}<rss><channel><title>&lol9;</title><item><title>x &lol9; y</title><guid>1</guid></item></channel></rss>"
        );
        let started = std::time::Instant::now();
        let f = ok(&doc);
        assert!(started.elapsed() < std::time::Duration::from_secs(2));
        assert_eq!(
            f.title.as_deref(),
            Some("&lol9;"),
            "declared entities are never expanded"
        );
        assert_eq!(f.entries[0].title.as_deref(), Some("x &lol9; y"));
    }

    #[test]
    fn external_entities_are_not_fetched() {
        for target in ["file:///etc/passwd", "http://127.0.0.1:9/secret"] {
            let doc = format!(
                "<?xml version=\"1.0\"?><!DOCTYPE rss [<!ENTITY xxe SYSTEM \"{target}\"><!ENTITY % p SYSTEM \"{target}\"> %p;]><rss><channel><title>a&xxe;b</title></channel></rss>"
            );
            let f = ok(&doc);
            assert_eq!(f.title.as_deref(), Some("a&xxe;b"));
        }
    }

    #[test]
    fn deep_nesting_and_huge_attribute_lists_are_bounded() {
        let depth = 100_000;
        let doc = format!(
            "<rss><channel><item><guid>1</guid><description>{}x{}</description></item></channel></rss>",
            "<b>".repeat(depth),
            "</b>".repeat(depth)
        );
        let f = ok(&doc);
        assert_eq!(f.entries.len(), 1);
        let summary = f.entries[0].summary_html.clone().unwrap_or_default();
        assert!(
            summary.len() < 10 * MAX_DEPTH,
            "elements below MAX_DEPTH are dropped"
        );
        let attrs: String = (0..200_000).map(|i| format!(" a{i}=\"{i}\"")).collect();
        let doc = format!("<rss><channel><item{attrs}><guid>1</guid></item></channel></rss>");
        let started = std::time::Instant::now();
        assert_eq!(ok(&doc).entries.len(), 1);
        assert!(started.elapsed() < std::time::Duration::from_secs(10));
        let many = format!(
            "<rss><channel><item><guid>1</guid></item>{}</channel></rss>",
            "<x/>".repeat(MAX_ELEMENTS + 10)
        );
        assert_eq!(
            ok(&many).entries.len(),
            1,
            "a document over MAX_ELEMENTS is read as truncated"
        );
        let links: String = (0..10_000)
            .map(|i| format!("<enclosure url=\"http://a.example/{i}\"/>"))
            .collect();
        let doc = format!("<rss><channel><item><guid>1</guid>{links}</item></channel></rss>");
        assert_eq!(ok(&doc).entries[0].enclosures.len(), MAX_ENCLOSURES);
    }

    #[test]
    fn a_huge_entry_is_cut_short_with_a_note_and_the_others_kept() {
        let huge = "&lt;p&gt;big&lt;/p&gt;".repeat(MAX_ENTRY_BYTES / 4);
        let doc = format!(
            "<rss><channel><title>t</title>\
             <item><guid>1</guid><description>one</description></item>\
             <item><guid>2</guid><description>{huge}</description></item>\
             <item><guid>3</guid><description><![CDATA[{}]]></description></item>\
             <item><guid>4</guid><description>four</description></item>\
             </channel></rss>",
            "x".repeat(3 * MAX_ENTRY_BYTES)
        );
        let f = ok(&doc);
        let ids: Vec<&str> = f.entries.iter().map(|e| e.identity.as_str()).collect();
        assert_eq!(ids, ["1", "2", "3", "4"]);
        for e in &f.entries[1..3] {
            let len = e.summary_html.as_ref().map_or(0, String::len);
            assert!(len > 0 && len <= MAX_ENTRY_BYTES, "{len}");
        }
        assert_eq!(f.entries[3].summary_html.as_deref(), Some("four"));
        assert_eq!(
            f.notes,
            ["2 entries cut short: an entry is read up to 512 KiB"]
        );
    }

    #[test]
    fn entries_past_the_document_limits_are_let_go_with_a_note() {
        let body = "y".repeat(MAX_ENTRY_BYTES / 2);
        // Undated: the first in the document are kept.
        let items: String = (0..40)
            .map(|i| format!("<item><guid>{i}</guid><description>{body}</description></item>"))
            .collect();
        let f = ok(&format!("<rss><channel>{items}</channel></rss>"));
        let kept = f.entries.len();
        assert!(
            (MAX_FEED_CONTENT_BYTES / body.len() - 1..=MAX_FEED_CONTENT_BYTES / body.len())
                .contains(&kept),
            "{kept}"
        );
        assert_eq!(f.entries[kept - 1].identity, format!("{}", kept - 1));
        assert_eq!(
            f.notes,
            [format!("capped: kept the newest {kept} of 40 entries")]
        );
        // Dated, oldest first: the newest (last) are kept.
        let items: String = (0..40)
            .map(|i| {
                format!(
                    "<item><guid>{i}</guid><dc:date>2024-01-01T{:02}:{:02}:00Z</dc:date>\
                     <description>{body}</description></item>",
                    i / 60,
                    i % 60
                )
            })
            .collect();
        let f = ok(&format!(
            "<rss xmlns:dc=\"http://purl.org/dc/elements/1.1/\"><channel>{items}</channel></rss>"
        ));
        let kept = f.entries.len();
        assert_eq!(f.entries[0].identity, format!("{}", 40 - kept));
        assert_eq!(f.entries[kept - 1].identity, "39");
    }

    #[test]
    fn entries_of_huge_titles_count_against_the_document_limit() {
        let title = "t".repeat(MAX_ENTRY_BYTES / 2);
        let items: String = (0..40)
            .map(|i| format!("<item><guid>{i}</guid><title>{title}</title></item>"))
            .collect();
        let f = ok(&format!("<rss><channel>{items}</channel></rss>"));
        assert!(f.entries.len() < 40 / 2, "{}", f.entries.len());
        assert_eq!(f.notes.len(), 1, "{:?}", f.notes);
    }

    #[test]
    fn content_nested_below_max_depth_is_kept_as_flattened_text() {
        let doc = format!(
            "<feed xmlns=\"http://www.w3.org/2005/Atom\"><entry><id>1</id>\
             <content type=\"xhtml\"><div xmlns=\"http://www.w3.org/1999/xhtml\">{}deep <b>text</b>{}</div></content></entry></feed>",
            "<div>".repeat(2 * MAX_DEPTH),
            "</div>".repeat(2 * MAX_DEPTH)
        );
        let f = ok(&doc);
        let content = f.entries[0].content_html.as_deref().unwrap_or_default();
        assert!(
            content.contains("deep text"),
            "{}",
            &content[content.len().saturating_sub(80)..]
        );
    }
}
