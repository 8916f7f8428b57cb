import type { IncomingMessage, ServerResponse } from 'node:http';
import { LRUCache } from 'lru-cache';
import type { Logger } from 'pino';
import { endpointPath } from '../api/endpoint.js';
import { ApiError } from '../api/errors.js';
import { readBody } from '../apiserver/body.js';
import { OutcomeLog } from '../log/outcomes.js';
import type { Metrics } from '../metrics/metrics.js';
import type { ClaimOp, DeliveryRecord, Op, Store } from '../store/types.js';
import { utf8Header } from './crypto.js';
import { ENTRY_PREFIXES, entryOf, statusBody, type Entry } from './entrypoints.js';
import type { Notes } from './notes.js';
import type { ReceiverCache } from './receivers.js';
import type { StatusMirror } from './status-mirror.js';
import { Rejection, type Action, type DeliveryRequest, type Outcome, type Receiver } from './types.js';

export interface DeliveryDeps {
  receivers: ReceiverCache;
  store: Store;
  notes: Notes;
  mirror: StatusMirror;
  metrics: Metrics;
  log: Logger;
  /** The server clock in ms (injected by tests of time windows). */
  now: () => number;
  /** True once the server shuts down: answers then close their connection. */
  closing: () => boolean;
}

/** Where an answer goes: the sender's HTTP response, or the caller of a local delivery. */
interface Reply {
  writeHead(code: number, headers: string[]): unknown;
  end(json: string): unknown;
}

function send(res: Reply, code: number, body: object, close = false, retryAfter?: number): void {
  const json = JSON.stringify(body);
  const headers = ['Content-Type', 'application/json', 'Content-Length', String(Buffer.byteLength(json))];
  if (close) headers.push('Connection', 'close');
  if (retryAfter) headers.push('Retry-After', String(retryAfter));
  res.writeHead(code, headers);
  res.end(json);
}

/** A delivery made in-process (a test delivery): its headers, lower-cased, and its whole body. */
interface LocalRequest {
  method: 'POST';
  headers: Record<string, string>;
  headersDistinct: Record<string, string[]>;
  complete: true;
  body: Buffer;
}

/** What the sender of a local delivery would have been answered. */
export interface LocalAnswer {
  httpStatus: number;
  body: object;
}

/** In-process deliveries: the same steps as a sender's, answered to the caller (pkg/receiver/test-delivery.ts). */
export interface LocalDeliveries {
  /** The clock deliveries are checked against: a signed time must be near it. */
  now(): number;
  /** Delivers to the receiver of `endpointId`; its records say it was a test. */
  deliver(endpointId: string, headers: Record<string, string>, body: Buffer): Promise<LocalAnswer>;
}

/** One delivery on its way through the handler. */
interface Delivery {
  req: IncomingMessage | LocalRequest;
  /** Which URL it came to: who it addresses and how it is answered. */
  entry?: Entry;
  start: number;
  nowMs: number;
  receivedAt: string;
  receiver?: Receiver;
  eventId?: string;
  /** The signature that verified it (its claim key), for profiles that sign. */
  signature?: string;
  /** Past this (ms) its signed time fails the skew check: a replay of it is refused anyway. */
  replayableUntil?: number;
  /** An event id header sent more than once. */
  twice?: string;
  /** Its body was read to the end: the connection can serve the next request. */
  bodyRead: boolean;
  /** Made in-process as a test (its records say so); false for every sender's delivery. */
  test: boolean;
}

/** Why a delivery with a fresh event id is a duplicate: its signature was accepted before. */
const REPLAY = 'replay: signature already accepted';

/** The claim scope of a receiver's accepted signatures, beside its event ids (scope = uid). */
const sigScope = (uid: string): string => `${uid}/sig`;
/** What the replay memory knows a delivery by: its event id, or its signature. */
const memoryKey = (uid: string, d: Delivery, bySignature: boolean): string => (bySignature ? `${sigScope(uid)}\n${d.signature}` : `${uid}\n${d.eventId}`);

type DeliveryOutcome = 'accepted' | 'duplicate' | 'rejected';
const OUTCOME_LINES: Record<DeliveryOutcome, string> = { accepted: 'delivery accepted', duplicate: 'delivery duplicate', rejected: 'delivery rejected' };
const UNKNOWN_RECEIVER = { kind: 'unknown' };
/** An event id as logged: the sender's text, cut short and without control characters (a terminal shows the log). */
const printable = (id: string): string => id.slice(0, 200).replace(/[\u0000-\u001f\u007f-\u009f]/g, '?');

/** Replayed events remembered: a replay storm is answered from memory after one commit each. */
const RECENT_REPLAYS = 10_000;

/**
 * POST /v1/webhook-deliveries/{endpoint_id} (and the seed-shaped entry points), for every
 * receiver kind: find receiver → cap body → suspended? → authenticate → event id → dedup →
 * act → commit → answer.
 */
export function deliveryHandler(deps: DeliveryDeps) {
  const recent = new LRUCache<string, { result: string; expiresAt: number }>({ max: RECENT_REPLAYS });
  const { receivers, unknownEndpoint } = deps.metrics;
  const outcomes = new OutcomeLog(deps.log, { noun: 'delivery' });

  /** Counts (a Map lookup, then plain numbers) and logs (sampled) the outcome of a delivery. */
  function settled(d: Delivery, outcome: DeliveryOutcome, status: number, reason?: string): void {
    const r = d.receiver;
    const ms = performance.now() - d.start;
    const tally = r ? receivers.of(r.object.metadata.uid, r) : unknownEndpoint;
    tally.count(outcome);
    tally.observe(ms / 1000);
    if (outcomes.enabled) logOutcome(d, outcome, status, reason, ms);
  }

  /** Names the receiver and the event, never a header, the body or a secret. */
  function logOutcome(d: Delivery, outcome: DeliveryOutcome, status: number, reason: string | undefined, ms: number): void {
    const o = d.receiver?.object;
    const who = o ? { kind: o.kind, namespace: o.metadata.namespace, name: o.metadata.name } : UNKNOWN_RECEIVER;
    const details = () => ({ eventId: d.eventId && printable(d.eventId), outcome, reason, status, durationMs: +ms.toFixed(3) });
    outcomes.write(o?.metadata.uid ?? '', who, details, OUTCOME_LINES[outcome]);
  }

  async function deliver(d: Delivery, res: Reply): Promise<void> {
    try {
      const o = await accept(d);
      const r = d.receiver!;
      settled(d, o.duplicate ? 'duplicate' : 'accepted', 202);
      send(res, 202, d.entry!.shape.accepted(r, o), deps.closing());
    } catch (err) {
      const r = err instanceof Rejection ? err : internalError(err);
      if (d.receiver && r.code !== 404) note(d, 'rejected', { ...recordOf(d, r.code), outcome: 'rejected', reason: r.detail });
      settled(d, 'rejected', r.code, r.detail);
      // Answered before its body arrived (404, 405, 413, busy): close rather than drain a body of any size.
      const early = !d.bodyRead && !d.req.complete;
      send(res, r.code, (d.entry?.shape.rejected ?? statusBody)(r), early || deps.closing(), r instanceof Busy ? r.retryAfter : undefined);
      if (early && !('body' in d.req)) lingeringClose(d.req);
    }
  }

  async function accept(d: Delivery): Promise<Outcome> {
    const { req } = d;
    if (req.method !== 'POST') throw new Rejection(405, 'MethodNotAllowed', 'deliveries must be POSTed');
    const entry = d.entry;
    const r = (d.receiver = entry && (cachedReceiver(entry) ?? (await receiverOf(entry))));
    if (!r) throw NOT_FOUND;
    if (!entry.idInPath && r.credentialInPath) throw new Rejection(401, 'Unauthorized', 'missing or invalid credential', 'delivery refused: a path-token receiver authenticates only on a URL that carries its token');
    readIdHeaders(r, d);
    const body = 'body' in req ? localBody(req.body, r.maxBodyBytes) : await cappedBody(req, r.maxBodyBytes);
    d.bodyRead = true;
    if (r.suspended) {
      if (entry.suspendedIsUnknown) throw NOT_FOUND;
      throw new Rejection(409, 'Conflict', 'webhook is suspended', 'delivery refused: webhook is suspended');
    }
    const dreq: DeliveryRequest = { headers: req.headers as Record<string, string | undefined>, body, query: entry.query };
    const eventId = verify(r, dreq, d);
    const uid = r.object.metadata.uid;
    const seen = fromMemory(uid, d);
    if (seen) return seen;
    let action;
    try {
      action = r.act({ req: dreq, eventId, receivedAt: d.receivedAt, nowMs: d.nowMs });
    } catch (e) {
      // An event accepted before the receiver broke is still a duplicate, not a refusal.
      const held = await claimed(uid, d);
      if (held) return held;
      throw e;
    }
    const res = await deps.store.commit({ origin: 'delivery', ops: opsOf(r, d, uid, action) });
    if (res.held) return heldBy(uid, d, res);
    action.committed?.();
    const result = res.writes.find((w) => w)?.name ?? (res.jobs ? String(res.jobs[0]) : '');
    const o = { duplicate: false, eventId, result, detail: action.detail };
    deps.mirror.saw(uid, r.owner, { ...lastOf(d), ...r.lastDelivery(o) });
    return o;
  }

  /** The receiver an entry point addresses, when it serves that receiver's kind (and namespace). */
  const serves = (entry: Entry, r: Receiver | undefined): Receiver | undefined =>
    r && (!entry.kinds || entry.kinds.includes(r.object.kind)) && (entry.namespace === undefined || entry.namespace === r.object.metadata.namespace) ? r : undefined;

  /** A cache hit by endpoint ID, without a promise: the common case on the hot path. */
  const cachedReceiver = (entry: Entry): Receiver | undefined =>
    'endpointId' in entry.target ? serves(entry, deps.receivers.cached(entry.target.endpointId)) : undefined;

  async function receiverOf(entry: Entry): Promise<Receiver | undefined> {
    const t = entry.target;
    const endpointId = 'endpointId' in t ? t.endpointId : await deps.receivers.endpointOfName(t.kind, t.namespace, t.name);
    return endpointId ? serves(entry, deps.receivers.cached(endpointId) ?? (await deps.receivers.lookup(endpointId))) : undefined;
  }

  /** A duplicate of a delivery answered as one before (by its event id or its signature), from memory. */
  function fromMemory(uid: string, d: Delivery): Outcome | undefined {
    const byId = d.eventId ? remembered(memoryKey(uid, d, false), d.nowMs) : undefined;
    if (byId) return duplicate(d, byId.result, false);
    const bySig = d.signature ? remembered(memoryKey(uid, d, true), d.nowMs) : undefined;
    return bySig ? duplicate(d, bySig.result, true) : undefined;
  }

  function remembered(key: string, nowMs: number) {
    const seen = recent.get(key);
    return seen && seen.expiresAt > nowMs ? seen : undefined;
  }

  /** A unit refused for a claim held by an earlier delivery: its event id's (a duplicate) or its signature's (a replay). */
  function heldBy(uid: string, d: Delivery, held: { result: string; expiresAt: number; op: number }): Outcome {
    const replay = held.op !== 0;
    // Only replayed events: caching every new one would churn the heap at full speed for nothing.
    recent.set(memoryKey(uid, d, replay), { result: held.result, expiresAt: held.expiresAt });
    return duplicate(d, held.result, replay);
  }

  /** A new event's unit: claims on its event id and on its signature (held by a replay under a fresh id), then what the kind commits. */
  function opsOf(r: Receiver, d: Delivery, uid: string, action: Action): Op[] {
    const expiresAt = d.nowMs + r.dedupeWindowMs;
    // Without an event id (a receiver that does not need one) only its signature can repeat.
    const ops: Op[] = d.eventId ? [{ op: 'claim', scope: uid, key: d.eventId, expiresAt, nowMs: d.nowMs }] : [];
    if (d.signature) ops.push(signatureClaim(uid, d.signature, d, expiresAt));
    ops.push(...action.ops, { op: 'record', record: { ...recordOf(d, 202), outcome: action.outcome ?? 'accepted' } }, { op: 'count', scope: uid, deltas: { accepted: 1 } });
    return ops;
  }

  /**
   * The earlier delivery this one repeats, by its event id or its signature, from the store
   * (a timestamped signature's claim is brief: a unit sees it, this read does not).
   */
  async function claimed(uid: string, d: Delivery): Promise<Outcome | undefined> {
    const byId = d.eventId ? await deps.store.data.claim(uid, d.eventId, d.nowMs) : undefined;
    if (byId) return duplicate(d, byId.result, false);
    const bySig = d.signature && d.replayableUntil === undefined ? await deps.store.data.claim(sigScope(uid), d.signature, d.nowMs) : undefined;
    return bySig ? duplicate(d, bySig.result, true) : undefined;
  }

  function duplicate(d: Delivery, result: string, replay: boolean): Outcome {
    const record: DeliveryRecord = { ...recordOf(d, 202), outcome: 'duplicate', result };
    if (replay) record.reason = REPLAY;
    note(d, 'duplicate', record);
    return { duplicate: true, eventId: d.eventId ?? '', result };
  }

  function note(d: Delivery, outcome: 'duplicate' | 'rejected', record: DeliveryRecord): void {
    deps.notes.add({ uid: d.receiver!.object.metadata.uid, outcome, record });
  }

  function internalError(err: unknown): Rejection {
    deps.log.error({ err }, 'delivery failed');
    return new Rejection(503, 'ServiceUnavailable', 'delivery could not be stored; retry later', `internal error: ${(err as Error).message}`);
  }

  /** A delivery the server makes itself, to the native endpoint: answered to the caller, not to a socket. */
  async function deliverLocal(endpointId: string, headers: Record<string, string>, body: Buffer): Promise<LocalAnswer> {
    const nowMs = deps.now();
    const req: LocalRequest = { method: 'POST', headers, headersDistinct: Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, [v]])), complete: true, body };
    const d: Delivery = { req, entry: entryOf(endpointPath(endpointId)), start: performance.now(), nowMs, receivedAt: new Date(nowMs).toISOString(), receiver: undefined, eventId: undefined, signature: undefined, twice: undefined, bodyRead: false, test: true };
    const answer = { httpStatus: 0, json: '' };
    await deliver(d, { writeHead: (code) => (answer.httpStatus = code), end: (json) => (answer.json = json) });
    return { httpStatus: answer.httpStatus, body: JSON.parse(answer.json) as object };
  }

  return {
    prefixes: ENTRY_PREFIXES,
    /** Says how many outcome lines were held back (at shutdown). */
    flushLogs: () => outcomes.flush(),
    handle(req: IncomingMessage, res: ServerResponse): void {
      const nowMs = deps.now();
      const d: Delivery = { req, entry: entryOf(req.url ?? '/'), start: performance.now(), nowMs, receivedAt: new Date(nowMs).toISOString(), receiver: undefined, eventId: undefined, signature: undefined, twice: undefined, bodyRead: false, test: false };
      void deliver(d, res);
    },
    local: { now: deps.now, deliver: deliverLocal } satisfies LocalDeliveries,
  };
}

const NOT_FOUND = new Rejection(404, 'NotFound', 'webhook endpoint not found');

/** How long the rest of a refused upload is read and dropped after its 413. */
const LINGER_MS = 1500;

/**
 * After a 413 with `Connection: close`, Node would end and destroy the socket at once; the
 * kernel then resets a connection with unread upload bytes, which can discard the answer
 * before the sender reads it. Instead: half-close, drop what still comes for a moment (no
 * buffering: it costs a read), then destroy.
 */
function lingeringClose(req: IncomingMessage): void {
  const sock = req.socket;
  sock.destroySoon = () => void sock.end();
  const timer = setTimeout(() => sock.destroy(), LINGER_MS);
  sock.once('close', () => clearTimeout(timer));
  req.resume();
}

/** The server has no room for the body now: the sender retries after `retryAfter` seconds. */
class Busy extends Rejection {
  constructor(readonly retryAfter: number, message: string) {
    super(503, 'ServiceUnavailable', message);
  }
}

/** A local delivery's body, capped as a sender's is. */
function localBody(body: Buffer, limit: number): Buffer {
  if (body.length > limit) throw new Rejection(413, 'RequestEntityTooLarge', 'payload too large', `body exceeds max_body_bytes (${limit})`);
  return body;
}

async function cappedBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  try {
    return await readBody(req, limit);
  } catch (e) {
    if (!(e instanceof ApiError)) throw e;
    if (e.reason === 'RequestEntityTooLarge') throw new Rejection(413, 'RequestEntityTooLarge', 'payload too large', `body exceeds max_body_bytes (${limit})`);
    if (e.details?.retryAfterSeconds) throw new Busy(e.details.retryAfterSeconds, e.message);
    throw new Rejection(e.code, e.reason, e.message);
  }
}

/**
 * The event id headers, read before the body and the signature: decoded as UTF-8 in place
 * (the profile reads them there too), the first one sent names even a refused delivery in
 * its record, and one sent twice (Node joins repeats with ", ") is refused once authenticated.
 */
function readIdHeaders(r: Receiver, d: Delivery): void {
  const headers = d.req.headers as Record<string, string | undefined>;
  for (const name of r.eventIdHeaders) {
    const value = headers[name];
    if (!value) continue;
    if (value.includes(', ') && d.req.headersDistinct[name]!.length > 1) d.twice ??= name;
    const text = utf8Header(value);
    if (text !== value) headers[name] = text;
    d.eventId ??= text;
  }
}

/**
 * A signature's claim: for the dedup window, or while its signed time passes the skew check
 * when that ends sooner (a brief claim, which the store need not index).
 */
function signatureClaim(uid: string, key: string, d: Delivery, expiresAt: number): ClaimOp {
  const until = d.replayableUntil;
  if (until === undefined) return { op: 'claim', scope: sigScope(uid), key, expiresAt, nowMs: d.nowMs };
  return { op: 'claim', scope: sigScope(uid), key, expiresAt: Math.min(expiresAt, until + 1000), nowMs: d.nowMs, brief: true };
}

/**
 * A signature's claim key: 128 bits of it (as unique as all of it, since only the key holder
 * makes one, in a smaller row), after the time it signs where the scheme signs one: a replay
 * has the same, and new keys then append to the claims index instead of each dirtying a
 * random page of it.
 */
function signatureKey(signature: Buffer, signedAt: number | undefined): string {
  const sig = signature.toString('base64url', 0, 16);
  return signedAt === undefined ? sig : `${Math.floor(signedAt / 1000).toString(36).padStart(7, '0')}.${sig}`;
}

/** Every authenticator, then the event id; returns the event id (and keeps it and the signature in `d`). */
function verify(r: Receiver, req: DeliveryRequest, d: Delivery): string {
  if (r.authProblem) throw new Rejection(401, 'Unauthorized', 'signature verification failed', `signature verification failed: ${r.authProblem}`);
  for (const a of r.authenticators) {
    const v = a.verify(req, d.nowMs);
    if (!v.ok) throw new Rejection(401, 'Unauthorized', 'signature verification failed', `signature verification failed: ${v.reason}`);
    if (v.signature && !d.signature) {
      d.signature = signatureKey(v.signature, v.signedAt);
      d.replayableUntil = v.replayableUntil;
    }
  }
  if (d.twice) throw new Rejection(400, 'BadRequest', 'event id sent more than once', `event id header ${d.twice} sent more than once`);
  const eventId = (d.eventId = r.eventId(req));
  if (!eventId && !r.eventIdOptional) throw new Rejection(400, 'BadRequest', 'missing event id', `missing event id (expected in ${r.eventIdSource})`);
  return eventId ?? '';
}

function recordOf(d: Delivery, httpStatus: number): Omit<DeliveryRecord, 'outcome'> {
  const r: Omit<DeliveryRecord, 'outcome'> = { ts: d.receivedAt, owner: d.receiver!.owner, eventId: d.eventId, httpStatus, durationMs: +(performance.now() - d.start).toFixed(3) };
  if (d.test) r.test = true;
  return r;
}

function lastOf(d: Delivery) {
  return { lastDeliveryTime: d.receivedAt, lastEventID: d.eventId };
}
