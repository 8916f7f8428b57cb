import type { IncomingMessage, ServerResponse } from 'node:http';
import { LRUCache } from 'lru-cache';
import type { Logger } from 'pino';
import { DELIVERY_PREFIX } from '../api/endpoint.js';
import { ApiError } from '../api/errors.js';
import { readBody } from '../apiserver/body.js';
import type { Metrics } from '../metrics/metrics.js';
import type { DeliveryRecord, Store } from '../store/types.js';
import type { Notes } from './notes.js';
import type { ReceiverCache } from './receivers.js';
import type { StatusMirror } from './status-mirror.js';
import { Rejection, type DeliveryRequest, type Outcome, type Receiver } from './types.js';

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

function send(res: ServerResponse, code: number, body: object, close = false, retryAfter?: number): void {
  const json = JSON.stringify(body);
  const headers = ['Content-Type', 'application/json', 'Content-Length', String(Buffer.byteLength(json))];
  if (close) headers.push('Connection', 'close');
  if (retryAfter) headers.push('Retry-After', String(retryAfter));
  res.writeHead(code, headers);
  res.end(json);
}

const rejectionBody = (r: Rejection) => ({ accepted: false, kind: 'Status', status: 'Failure', code: r.code, reason: r.reason, message: r.message });

/** One delivery on its way through the handler. */
interface Delivery {
  req: IncomingMessage;
  start: number;
  nowMs: number;
  receivedAt: string;
  receiver?: Receiver;
  eventId?: string;
}

/** Replayed events remembered: a replay storm is answered from memory after one commit each. */
const RECENT_REPLAYS = 10_000;

/**
 * POST /v1/webhook-deliveries/{endpoint_id}, for every receiver kind:
 * find receiver → cap body → suspended? → authenticate → event id → dedup → act → commit → answer.
 */
export function deliveryHandler(deps: DeliveryDeps) {
  const recent = new LRUCache<string, { result: string; expiresAt: number }>({ max: RECENT_REPLAYS });
  const bound = new Map<string, ReturnType<Metrics['deliveries']['labels']>>();
  const counted = (kind: string, outcome: string) => {
    const k = `${kind}/${outcome}`;
    let c = bound.get(k);
    if (!c) bound.set(k, (c = deps.metrics.deliveries.labels(kind, outcome)));
    return c;
  };

  async function deliver(d: Delivery, res: ServerResponse): Promise<void> {
    try {
      const o = await accept(d);
      const r = d.receiver!;
      counted(r.object.kind, o.duplicate ? 'duplicate' : 'accepted').inc();
      send(res, 202, r.answer(o), deps.closing());
    } catch (err) {
      const r = err instanceof Rejection ? err : internalError(err);
      if (d.receiver && r.code !== 404) note(d, 'rejected', { ...recordOf(d, r.code), outcome: 'rejected', reason: r.detail });
      counted(d.receiver?.object.kind ?? 'unknown', 'rejected').inc();
      send(res, r.code, rejectionBody(r), r.code === 413 || deps.closing(), r instanceof Busy ? r.retryAfter : undefined);
      if (r.code === 413) lingeringClose(d.req);
    } finally {
      deps.metrics.deliveryDuration.observe((performance.now() - d.start) / 1000);
    }
  }

  async function accept(d: Delivery): Promise<Outcome> {
    const { req } = d;
    if (req.method !== 'POST') throw new Rejection(405, 'MethodNotAllowed', 'deliveries must be POSTed');
    const endpointId = endpointOf(req.url ?? '');
    const r = (d.receiver = deps.receivers.cached(endpointId) ?? (await deps.receivers.lookup(endpointId)));
    if (!r) throw new Rejection(404, 'NotFound', 'webhook endpoint not found');
    const body = await cappedBody(req, r.maxBodyBytes);
    if (r.suspended) throw new Rejection(409, 'Conflict', 'webhook is suspended', 'delivery refused: webhook is suspended');
    const dreq: DeliveryRequest = { headers: req.headers as Record<string, string | undefined>, body };
    const eventId = (d.eventId = verify(r, dreq, d.nowMs));
    const uid = r.object.metadata.uid;
    const seen = recent.get(`${uid}\n${eventId}`);
    if (seen && seen.expiresAt > d.nowMs) return duplicate(d, seen.result);
    let action;
    try {
      action = r.act({ req: dreq, eventId, receivedAt: d.receivedAt, nowMs: d.nowMs });
    } catch (e) {
      // An event accepted before the receiver broke is still a duplicate, not a refusal.
      const held = await deps.store.data.claim(uid, eventId, d.nowMs);
      if (held) return duplicate(d, held.result);
      throw e;
    }
    const res = await deps.store.commit({
      origin: 'delivery',
      ops: [
        { op: 'claim', scope: uid, key: eventId, expiresAt: d.nowMs + r.dedupeWindowMs, nowMs: d.nowMs },
        ...action.ops,
        { op: 'record', record: { ...recordOf(d, 202), outcome: 'accepted' } },
        { op: 'count', scope: uid, deltas: { accepted: 1 } },
      ],
    });
    if (res.held) {
      // Only replayed events: caching every new one would churn the heap at full speed for nothing.
      recent.set(`${uid}\n${eventId}`, { result: res.result, expiresAt: res.expiresAt });
      return duplicate(d, res.result);
    }
    const o = { duplicate: false, eventId, result: res.writes.find((w) => w)?.name ?? '' };
    deps.mirror.saw(uid, r.owner, { ...lastOf(d), ...r.lastDelivery(o) });
    return o;
  }

  function duplicate(d: Delivery, result: string): Outcome {
    note(d, 'duplicate', { ...recordOf(d, 202), outcome: 'duplicate', result });
    return { duplicate: true, eventId: d.eventId!, result };
  }

  function note(d: Delivery, outcome: 'duplicate' | 'rejected', record: DeliveryRecord): void {
    deps.notes.add({ uid: d.receiver!.object.metadata.uid, outcome, record });
  }

  function internalError(err: unknown): Rejection {
    deps.log.error({ err }, 'delivery failed');
    return new Rejection(503, 'ServiceUnavailable', 'delivery could not be stored; retry later', `internal error: ${(err as Error).message}`);
  }

  return {
    prefix: DELIVERY_PREFIX,
    handle(req: IncomingMessage, res: ServerResponse): void {
      const nowMs = deps.now();
      void deliver({ req, start: performance.now(), nowMs, receivedAt: new Date(nowMs).toISOString() }, res);
    },
  };
}

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

function endpointOf(url: string): string {
  const q = url.indexOf('?');
  return url.slice(DELIVERY_PREFIX.length, q < 0 ? undefined : q);
}

/** The server has no room for the body now: the sender retries after `retryAfter` seconds. */
class Busy extends Rejection {
  constructor(readonly retryAfter: number, message: string) {
    super(503, 'ServiceUnavailable', message);
  }
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

/** Every authenticator, then the event id; returns the event id. */
function verify(r: Receiver, req: DeliveryRequest, nowMs: number): string {
  if (r.authProblem) throw new Rejection(401, 'Unauthorized', 'signature verification failed', `signature verification failed: ${r.authProblem}`);
  for (const a of r.authenticators) {
    const v = a.verify(req, nowMs);
    if (!v.ok) throw new Rejection(401, 'Unauthorized', 'signature verification failed', `signature verification failed: ${v.reason}`);
  }
  const eventId = r.eventId(req);
  if (!eventId) throw new Rejection(400, 'BadRequest', 'missing event id', `missing event id (expected in ${r.eventIdSource})`);
  return eventId;
}

function recordOf(d: Delivery, httpStatus: number) {
  return { ts: d.receivedAt, owner: d.receiver!.owner, eventId: d.eventId, httpStatus, durationMs: +(performance.now() - d.start).toFixed(3) };
}

function lastOf(d: Delivery) {
  return { lastDeliveryTime: d.receivedAt, lastEventID: d.eventId };
}
