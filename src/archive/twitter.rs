//! An X/Twitter archive (the `.zip` from Settings → Your account →
//! Download an archive) read into posts: `data/tweets.js`, `tweet.js` or
//! `tweets-part*.js` (each `window.YTD.<name>.partN = [...]`),
//! `note-tweet.js` for tweets longer than 280 characters, `account.js`
//! for the handle. Does not write anything (`archive::import` does).
//!
//! Each tweet keeps its date; its t.co links are expanded from
//! `entities.urls` (and `entities.media`); a reply to one's own tweet is
//! threaded (to its original address when that tweet is not in the
//! archive, deleted), a reply to someone else keeps its address as
//! in-reply-to; retweets are skipped, or kept as links with
//! `--retweets link`; the tweet's address is its `u-syndication`.

use super::{Item, Read, Reply};
use anyhow::{Result, bail};
use serde::Deserialize;
use serde_json::Value;
use std::collections::HashMap;
use std::path::Path;

/// What becomes of retweets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Retweets {
    Skip,
    Link,
}

fn is_tweets_file(name: &str) -> bool {
    let base = name.rsplit('/').next().unwrap_or(name);
    base == "tweets.js"
        || base == "tweet.js"
        || (base.starts_with("tweets-part") && base.ends_with(".js"))
}

pub fn read(path: &Path, retweets: Retweets) -> Result<Read> {
    let files = super::container::read_files(path, |name| {
        let base = name.rsplit('/').next().unwrap_or(name);
        is_tweets_file(name) || base == "note-tweet.js" || base == "account.js"
    })?;
    let mut account = Account::default();
    let mut notes = Vec::new();
    let mut tweets = Vec::new();
    for (name, bytes) in &files {
        if name.ends_with("account.js") {
            let list: Vec<Value> = super::json_of(name, bytes)?;
            let a = &list.first().unwrap_or(&Value::Null)["account"];
            account.handle = a["username"].as_str().unwrap_or("").to_string();
            account.id = a["accountId"].as_str().unwrap_or("").to_string();
        } else if name.ends_with("note-tweet.js") {
            let list: Vec<Value> = super::json_of(name, bytes)?;
            notes.extend(list.into_iter().map(|mut n| n["noteTweet"].take()));
        } else {
            // Typed, so only the fields used are kept: a tweet's JSON is
            // mostly counts and ids, and 100,000 of them as `Value`s would
            // take gigabytes.
            let list: Vec<Listed> = super::json_of(name, bytes)?;
            tweets.extend(list.into_iter().map(|l| match l {
                Listed::Wrapped { tweet } | Listed::Flat(tweet) => tweet,
            }));
        }
    }
    if tweets.is_empty() && !files.iter().any(|(name, _)| is_tweets_file(name)) {
        bail!(
            "{} has no data/tweets.js: is it a Twitter archive?",
            path.display()
        );
    }
    if account.handle.is_empty() {
        account.handle = "i".into();
    }
    let notes = long_texts(&notes);
    let mut read = Read::default();
    for tweet in &tweets {
        tweet_item(tweet, &account, &notes, retweets, &mut read)?;
    }
    Ok(read)
}

/// A tweets file's element: `{"tweet": {...}}`, or the tweet itself in
/// older archives.
#[derive(Deserialize)]
#[serde(untagged)]
enum Listed {
    Wrapped { tweet: Tweet },
    Flat(Tweet),
}

/// The fields of a tweet an import reads.
#[derive(Deserialize, Default)]
#[serde(default)]
struct Tweet {
    id_str: Option<String>,
    id: Option<Value>,
    created_at: String,
    full_text: Option<String>,
    text: Option<String>,
    entities: Entities,
    in_reply_to_status_id_str: Option<String>,
    in_reply_to_user_id_str: Option<String>,
    in_reply_to_screen_name: Option<String>,
    retweeted: Option<Value>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Entities {
    urls: Vec<Link>,
    media: Vec<Link>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Link {
    url: Option<String>,
    expanded_url: Option<String>,
}

#[derive(Default)]
struct Account {
    handle: String,
    id: String,
}

fn status_url(handle: &str, id: &str) -> String {
    format!("https://twitter.com/{handle}/status/{id}")
}

/// A long tweet's whole text, found by its creation time (the tweet
/// itself holds only its first 280 characters).
fn long_texts(notes: &[Value]) -> HashMap<i64, Vec<String>> {
    let mut by_time: HashMap<i64, Vec<String>> = HashMap::new();
    for note in notes {
        let core = &note["core"];
        let Some(mut text) = core["text"].as_str().map(str::to_string) else {
            continue;
        };
        for url in core["urls"].as_array().map(Vec::as_slice).unwrap_or(&[]) {
            if let (Some(short), Some(long)) =
                (url["shortUrl"].as_str(), url["expandedUrl"].as_str())
            {
                text = text.replace(short, long);
            }
        }
        if let Some(at) = note["createdAt"]
            .as_str()
            .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
        {
            by_time.entry(at.timestamp()).or_default().push(text);
        }
    }
    by_time
}

fn tweet_item(
    tweet: &Tweet,
    account: &Account,
    notes: &HashMap<i64, Vec<String>>,
    retweets: Retweets,
    read: &mut Read,
) -> Result<()> {
    let id = match (&tweet.id_str, &tweet.id) {
        (Some(id), _) => id.clone(),
        (None, Some(Value::String(id))) => id.clone(),
        (None, Some(Value::Number(id))) => id.to_string(),
        _ => bail!("a tweet has no id_str: the archive is damaged"),
    };
    let id = id.as_str();
    let created = tweet.created_at.as_str();
    let Ok(published) = chrono::DateTime::parse_from_str(created, "%a %b %d %H:%M:%S %z %Y") else {
        bail!("tweet {id} has no valid created_at ({created:?}): the archive is damaged");
    };
    let published = published.timestamp();
    let mut text = decode(
        tweet
            .full_text
            .as_deref()
            .or(tweet.text.as_deref())
            .unwrap_or(""),
    );
    // Links and photos alike: each t.co address replaced by the real one.
    for link in tweet.entities.urls.iter().chain(&tweet.entities.media) {
        if let (Some(short), Some(long)) = (&link.url, &link.expanded_url) {
            text = text.replace(short.as_str(), long);
        }
    }
    let own = status_url(&account.handle, id);
    let is_retweet = tweet.retweeted == Some(Value::Bool(true)) || text.starts_with("RT @");
    if is_retweet {
        if retweets == Retweets::Skip {
            read.skip("retweets (keep them as links with --retweets link)");
            return Ok(());
        }
        text = format!("{text}\n\n{own}");
    }
    if let Some(long) = notes.get(&published).and_then(|candidates| {
        let start: String = text.chars().take(40).collect();
        let start = start.trim_end_matches('…').trim();
        candidates.iter().find(|n| n.starts_with(start))
    }) {
        text = long.clone();
    }
    let reply = match tweet.in_reply_to_status_id_str.as_deref() {
        None => Reply::None,
        Some(parent) => {
            let to_user = tweet.in_reply_to_user_id_str.as_deref().unwrap_or("");
            let to_name = tweet.in_reply_to_screen_name.as_deref().unwrap_or("i");
            let mine = (!account.id.is_empty() && to_user == account.id)
                || to_name.eq_ignore_ascii_case(&account.handle);
            if mine {
                Reply::Own {
                    key: parent.to_string(),
                    url: status_url(&account.handle, parent),
                }
            } else {
                Reply::Url(status_url(to_name, parent))
            }
        }
    };
    read.items.push(Item {
        key: id.to_string(),
        published,
        text,
        summary: None,
        reply,
        syndication: Some(own),
    });
    Ok(())
}

/// A tweet's text comes with `&amp;`, `&lt;` and `&gt;` escaped.
fn decode(text: &str) -> String {
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tweets_files_are_found_by_their_names() {
        for name in ["data/tweets.js", "data/tweet.js", "data/tweets-part1.js"] {
            assert!(is_tweets_file(name), "{name}");
        }
        assert!(!is_tweets_file("data/tweetdeck.js"));
        assert!(!is_tweets_file("data/note-tweet.js"));
    }
}
