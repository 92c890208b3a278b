//! The command line (SPEC §3): one small function per command. Errors are
//! returned to `main`, which prints them once, on one line.

use crate::node::Node;
use crate::settings::{self, Settings};
use crate::store::{self, posts::PostId};
use crate::web::{auth, gateway};
use crate::{home, posts};
use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand};
use std::io::{IsTerminal, Read, Write};
use std::path::{Path, PathBuf};

#[derive(Parser, Debug)]
#[command(
    name = "roost",
    version = crate::build_id::BUILD_ID,
    about = "A microblog node for shared hosting: your posts as pages and feeds, your friends' feeds polled by cron.",
    after_help = "The data directory is found from --home, then ROOST_HOME, then \"home = DIR\" in roost.conf next to the binary, else ./roost-data."
)]
pub struct Cli {
    /// The data directory (holds the database)
    #[arg(long, global = true, value_name = "DIR")]
    pub home: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Create the data directory and database (refuses to touch an existing one)
    Init {
        /// The address the node is reached at, e.g. https://example.org/notes/
        #[arg(long)]
        url: String,
        /// The owner's name, shown on every page and feed
        #[arg(long)]
        name: String,
        /// Read the owner's password from standard input
        #[arg(long)]
        password_stdin: bool,
    },
    /// Set the owner's password (read from stdin when it is not a terminal)
    Passwd,
    /// Print a one-time link (valid 30 minutes) where the owner chooses the first password in the browser
    SetupLink,
    /// Publish a post and print its permalink
    Post {
        /// The text, or - to read it from stdin
        #[arg(allow_negative_numbers = true)]
        text: Option<String>,
        /// The address of the post this one replies to
        #[arg(long, value_name = "URL")]
        reply_to: Option<String>,
    },
    /// Change the text of a post
    Edit {
        #[arg(allow_negative_numbers = true)]
        id: String,
        /// The new text, or - to read it from stdin
        #[arg(allow_negative_numbers = true)]
        text: Option<String>,
    },
    /// Remove a post
    Delete {
        #[arg(allow_negative_numbers = true)]
        id: String,
    },
    /// Follow a feed, a web page whose <link rel="alternate"> names one, or a
    /// fediverse account by its handle (@user@host, by ActivityPub)
    Follow {
        url: String,
        /// A short name to use instead of the address
        #[arg(long, value_name = "NICK")]
        name: Option<String>,
    },
    /// Stop following (by address or nickname)
    Unfollow {
        #[arg(value_name = "URL|NICK")]
        target: String,
    },
    /// List followed feeds with their last poll, status and error
    Following,
    /// Move to another fediverse account (whose alsoKnownAs must name this
    /// site's actor): the actor says movedTo, the followers are sent a Move
    Move {
        #[arg(value_name = "NEW-ACTOR-URL")]
        target: String,
    },
    /// Search your posts, the feeds you follow and the replies you received
    #[command(
        after_help = "QUERY: words, \"a phrase\", prefix*, from:NAME, before:YYYY-MM-DD, after:YYYY-MM-DD, is:mine, has:link, has:photo"
    )]
    Search {
        /// What to look for (several words are one query)
        #[arg(required = true, num_args = 1.., allow_hyphen_values = true)]
        query: Vec<String>,
        /// Which page of 20 results (from 1)
        #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..1000))]
        page: u16,
    },
    /// Fetch the feeds that are due (safe to run from cron every minute)
    Poll {
        /// Print nothing unless something on this node is broken
        #[arg(long)]
        quiet: bool,
        /// Stop starting new fetches after this many seconds; the next run goes on
        #[arg(long, value_name = "N", allow_negative_numbers = true, value_parser = seconds)]
        max_seconds: Option<u64>,
        /// Poll every feed now (still with conditional requests)
        #[arg(long)]
        force: bool,
    },
    /// All due background work (polling, then queued jobs: WebSub...); what cron runs every minute
    Cron {
        /// Print nothing unless something on this node is broken
        #[arg(long)]
        quiet: bool,
        /// Stop starting new work after this many seconds; the next run goes on
        #[arg(long, value_name = "N", allow_negative_numbers = true, value_parser = seconds)]
        max_seconds: Option<u64>,
    },
    /// Follow every feed in an OPML file
    ImportOpml { file: PathBuf },
    /// Print the follow list as OPML 2.0
    ExportOpml,
    /// Show or change a setting (every setting: `roost config --help`)
    #[command(after_help = settings::help())]
    Config {
        key: Option<String>,
        /// The new value (a time zone such as -05:00 may start with "-")
        #[arg(allow_hyphen_values = true)]
        value: Option<String>,
    },
    /// Write a consistent copy of the database to FILE while the site stays up
    Backup { file: PathBuf },
    /// Write every post, follow and setting as one JSON document (to FILE, else standard output)
    Export {
        /// A new file to write it to
        file: Option<PathBuf>,
    },
    /// Bring posts home from an archive (run it again to go on after a time limit or a kill)
    Import {
        #[command(subcommand)]
        from: ImportFrom,
    },
    /// Check the installation: data directory, permissions, database, cron, the site answering
    #[command(
        after_help = "Prints one line per check: \"ok\", or \"FAIL\" with what to do about it. \
Exits non-zero when any check fails. Run it as the user the site runs as."
    )]
    Doctor,
    /// Run the built-in web server (for trying roost out, or behind a proxy)
    Serve {
        #[arg(long, default_value = "127.0.0.1:8080", value_name = "ADDR")]
        listen: String,
        /// Not an option: said so, with the `--listen` to use instead
        #[arg(long, hide = true, value_name = "N", allow_hyphen_values = true)]
        port: Option<String>,
    },
    /// Put roost's .htaccess block (this binary's own) into DIR/.htaccess, keeping every other line
    Htaccess {
        /// The directory that holds roost.cgi
        dir: PathBuf,
    },
    /// Answer FastCGI on ADDR (host:port or a Unix socket path), for nginx or lighttpd
    Fastcgi {
        #[arg(long, value_name = "ADDR")]
        listen: String,
    },
}

/// Where `roost import` reads from.
#[derive(Subcommand, Debug)]
pub enum ImportFrom {
    /// An X/Twitter archive (.zip): your tweets as posts, with their dates
    Twitter {
        file: PathBuf,
        /// Stop starting new work after this many seconds; run it again to go on
        #[arg(long, value_name = "N", allow_negative_numbers = true, value_parser = seconds)]
        max_seconds: Option<u64>,
        /// Retweets: skip them, or keep each as a post linking to it
        #[arg(long, value_enum, default_value = "skip")]
        retweets: crate::archive::twitter::Retweets,
    },
    /// A Mastodon archive (.zip or .tar.gz): public and unlisted posts, with their dates
    Mastodon {
        file: PathBuf,
        /// Stop starting new work after this many seconds; run it again to go on
        #[arg(long, value_name = "N", allow_negative_numbers = true, value_parser = seconds)]
        max_seconds: Option<u64>,
    },
    /// A `roost export`, onto a fresh node: the same posts, numbers, dates and settings
    Roost { file: PathBuf },
}

/// `--max-seconds N`: a whole number of seconds, said so when it is not.
fn seconds(raw: &str) -> Result<u64, String> {
    raw.trim()
        .parse()
        .map_err(|_| format!("{raw:?} is not a number of seconds: give a whole number, 0 or more"))
}

impl Command {
    /// Commands that run long or allocate much (see `roost::alloc`).
    pub fn is_long_lived(&self) -> bool {
        matches!(
            self,
            Command::Poll { .. }
                | Command::Cron { .. }
                | Command::Serve { .. }
                | Command::Fastcgi { .. }
                | Command::ImportOpml { .. }
                | Command::Import { .. }
        )
    }

    /// `serve` and `fastcgi`: they answer many clients, any of which may go away.
    pub fn is_server(&self) -> bool {
        matches!(self, Command::Serve { .. } | Command::Fastcgi { .. })
    }

    /// Whether the command fetches feeds (and so builds and frees a
    /// document's worth of memory, feed after feed).
    pub fn fetches_feeds(&self) -> bool {
        matches!(
            self,
            Command::Poll { .. } | Command::Cron { .. } | Command::ImportOpml { .. }
        )
    }
}

pub fn run(cli: Cli) -> Result<()> {
    let home = home::for_cli(cli.home)?;
    match cli.command {
        Command::Init {
            url,
            name,
            password_stdin,
        } => init(&home, &url, &name, password_stdin),
        Command::Passwd => passwd(&home),
        Command::SetupLink => setup_link(&home),
        Command::Post { text, reply_to } => post(&home, text, reply_to),
        Command::Edit { id, text } => edit(&home, &id, text),
        Command::Delete { id } => delete(&home, &id),
        Command::Follow { url, name } => follow(&home, &url, name.as_deref()),
        Command::Unfollow { target } => unfollow(&home, &target),
        Command::Following => following(&home),
        Command::Move { target } => move_to(&home, &target),
        Command::Search { query, page } => search(&home, &query.join(" "), page),
        Command::Poll {
            quiet,
            max_seconds,
            force,
        } => poll(&home, quiet, max_seconds, force),
        Command::Cron { quiet, max_seconds } => cron(&home, quiet, max_seconds),
        Command::ImportOpml { file } => import_opml(&home, &file),
        Command::ExportOpml => export_opml(&home),
        Command::Config { key, value } => config(&home, key, value),
        Command::Backup { file } => backup(&home, &file),
        Command::Export { file } => export(&home, file.as_deref()),
        Command::Import { from } => import(&home, from),
        Command::Doctor => doctor(&home),
        Command::Serve { listen, port } => serve(&home, &listen, port.as_deref()),
        Command::Fastcgi { listen } => gateway::run_fastcgi_listener(&listen, absolute(&home)?),
        Command::Htaccess { dir } => crate::htaccess::write(&dir, &crate::htaccess::prepare(&dir)?),
    }
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

fn absolute(path: &Path) -> Result<PathBuf> {
    std::path::absolute(path).with_context(|| format!("resolving {}", path.display()))
}

fn init(home: &Path, url: &str, name: &str, password_stdin: bool) -> Result<()> {
    let url = settings::validate("url", url)?;
    let name = settings::validate("name", name)?;
    if store::db_path(home).exists() {
        bail!(
            "{} already holds a roost database; refusing to touch it (use `{}` to change settings)",
            home.display(),
            crate::hint::command(home, "config")
        );
    }
    let password = if password_stdin {
        Some(read_password_from_stdin()?)
    } else {
        None
    };
    create_home(home, &url, &name, password.as_deref())?;
    println!("Created {}", home.display());
    if password.is_none() {
        println!(
            "Next: set the owner's password with `{}`",
            crate::hint::command(home, "passwd")
        );
    }
    Ok(())
}

/// Creates the data directory (owner-only) and its database with the first settings.
pub(crate) fn create_home(
    home: &Path,
    url: &str,
    name: &str,
    password: Option<&str>,
) -> Result<()> {
    use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
    if !home.exists() {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(home)
            .with_context(|| format!("creating the data directory {}", home.display()))?;
    } else {
        std::fs::set_permissions(home, std::fs::Permissions::from_mode(0o700))
            .with_context(|| format!("making {} private", home.display()))?;
    }
    let password_hash = password.map(auth::hash_password).transpose()?;
    let (id_prefix, feed_id) = entry_ids(url, now());
    // ActivityPub's key pair, made once, here (a node made before it gets
    // one on first need: `activitypub::keys::ensure`).
    let keys = crate::activitypub::keys::generate()?;
    let mut conn = store::create(home)?;
    Node::new(home, &mut conn).write(|tx| {
        store::settings::set(tx, "url", url)?;
        store::settings::set(tx, "name", name)?;
        // The rest as declared, so `roost export` shows every switch.
        for declared in settings::DECLARED.iter().filter(|d| d.public()) {
            if !["url", "name"].contains(&declared.key) {
                store::settings::set(tx, declared.key, declared.default)?;
            }
        }
        store::settings::set(tx, "id_prefix", &id_prefix)?;
        store::settings::set(tx, "feed_id", &feed_id)?;
        store::activitypub::set_key_pair(tx, &keys.private_pem, &keys.public_pem, now())?;
        if let Some(hash) = &password_hash {
            store::settings::set(tx, "password_hash", hash)?;
        }
        Ok(())
    })
}

/// RFC 4151 tag URIs, fixed at init so that a later change of address never
/// makes feed readers see every post as new: `tag:HOST,DATE:/PATH/` for the
/// feed and `tag:HOST,DATE:/PATH/posts/ID` for each post.
fn entry_ids(url: &str, now: i64) -> (String, String) {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let (host, path) = rest.split_once('/').unwrap_or((rest, ""));
    let host = host
        .rsplit('@')
        .next()
        .unwrap_or(host)
        .split(':')
        .next()
        .unwrap_or(host);
    let date = crate::render::datetime(now).format("%Y-%m-%d");
    let feed_id = format!("tag:{},{date}:/{}", host.to_ascii_lowercase(), path);
    (format!("{feed_id}posts/"), feed_id)
}

fn open(home: &Path) -> Result<rusqlite::Connection> {
    store::open(home)
}

fn passwd(home: &Path) -> Result<()> {
    let mut conn = open(home)?;
    let password = if std::io::stdin().is_terminal() {
        let first = prompt_hidden("New password: ")?;
        let second = prompt_hidden("Again: ")?;
        if first != second {
            bail!("the two passwords differ; nothing changed");
        }
        first
    } else {
        read_password_from_stdin()?
    };
    auth::check_password_strength(&password)?;
    let hash = auth::hash_password(&password)?;
    let now = now();
    let (signed_out, (failures, addresses)) = Node::new(home, &mut conn).write(|tx| {
        store::settings::set(tx, "password_hash", &hash)?;
        // Whoever may have known the old password is signed out too.
        let signed_out = store::sessions::delete_all(tx, now)?;
        Ok((signed_out, store::sessions::clear_all_login_failures(tx)?))
    })?;
    println!("Password set.");
    if failures > 0 {
        println!(
            "Cleared {failures} failed login(s) from {addresses} address(es): \
             every address may log in again without waiting."
        );
    } else {
        println!("No failed logins were recorded, so no address had to wait.");
    }
    if signed_out > 0 {
        println!(
            "Signed out {signed_out} browser session(s), since they were opened with \
             the old password: log in again with the new one."
        );
    }
    Ok(())
}

/// `roost setup-link`: a one-time link to choose the first password in the browser.
fn setup_link(home: &Path) -> Result<()> {
    let mut conn = open(home)?;
    if Settings::load(&conn)?.password_hash().is_some() {
        bail!(
            "this node already has a password; change it with `{}`",
            crate::hint::command(home, "passwd")
        );
    }
    let link = crate::web::setup::new_link(&mut conn, now())?;
    println!("{link}");
    eprintln!("The link works once, for 30 minutes: open it and choose the owner's password.");
    Ok(())
}

fn read_password_from_stdin() -> Result<String> {
    let mut line = String::new();
    std::io::stdin()
        .read_line(&mut line)
        .context("reading the password from stdin")?;
    let password = line.trim_end_matches(['\r', '\n']).to_string();
    auth::check_password_strength(&password)?;
    Ok(password)
}

/// Reads a line from the terminal without echoing it.
fn prompt_hidden(prompt: &str) -> Result<String> {
    eprint!("{prompt}");
    std::io::stderr().flush().ok();
    let fd = libc::STDIN_FILENO;
    // SAFETY: termios is plain data; tcgetattr fills it for a terminal fd.
    let mut original: libc::termios = unsafe { std::mem::zeroed() };
    let is_tty = unsafe { libc::tcgetattr(fd, &mut original) } == 0;
    if is_tty {
        let mut silent = original;
        silent.c_lflag &= !libc::ECHO;
        // SAFETY: restoring and changing attributes of our own stdin.
        unsafe { libc::tcsetattr(fd, libc::TCSANOW, &silent) };
    }
    let mut line = String::new();
    let read = std::io::stdin().read_line(&mut line);
    if is_tty {
        // SAFETY: as above.
        unsafe { libc::tcsetattr(fd, libc::TCSANOW, &original) };
        eprintln!();
    }
    read.context("reading the password")?;
    Ok(line.trim_end_matches(['\r', '\n']).to_string())
}

/// TEXT, `-` for stdin, or nothing: stdin when it is not a terminal.
fn text_argument(text: Option<String>) -> Result<String> {
    match text.as_deref() {
        Some("-") => read_stdin_text(),
        Some(_) => Ok(text.unwrap_or_default()),
        None if !std::io::stdin().is_terminal() => read_stdin_text(),
        None => bail!("no text given: pass it as an argument, or `-` to read it from stdin"),
    }
}

/// How much of a too-long text on stdin is read to count its characters
/// (the count in the message is the real one, not the size of what was kept).
const MAX_COUNTED_STDIN_BYTES: usize = 64 * 1024 * 1024;

/// The text on stdin. Only what a valid post can hold is kept; a longer text
/// is read on (up to `MAX_COUNTED_STDIN_BYTES`) to say how long it is.
fn read_stdin_text() -> Result<String> {
    let keep = posts::MAX_POST_CHARS * 4 + 1024;
    let (mut kept, mut total, mut chars) = (Vec::new(), 0usize, 0usize);
    let mut stdin = std::io::stdin().lock();
    let mut chunk = vec![0u8; 64 * 1024];
    while total <= MAX_COUNTED_STDIN_BYTES {
        let n = match stdin.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e).context("reading the text from stdin"),
        };
        let read = &chunk[..n];
        // UTF-8: every byte but a continuation byte starts a character.
        chars += read.iter().filter(|&&b| b & 0xC0 != 0x80).count();
        total += n;
        let room = (keep + 1).saturating_sub(kept.len()).min(n);
        kept.extend_from_slice(&read[..room]);
    }
    if total > MAX_COUNTED_STDIN_BYTES {
        bail!(
            "the text on stdin has more than {} characters; the limit is {}: shorten it",
            MAX_COUNTED_STDIN_BYTES / 4,
            posts::MAX_POST_CHARS
        );
    }
    if total > keep {
        return Err(posts::Invalid::TooLong(chars).into());
    }
    String::from_utf8(kept).context("the text on stdin is not valid UTF-8")
}

fn permalink(conn: &rusqlite::Connection, id: PostId) -> Result<String> {
    let url = Settings::load(conn)?.url();
    Ok(format!("{url}posts/{}", id.0))
}

fn parse_id(raw: &str) -> Result<PostId> {
    posts::parse_id(raw)
        .with_context(|| format!("{raw:?} is not a post number (see the end of its permalink)"))
}

fn post(home: &Path, text: Option<String>, reply_to: Option<String>) -> Result<()> {
    let text = posts::PostText::parse(&text_argument(text)?)?;
    let reply_to = reply_to.as_deref().map(posts::ReplyTo::parse).transpose()?;
    let mut conn = open(home)?;
    let id = posts::create(
        &mut Node::new(home, &mut conn),
        &text,
        reply_to.as_ref(),
        now(),
    )?;
    println!("{}", permalink(&conn, id)?);
    Ok(())
}

fn edit(home: &Path, id: &str, text: Option<String>) -> Result<()> {
    let id = parse_id(id)?;
    let text = posts::PostText::parse(&text_argument(text)?)?;
    let mut conn = open(home)?;
    if !posts::edit(&mut Node::new(home, &mut conn), id, &text, now())? {
        bail!("there is no post {}", id.0);
    }
    println!("{}", permalink(&conn, id)?);
    Ok(())
}

fn delete(home: &Path, id: &str) -> Result<()> {
    let id = parse_id(id)?;
    let mut conn = open(home)?;
    if !posts::delete(&mut Node::new(home, &mut conn), id, now())? {
        bail!("there is no post {}", id.0);
    }
    println!("Deleted post {}", id.0);
    Ok(())
}

fn follow(home: &Path, url: &str, name: Option<&str>) -> Result<()> {
    let mut conn = open(home)?;
    let followed = crate::follows::follow(&mut Node::new(home, &mut conn), url, name, now())?;
    println!(
        "Following {} ({} entries) at {}",
        followed.title.as_deref().unwrap_or("an untitled feed"),
        followed.entries,
        followed.url
    );
    if let Some(note) = &followed.note {
        println!("\tnote: {note}");
    }
    Ok(())
}

fn unfollow(home: &Path, target: &str) -> Result<()> {
    let mut conn = open(home)?;
    let url = crate::follows::unfollow(&mut Node::new(home, &mut conn), target)?;
    println!("No longer following {url}");
    Ok(())
}

fn move_to(home: &Path, target: &str) -> Result<()> {
    let mut conn = open(home)?;
    let sent = crate::activitypub::follow::move_to(&mut Node::new(home, &mut conn), target, now())?;
    println!("Moved to {target}: a Move queued for {sent} followers' servers (sent by cron)");
    Ok(())
}

fn search(home: &Path, text: &str, page: u16) -> Result<()> {
    let conn = open(home)?;
    let query = crate::search::Query::parse(text);
    if !query.ignored.is_empty() {
        eprintln!("Not understood, left out: {}", query.ignored.join(", "));
    }
    if query.is_empty() {
        anyhow::bail!(
            "the query has nothing to look for: give a word, a \"phrase\" or a filter such as is:mine"
        );
    }
    let settings = Settings::load(&conn)?;
    let (found, more) = crate::search::run(
        &conn,
        &query,
        crate::search::Searcher::Owner,
        usize::from(page) - 1,
        now(),
    )?;
    if crate::store::search::catching_up(&conn)? {
        eprintln!("Older posts are still being added to the index by cron: some may be missing.");
    }
    if found.is_empty() {
        println!("Nothing found.");
        return Ok(());
    }
    let clock = crate::render::Clock {
        now: now(),
        zone: settings.time_zone(),
        relative: false,
    };
    for f in &found {
        let link = match (&f.link, f.kind) {
            (Some(path), crate::store::search::Kind::Post) => format!("{}{path}", settings.url()),
            (Some(link), _) => link.clone(),
            (None, _) => String::new(),
        };
        let who = if f.author.is_empty() {
            "you"
        } else {
            f.author.as_str()
        };
        let text: String = f.snippet.iter().map(|(t, _)| t.as_str()).collect();
        println!("{}  {who}  {link}", clock.absolute(f.at));
        if !f.title.is_empty() && f.kind != crate::store::search::Kind::Post {
            println!("  {}", f.title);
        }
        println!("  {}", crate::sanitize::one_line(&text, 240));
    }
    if more {
        println!("More results: --page {}", page + 1);
    }
    Ok(())
}

fn following(home: &Path) -> Result<()> {
    let conn = open(home)?;
    let follows = store::follows::all(&conn)?;
    if follows.is_empty() {
        println!(
            "Not following anyone yet: `{}` starts.",
            crate::hint::command(home, "follow URL")
        );
        return Ok(());
    }
    let now = now();
    for f in follows {
        let checked = f.last_checked.map_or("never polled".to_string(), |t| {
            format!("polled {}", ago(now - t))
        });
        let status = f.last_status.as_deref().unwrap_or("new");
        let next = if f.gone {
            "not polled again".to_string()
        } else if f.next_check <= now {
            "due now".to_string()
        } else {
            format!("next in {}", duration(f.next_check - now))
        };
        println!(
            "{}\t{}\t{checked}, {status}, {next}",
            f.display_name(),
            f.url
        );
        if let Some(error) = &f.last_error {
            let backoff = if f.failures > 1 {
                format!(" ({} failures in a row)", f.failures)
            } else {
                String::new()
            };
            // A feed read in part has notes where a failed one has its error.
            let label = if status == crate::store::follows::PARTLY_READ {
                "note"
            } else {
                "error"
            };
            println!("\t{label}: {error}{backoff}");
        }
    }
    Ok(())
}

fn ago(seconds: i64) -> String {
    format!("{} ago", duration(seconds))
}

/// A rough length of time: "90 s", "12 min", "5 h", "3 days".
pub(crate) fn duration(seconds: i64) -> String {
    match seconds.max(0) {
        s if s < 120 => format!("{s} s"),
        s if s < 7200 => format!("{} min", s / 60),
        s if s < 172_800 => format!("{} h", s / 3600),
        s => format!("{} days", s / 86_400),
    }
}

fn poll(home: &Path, quiet: bool, max_seconds: Option<u64>, force: bool) -> Result<()> {
    let mut conn = open(home)?;
    let show_progress = !quiet && std::io::stderr().is_terminal();
    let options = crate::poll::run::Options {
        force,
        max_seconds,
        progress: show_progress.then_some(progress_line as fn(usize, usize, &str, usize)),
    };
    let summary = crate::poll::run::run(&mut Node::new(home, &mut conn), &options)?;
    if show_progress && summary.polled > 0 {
        eprintln!();
    }
    if quiet {
        return Ok(());
    }
    if summary.skipped {
        println!("Another poll is running; nothing to do.");
        return Ok(());
    }
    println!(
        "Polled {} of {} due feeds: {} new entries, {} updated, {} errors",
        summary.polled,
        summary.due,
        summary.new_entries,
        summary.updated_entries,
        summary.errors.len()
    );
    for (feed, error) in &summary.errors {
        println!("  {feed}: {error}");
    }
    if summary.polled < summary.due {
        println!("Stopped at the time limit; the next run goes on with the rest.");
    }
    Ok(())
}

fn cron(home: &Path, quiet: bool, max_seconds: Option<u64>) -> Result<()> {
    let mut conn = open(home)?;
    let summary = crate::cron::run(&mut Node::new(home, &mut conn), max_seconds)?;
    if quiet {
        return Ok(());
    }
    if summary.skipped {
        println!("Another run is under way; nothing to do.");
        return Ok(());
    }
    let (polled, jobs) = (&summary.polled, &summary.jobs);
    if summary.spooled > 0 {
        println!("Received {} messages (webmentions)", summary.spooled);
    }
    println!(
        "Polled {} of {} due feeds: {} new entries, {} updated, {} errors",
        polled.polled,
        polled.due,
        polled.new_entries,
        polled.updated_entries,
        polled.errors.len()
    );
    for (feed, error) in &polled.errors {
        println!("  {feed}: {error}");
    }
    println!(
        "Jobs: {} done, {} to retry later, {} given up",
        jobs.done,
        jobs.retried,
        jobs.given_up.len()
    );
    for (kind, key, why) in &jobs.given_up {
        println!("  {kind} {key}: {why}");
    }
    if summary.forgotten > 0 {
        println!(
            "Forgot {} received entries older than retention_days",
            summary.forgotten
        );
    }
    if jobs.capped > 0 {
        println!(
            "{} jobs wait for the next run: at most so many go to one host in a run",
            jobs.capped
        );
    }
    if polled.polled < polled.due || jobs.left > 0 {
        println!("Stopped at the time limit; the next run goes on with the rest.");
    }
    Ok(())
}

/// One line, rewritten in place: feeds done of total, the host in hand, errors so far.
fn progress_line(done: usize, total: usize, host: &str, errors: usize) {
    let errors = if errors > 0 {
        format!(", {errors} errors")
    } else {
        String::new()
    };
    eprint!("\r\x1b[2K{done}/{total} feeds{errors} · {host}");
    std::io::stderr().flush().ok();
}

fn import_opml(home: &Path, file: &Path) -> Result<()> {
    let bytes = std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
    let outlines = crate::opml::parse(&bytes).with_context(|| format!("{}", file.display()))?;
    let mut conn = open(home)?;
    let show_progress = std::io::stderr().is_terminal();
    let (mut added, mut already, mut failed) = (0, 0, Vec::new());
    for (i, outline) in outlines.iter().enumerate() {
        if show_progress {
            progress_line(
                i,
                outlines.len(),
                crate::poll::run::host_of(&outline.xml_url),
                failed.len(),
            );
        }
        if store::follows::find(&conn, &outline.xml_url)?.is_some() {
            already += 1;
            continue;
        }
        match crate::follows::follow(
            &mut Node::new(home, &mut conn),
            &outline.xml_url,
            None,
            now(),
        ) {
            Ok(_) => added += 1,
            Err(error) => failed.push(format!("{}: {error:#}", outline.xml_url)),
        }
    }
    if show_progress {
        eprintln!();
    }
    println!(
        "Imported {added} of {} feeds ({already} already followed, {} failed)",
        outlines.len(),
        failed.len()
    );
    for failure in &failed {
        println!("  {failure}");
    }
    Ok(())
}

fn export_opml(home: &Path) -> Result<()> {
    let conn = open(home)?;
    let owner = Settings::load(&conn)?.name().to_string();
    let follows = store::follows::all(&conn)?;
    print!("{}", crate::opml::write_follows(&owner, &follows, now()));
    Ok(())
}

fn config(home: &Path, key: Option<String>, value: Option<String>) -> Result<()> {
    let mut conn = open(home)?;
    let current = Settings::load(&conn)?;
    match (key, value) {
        (None, _) => {
            for key in settings::public_keys() {
                println!("{key} = {}", current.shown(key));
            }
        }
        (Some(key), None) if key == crate::publish::SETTING => {
            println!("{}", publish_dir_state(&conn)?);
        }
        (Some(key), None) => {
            settings::check_key(&key)?;
            println!("{}", current.shown(&key));
        }
        (Some(key), Some(value)) => {
            let value = settings::validate(&key, &value)?;
            settings::save(
                &mut Node::new(home, &mut conn),
                &current,
                &[(key.as_str(), value.as_str())],
            )?;
            println!("{key} = {value}");
        }
    }
    Ok(())
}

/// `roost config publish_dir`: where the static files go, or why nowhere.
fn publish_dir_state(conn: &rusqlite::Connection) -> Result<String> {
    Ok(match crate::publish::configured_dir(conn)? {
        None => "off (set it to the directory that holds roost.cgi)".into(),
        Some(dir) => match crate::publish::writable(&dir) {
            Ok(()) => dir.display().to_string(),
            Err(error) => format!("off: {error:#}"),
        },
    })
}

fn backup(home: &Path, file: &Path) -> Result<()> {
    if file.exists() {
        bail!("{} already exists; choose a new file name", file.display());
    }
    let conn = open(home)?;
    store::backup(&conn, file)?;
    println!("Backed up to {}", file.display());
    Ok(())
}

/// `roost export [FILE]`: the format is `archive::roost`'s (and the README's).
fn export(home: &Path, file: Option<&Path>) -> Result<()> {
    let conn = open(home)?;
    let bytes = crate::archive::roost::to_bytes(&crate::archive::roost::export(&conn)?)?;
    match file {
        None => std::io::stdout()
            .lock()
            .write_all(&bytes)
            .context("writing the export")?,
        Some(file) => {
            if file.exists() {
                bail!("{} already exists; choose a new file name", file.display());
            }
            crate::atomic_file::replace(file, &bytes, 0o600)
                .with_context(|| format!("writing {}", file.display()))?;
            println!("Exported to {}", file.display());
        }
    }
    Ok(())
}

/// Why nothing was imported from `file`: the reason follows.
fn refused(file: &Path) -> String {
    format!("{} was refused, nothing was imported", file.display())
}

/// `roost import twitter|mastodon|roost FILE`.
fn import(home: &Path, from: ImportFrom) -> Result<()> {
    use crate::archive;
    let started = std::time::Instant::now();
    let mut conn = open(home)?;
    let mut node = Node::new(home, &mut conn);
    let (source, read, max_seconds) = match from {
        ImportFrom::Roost { file } => {
            let bytes =
                std::fs::read(&file).with_context(|| format!("reading {}", file.display()))?;
            let restored = archive::roost::import(&mut node, &bytes)
                .with_context(|| format!("{}", file.display()))?;
            match restored {
                archive::roost::Restored::Posts(n) => println!("Imported {n} posts"),
                archive::roost::Restored::AlreadyThere => {
                    println!("Nothing to do: this node already holds this export")
                }
            }
            return Ok(());
        }
        ImportFrom::Twitter {
            file,
            max_seconds,
            retweets,
        } => (
            "twitter",
            archive::twitter::read(&file, retweets).with_context(|| refused(&file))?,
            max_seconds,
        ),
        ImportFrom::Mastodon { file, max_seconds } => (
            "mastodon",
            archive::mastodon::read(&file).with_context(|| refused(&file))?,
            max_seconds,
        ),
    };
    archive::import(&mut node, source, read, (started, max_seconds))?.print(source);
    Ok(())
}

/// `roost doctor`: every check, one line each; fails when any check did.
fn doctor(home: &Path) -> Result<()> {
    let home = absolute(home)?;
    let failed = crate::doctor::run(&home, &mut std::io::stdout().lock())?;
    if failed > 0 {
        bail!(
            "{failed} check{} failed; the lines above say what to do",
            if failed == 1 { "" } else { "s" }
        );
    }
    Ok(())
}

/// `roost serve`: on a data directory without a database, sets one up for
/// the address being served, so trying roost out is one command. A `url`
/// still on a local address follows `--listen`; any other is kept, and said.
/// Without a password, prints a one-time link to choose one.
fn serve(home: &Path, listen: &str, port: Option<&str>) -> Result<()> {
    if let Some(port) = port {
        bail!("serve has no --port: use --listen 127.0.0.1:{port} (an address and port)");
    }
    let listener = gateway::bind_http(listen)?;
    let served = listener
        .local_addr()
        .map_or_else(|| format!("http://{listen}/"), served_url);
    if !store::db_path(home).exists() {
        create_home(home, &served, "roost", None)?;
        eprintln!(
            "roost: created a new node in {} for {served}",
            home.display()
        );
    }
    let mut conn = store::open(home)?;
    let url = Settings::load(&conn)?.raw("url").to_string();
    if url != served {
        if is_local_default(&url) {
            Node::new(home, &mut conn).write(|tx| store::settings::set(tx, "url", &served))?;
            eprintln!(
                "roost: the url setting was {url}, a local address; it follows --listen: {served}"
            );
        } else {
            eprintln!(
                "roost: links and redirects go to the url setting, {url}, not to {served} (to change it: `{}`)",
                crate::hint::command(home, &format!("config url {served}"))
            );
        }
    }
    if Settings::load(&conn)?.password_hash().is_none() {
        let link = crate::web::setup::new_link(&mut conn, now())?;
        eprintln!(
            "roost: no password yet; choose one at {link} (the link works once, for 30 minutes)"
        );
    }
    drop(conn);
    let home = absolute(home)?;
    start_background_cron(home.clone());
    gateway::run_http(listener, home)
}

/// `serve` is its own cron: the same work as `roost cron`, every minute,
/// on a thread of its own (its own connection; the lease keeps it apart
/// from a real cron's run). Failures are printed and tried again.
fn start_background_cron(home: PathBuf) {
    let spawned = std::thread::Builder::new()
        .name("cron".into())
        .spawn(move || {
            loop {
                let ran = store::open(&home).and_then(|mut conn| {
                    crate::cron::run(&mut Node::new(&home, &mut conn), Some(CRON_EVERY.as_secs()))
                });
                if let Err(error) = ran {
                    eprintln!("roost: background work: {error:#}");
                }
                std::thread::sleep(CRON_EVERY);
            }
        });
    if let Err(error) = spawned {
        eprintln!("roost: background work could not start ({error}); run `roost cron` from cron");
    }
}

/// How often `serve` runs the background work.
const CRON_EVERY: std::time::Duration = std::time::Duration::from_secs(60);

/// The address `serve` answers at, as a URL: an unspecified listen address
/// (0.0.0.0, ::) is reached on loopback from this machine.
fn served_url(addr: std::net::SocketAddr) -> String {
    let ip = match addr.ip() {
        std::net::IpAddr::V4(ip) if ip.is_unspecified() => std::net::Ipv4Addr::LOCALHOST.into(),
        std::net::IpAddr::V6(ip) if ip.is_unspecified() => std::net::Ipv6Addr::LOCALHOST.into(),
        ip => ip,
    };
    format!("http://{}/", std::net::SocketAddr::new(ip, addr.port()))
}

/// Whether `url` is what `serve` itself set: plain http on a local address,
/// at the root. Only such a setting follows `--listen`.
fn is_local_default(url: &str) -> bool {
    let Ok(parsed) = url::Url::parse(url) else {
        return false;
    };
    let local = match parsed.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback() || ip.is_unspecified(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback() || ip.is_unspecified(),
        Some(url::Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
        None => false,
    };
    parsed.scheme() == "http" && local && parsed.path() == "/"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entry_ids_are_tag_uris_from_host_and_path() {
        let (prefix, feed) = entry_ids("https://Example.org:8443/notes/", 0);
        assert_eq!(feed, "tag:example.org,1970-01-01:/notes/");
        assert_eq!(prefix, "tag:example.org,1970-01-01:/notes/posts/");
    }

    #[test]
    fn only_a_local_root_url_follows_the_listen_address() {
        assert!(is_local_default("http://127.0.0.1:8080/"));
        assert!(is_local_default("http://localhost:9000/"));
        assert!(is_local_default("http://[::1]:8080/"));
        assert!(!is_local_default("https://127.0.0.1:8080/"));
        assert!(!is_local_default("http://127.0.0.1:8080/notes/"));
        assert!(!is_local_default("http://example.org/"));
        let addr: std::net::SocketAddr = "0.0.0.0:9000".parse().unwrap();
        assert_eq!(served_url(addr), "http://127.0.0.1:9000/");
    }
}
