// Hydrating inbound webhooks: a local upstream API that serves records by id (and can hold
// its answers back, fail, or count concurrent fetches), and the objects every test applies.
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { eventually, Orlojd } from '../helpers/orlojd.js';
import { put, readyOf, resource, secret } from '../helpers/fixtures.js';
import { post } from '../helpers/deliveries.js';
import type { InboundStatus } from '../receiver/inbound/helpers.js';
import type { DeliveryRecord as StoredRecord } from '../../pkg/store/types.js';

/** orlojd must be allowed to reach the loopback upstream. */
export const ALLOW_LOOPBACK = ['--allow-destinations', '127.0.0.0/8'];

export interface Fetch {
  method: string;
  /** The request target exactly as it arrived (not decoded, not normalised). */
  url: string;
  /** The record id: the path segment after the prefix, decoded; undefined for any other path. */
  id?: string;
  headers: IncomingHttpHeaders;
  /** performance.now() in this process when the request arrived. */
  at: number;
}

/** An answer: a status with an optional JSON body and headers, or 'hang' (never answered). */
export type Reply = 'hang' | { status: number; body?: unknown; headers?: Record<string, string> };

/** How the upstream answers a fetch: `n` counts the fetches of this id so far (0-based). */
export type Answerer = (f: Fetch, n: number, upstream: Upstream) => Reply | Promise<Reply>;

/**
 * A real HTTP API on a random loopback port serving `GET <prefix><id>` from `records`
 * (404 for an id it does not hold), in its own external shape. It keeps every request, how
 * many fetches of each id are in flight (and the most there ever were), and what it served.
 * While held, requests wait and are answered when released, from the state at that time.
 */
export class Upstream {
  readonly records = new Map<string, Record<string, unknown>>();
  readonly fetches: Fetch[] = [];
  /** Each answer written, in order: the id and the body sent. */
  readonly served: Array<{ id?: string; status: number; body: unknown }> = [];
  readonly inFlight = new Map<string, number>();
  readonly maxInFlight = new Map<string, number>();
  url = '';
  private server!: Server;
  private held = false;
  private waiting: Array<() => void> = [];
  private answerer: Answerer = (f) => {
    const rec = f.id === undefined ? undefined : this.records.get(f.id);
    return rec ? { status: 200, body: rec } : { status: 404, body: { error: 'not found' } };
  };

  private constructor(readonly prefix: string) {}

  static async start(prefix = '/orders/'): Promise<Upstream> {
    const u = new Upstream(prefix);
    u.server = createServer((req, res) => {
      const raw = req.url ?? '';
      const path = raw.split('?')[0]!;
      let id: string | undefined;
      if (path.startsWith(u.prefix) && !path.slice(u.prefix.length).includes('/')) {
        try {
          id = decodeURIComponent(path.slice(u.prefix.length));
        } catch {
          id = undefined;
        }
      }
      const f: Fetch = { method: req.method ?? '', url: raw, id, headers: req.headers, at: performance.now() };
      const key = id ?? raw;
      const n = u.fetches.filter((x) => (x.id ?? x.url) === key).length;
      u.fetches.push(f);
      const now = (u.inFlight.get(key) ?? 0) + 1;
      u.inFlight.set(key, now);
      u.maxInFlight.set(key, Math.max(now, u.maxInFlight.get(key) ?? 0));
      let open = true;
      const done = () => {
        if (!open) return;
        open = false;
        u.inFlight.set(key, (u.inFlight.get(key) ?? 1) - 1);
      };
      res.on('close', done);
      req.resume();
      void (async () => {
        while (u.held) await new Promise<void>((r) => u.waiting.push(r));
        if (res.destroyed) return done();
        const reply = await u.answerer(f, n, u);
        if (reply === 'hang' || res.destroyed) return;
        const body = reply.body === undefined ? '' : typeof reply.body === 'string' ? reply.body : JSON.stringify(reply.body);
        u.served.push({ id, status: reply.status, body: reply.body });
        res.writeHead(reply.status, { 'content-type': 'application/json', ...reply.headers });
        res.end(body);
        done();
      })();
    });
    await new Promise<void>((r) => u.server.listen(0, '127.0.0.1', () => r()));
    u.url = `http://127.0.0.1:${(u.server.address() as AddressInfo).port}`;
    return u;
  }

  /** The read URL a Source points at. */
  get readUrl(): string {
    return `${this.url}${this.prefix}{id}`;
  }

  answerWith(a: Answerer): void {
    this.answerer = a;
  }

  /** From now on requests wait (counted in `pending`) until `release`. */
  hold(): void {
    this.held = true;
  }

  release(): void {
    this.held = false;
    for (const w of this.waiting.splice(0)) w();
  }

  /** Requests in flight (waiting while held, or not yet answered). */
  get pending(): number {
    let n = 0;
    for (const v of this.inFlight.values()) n += v;
    return n;
  }

  /** The fetches of one record id. */
  fetchesOf(id: string): Fetch[] {
    return this.fetches.filter((f) => f.id === id);
  }

  async close(): Promise<void> {
    this.release();
    this.server.closeAllConnections();
    await new Promise((r) => this.server.close(r));
  }
}

/** A listener that must receive nothing: it keeps whatever reaches it. */
export class Listener {
  readonly received: Array<{ method: string; url: string }> = [];
  url = '';
  private server!: Server;

  static async start(): Promise<Listener> {
    const l = new Listener();
    l.server = createServer((req, res) => {
      l.received.push({ method: req.method ?? '', url: req.url ?? '' });
      req.resume();
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"id":"from-the-listener","state":"paid","total":1}');
    });
    await new Promise<void>((r) => l.server.listen(0, '127.0.0.1', () => r()));
    l.url = `http://127.0.0.1:${(l.server.address() as AddressInfo).port}`;
    return l;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((r) => this.server.close(r));
  }
}

export const ACCOUNT_HEADER = 'X-Account-Key';
export const ACCOUNT_KEY = 'acct-key-7f3a';
export const SHOP_TOKEN = 'shop-read-token-19';

/** The orders collection: the native shape of the shop's records. */
export const ORDERS_SCHEMA = {
  type: 'object',
  required: ['id', 'total'],
  properties: {
    id: { type: 'string' },
    total: { type: 'number' },
    status: { enum: ['pending', 'paid', 'shipped', 'cancelled'] },
    rev: { type: 'integer' },
    customer: { type: 'object' },
    lines: { type: 'array' },
  },
};

/** An order as the shop serves it: `state` is the native `status` (to_external {status: state}). */
export const shopOrder = (id: string, extra: Record<string, unknown> = {}) => ({ id, total: 42.5, state: 'paid', customer: { email: `${id}@example.com` }, ...extra });

/** The same order in canonical (native) form, as the document must hold it. */
export function nativeOrder(external: Record<string, unknown>): Record<string, unknown> {
  const { state, ...rest } = external;
  return state === undefined ? rest : { ...rest, status: state };
}

export interface StackOptions {
  collection?: string;
  source?: string;
  webhook?: string;
  /** The reference the binding uses (default: the source name written with an underscore). */
  sourceRef?: string;
  hydration?: Record<string, unknown>;
  read?: Record<string, unknown>;
  schema?: Record<string, unknown>;
  fieldMapping?: Record<string, unknown>;
  /** Skip applying the collection and secrets (a second webhook on the same ones). */
  reuse?: boolean;
}

export const DEFAULT_HYDRATION = { id_path: 'record_id', event_path: 'event', event_map: { ResourceDeleted: 'delete' } };

/** Applies a Collection, the shop's Secrets, a Source reading from `up` and a hydrating InboundWebhook; returns its status once Ready. */
export async function hydrationStack(d: Orlojd, up: Upstream, o: StackOptions = {}): Promise<InboundStatus> {
  const collection = o.collection ?? 'orders';
  const source = o.source ?? 'shop-api';
  const webhook = o.webhook ?? 'orders-reference';
  if (!o.reuse) {
    await put(d, resource('Collection', collection, { schema: o.schema ?? ORDERS_SCHEMA }));
    await put(d, secret('shop-token', { token: SHOP_TOKEN }));
    await put(d, secret('account', { key: ACCOUNT_KEY }));
  }
  await put(d, resource('Source', source, {
    collection,
    read: o.read ?? { url: up.readUrl, headers: { Authorization: { secret_ref: 'shop-token', key: 'token', prefix: 'Bearer ' } }, timeout_seconds: 10 },
    field_mapping: o.fieldMapping ?? { to_external: { status: 'state' } },
  }));
  return readyHydrating(d, webhook, {
    collection,
    secret_ref: 'account',
    ingest_auth: { type: 'static_header', header: ACCOUNT_HEADER },
    source_binding: { collection, source: o.sourceRef ?? source.replace(/-/g, '_') },
    hydration: o.hydration ?? DEFAULT_HYDRATION,
  });
}

/** Applies an InboundWebhook and waits until it is Ready at its generation. */
export async function readyHydrating(d: Orlojd, name: string, spec: Record<string, unknown>): Promise<InboundStatus> {
  await put(d, resource('InboundWebhook', name, spec));
  return eventually(async () => {
    const w = (await d.api('GET', `/v1/inbound-webhooks/${name}`)).body;
    return readyOf(w)?.status === 'True' && w.metadata.generation === w.status.observedGeneration ? (w.status as InboundStatus) : undefined;
  }, 10_000);
}

let seq = 0;
/** A fresh event id. */
export const eventId = (prefix = 'evt'): string => `${prefix}-${process.pid}-${++seq}-${Math.random().toString(36).slice(2, 8)}`;

/** Posts a thin notification with the account key; `event` sets X-Event-Id. */
export async function notify(d: Orlojd, path: string, payload: unknown, event = eventId(), key = ACCOUNT_KEY) {
  return post(d, path, { 'content-type': 'application/json', [ACCOUNT_HEADER]: key, 'X-Event-Id': event }, typeof payload === 'string' ? payload : JSON.stringify(payload));
}

/** Posts a notification that must be queued; returns its delivery id. */
export async function queued(d: Orlojd, path: string, payload: unknown, event = eventId()): Promise<string> {
  const res = await notify(d, path, payload, event);
  if (res.status !== 202 || res.body.status !== 'queued' || typeof res.body.delivery !== 'string') {
    throw new Error(`delivery not queued: ${res.status} ${res.text}`);
  }
  return res.body.delivery as string;
}

/** A delivery record as the API lists it: the store's, with its id. */
export type DeliveryRecord = StoredRecord & { id: number };

/** An InboundWebhook's delivery records in the default namespace, newest first. */
export async function records(d: Orlojd, webhook: string, outcome?: string): Promise<DeliveryRecord[]> {
  const q = `namespace=default&owner=InboundWebhook/default/${webhook}&limit=1000${outcome ? `&outcome=${outcome}` : ''}`;
  const res = await d.api('GET', `/v1/deliveries?${q}`);
  if (res.status !== 200) throw new Error(`deliveries: ${res.status} ${res.text}`);
  return res.body.items as DeliveryRecord[];
}

/** The attempt records of one delivery (every record naming it but the queued one), by attempt. */
export async function attemptsOf(d: Orlojd, webhook: string, delivery: string): Promise<DeliveryRecord[]> {
  return (await records(d, webhook))
    .filter((r) => String(r.result) === delivery && r.outcome !== 'queued')
    .sort((a, b) => (a.attempt ?? 0) - (b.attempt ?? 0) || Number(a.id) - Number(b.id));
}

export const FINAL = new Set(['delivered', 'failed', 'dead_letter']);

/** Waits until the delivery's job has ended (delivered, failed or dead_letter); returns that attempt. */
export async function settled(d: Orlojd, webhook: string, delivery: string, ms = 15_000): Promise<DeliveryRecord> {
  return eventually(async () => (await attemptsOf(d, webhook, delivery)).find((r) => FINAL.has(r.outcome)), ms, 50);
}

/** A document of a collection (GET /v1/collections/C/documents/ID). */
export async function doc(d: Orlojd, collection: string, id: string, includeDeleted = false) {
  return d.api('GET', `/v1/collections/${collection}/documents/${encodeURIComponent(id)}${includeDeleted ? '?includeDeleted=true' : ''}`);
}

/** The webhook's status. */
export async function webhookStatus(d: Orlojd, name: string): Promise<InboundStatus & { conditions?: Array<{ type: string; status: string; reason: string; message: string }> }> {
  return (await d.api('GET', `/v1/inbound-webhooks/${name}`)).body.status;
}

/** A fresh shop API on `/orders/` and an orlojd allowed to reach it, for one test. */
export async function startServers(): Promise<{ d: Orlojd; up: Upstream }> {
  const up = await Upstream.start('/orders/');
  return { d: await Orlojd.start({ args: ALLOW_LOOPBACK }), up };
}

export async function stopServers(d: Orlojd, up: Upstream): Promise<void> {
  await d.destroy();
  await up.close();
}
