// Store setup and the correctness check for the scenarios: webhooks, pre-sent events and a
// read-only count of run tasks (orlojd) or stored deliveries (the peer) straight from the SQLite file.
import { join } from 'node:path';
import { getProfile, resolveOptions } from '../pkg/receiver/profiles/index.js';
import { resource, secret, taskWebhook, templateTask } from '../test/helpers/fixtures.js';
import { ID_MARK, TIMESTAMP_HEADER, type LoadSpec } from './load.js';
import type { OrlojdTarget } from './targets.js';

export const SECRET = 'bench-secret';
/** Each delivery's body names its event, as a real sender's does: no two are signed alike. */
export const BODY_TEMPLATE = JSON.stringify({ type: 'bench.event', id: ID_MARK, data: { repo: 'orloj', ref: 'refs/heads/main', n: 42 } });

const generic = getProfile('generic')!;
const opts = resolveOptions(generic, {});

/**
 * What the generators sign each request with. Timestamps start 100 s back and advance one
 * second per 2,500 requests of a thread (about orlojd's rate over two threads), so receivers
 * see them in order as from a live sender; for long runs faster, so that wrk's whole pool of
 * signatures (25,000 a second per thread) spans at most 200 s and every request stays
 * inside the ±300 s skew.
 */
export function signing(duration: number): Pick<LoadSpec, 'bodyTemplate' | 'headers' | 'secret' | 'timestamp' | 'perSecond'> {
  if (opts.timestampHeader !== TIMESTAMP_HEADER) throw new Error(`the generic profile's timestamp header is ${opts.timestampHeader}`);
  const perSecond = Math.max(2_500, Math.ceil((25_000 * duration) / 200));
  return { bodyTemplate: BODY_TEMPLATE, headers: { 'Content-Type': 'application/json' }, secret: SECRET, timestamp: Math.floor(Date.now() / 1000) - 100, perSecond };
}

async function put(o: OrlojdTarget, plural: string, obj: { metadata: { name: string } }): Promise<void> {
  const res = await o.api('PUT', `/v1/${plural}/${obj.metadata.name}?namespace=default`, obj);
  if (res.status !== 200 && res.status !== 201) throw new Error(`PUT ${plural}/${obj.metadata.name}: ${res.status} ${JSON.stringify(res.body)}`);
}

async function pool(n: number, concurrency: number, fn: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(n, concurrency) }, async () => {
    while (next < n) await fn(next++);
  }));
}

interface WebhookList {
  items: Array<{ metadata: { name: string }; status?: { endpointPath?: string } }>;
  metadata: { continue?: string };
}

/** Creates `n` TaskWebhooks on one secret and template; returns their endpoint paths once all have one. */
export async function createWebhooks(o: OrlojdTarget, n: number, concurrency: number, log: (s: string) => void): Promise<string[]> {
  await put(o, 'secrets', secret('s', { value: SECRET }));
  await put(o, 'tasks', templateTask('tpl'));
  const t0 = Date.now();
  let done = 0;
  await pool(n, concurrency, async (i) => {
    await put(o, 'task-webhooks', taskWebhook(`wh-${i + 1}`, { task_ref: 'tpl', auth: { secret_ref: 's' } }));
    if (++done % 1000 === 0) log(`  created ${done}/${n} webhooks (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
  });
  for (let waited = 0; ; waited += 200) {
    const paths: string[] = [];
    let cont: string | undefined;
    do {
      const page = (await o.api<WebhookList>('GET', `/v1/task-webhooks?namespace=default&limit=1000${cont ? `&continue=${encodeURIComponent(cont)}` : ''}`)).body;
      for (const w of page.items) if (w.status?.endpointPath) paths.push(w.status.endpointPath);
      cont = page.metadata.continue;
    } while (cont);
    if (paths.length >= n) return paths;
    if (waited > 120_000) throw new Error(`only ${paths.length}/${n} webhooks got an endpoint`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** One InboundWebhook (generic HMAC, like the TaskWebhooks) on a collection with a small schema; its endpoint path. */
export async function createInboundWebhook(o: OrlojdTarget): Promise<string> {
  await put(o, 'secrets', secret('s', { value: SECRET }));
  await put(o, 'collections', resource('Collection', 'events', { schema: { type: 'object', required: ['type'], properties: { type: { type: 'string' }, data: { type: 'object' } } } }));
  await put(o, 'inbound-webhooks', resource('InboundWebhook', 'events', { collection: 'events', secret_ref: 's' }));
  for (let waited = 0; waited < 30_000; waited += 100) {
    const w = (await o.api<{ status?: { endpointPath?: string; conditions?: Array<{ type: string; status: string }> } }>('GET', '/v1/inbound-webhooks/events')).body;
    if (w.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')) return w.status.endpointPath!;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('the InboundWebhook did not become Ready');
}

/** Delivers `ids` once each (signed per request; this is setup, not measured). */
export async function presend(o: OrlojdTarget, path: string, ids: string[]): Promise<number> {
  let created = 0;
  await pool(ids.length, 16, async (i) => {
    const body = BODY_TEMPLATE.replace(ID_MARK, ids[i]!);
    const res = await fetch(o.url + path, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', ...generic.sign(Buffer.from(body), Buffer.from(SECRET), opts, Date.now(), ids[i]!) },
      body,
    });
    const answer = (await res.json()) as { duplicate?: boolean };
    if (res.status !== 202) throw new Error(`pre-send ${ids[i]}: ${res.status} ${JSON.stringify(answer)}`);
    if (!answer.duplicate) created++;
  });
  return created;
}

export interface EventCount {
  /** Rows whose event id starts with the prefix (for orlojd: run tasks, tombstones included, as they were created). */
  rows: number;
  distinctEvents: number;
  /** How many of `probe` ids have a row. */
  probed: number;
}

/** The better-sqlite3-style API both SQLite drivers orlojd has used share. */
interface SqliteDb {
  pragma(s: string): unknown;
  prepare(sql: string): { all(...args: unknown[]): unknown[] };
  close(): void;
}
type SqliteCtor = new (file: string) => SqliteDb;

let driver: SqliteCtor | undefined;
/** Whichever driver orlojd currently depends on (imported by name, so neither is a compile-time dependency). */
async function sqlite(): Promise<SqliteCtor> {
  for (const name of ['better-sqlite3', 'libsql']) {
    if (driver) break;
    driver = await import(name).then((m: { default: SqliteCtor }) => m.default, () => undefined);
  }
  if (!driver) throw new Error('no SQLite driver (better-sqlite3 or libsql) installed');
  return driver;
}

/** Counts rows per event id; `select` yields the ids as column e, filtered by `e LIKE ? || '%'` (query_only: this never writes). */
async function countEvents(file: string, select: string, prefix: string, probe: string[]): Promise<EventCount> {
  const Database = await sqlite();
  const db = new Database(file);
  try {
    db.pragma('query_only = ON');
    db.pragma('busy_timeout = 5000');
    // One scan, then probe in memory: orlojd's event id (json_extract) is not indexed.
    const rows = db.prepare(select).all(prefix) as Array<{ e: string }>;
    const seen = new Set(rows.map((r) => r.e));
    return { rows: rows.length, distinctEvents: seen.size, probed: probe.filter((id) => seen.has(id)).length };
  } finally {
    db.close();
  }
}

/**
 * Run tasks made, per webhook event id: the accepted deliveries' records, each written in the
 * unit that created its task. The tasks themselves are not counted: past a webhook's
 * history_limit (1000 by default) the oldest are deleted.
 */
export const countTasks = (dataDir: string, prefix: string, probe: string[] = []): Promise<EventCount> =>
  countEvents(
    join(dataDir, 'orloj.db'),
    `SELECT event_id AS e FROM deliveries WHERE outcome = 'accepted' AND owner LIKE 'TaskWebhook/%' AND result IS NOT NULL AND e LIKE ? || '%'`,
    prefix,
    probe,
  );

/** Documents in orlojd's database, per event id of the accepted delivery that wrote each. */
export const countDocuments = (dataDir: string, prefix: string, probe: string[] = []): Promise<EventCount> =>
  countEvents(
    join(dataDir, 'orloj.db'),
    `SELECT r.event_id AS e FROM deliveries r JOIN documents d ON d.id = r.result WHERE r.outcome = 'accepted' AND r.owner LIKE 'InboundWebhook/%' AND e LIKE ? || '%'`,
    prefix,
    probe,
  );

/** Stored deliveries in the peer's database (bench/peer-server.ts). */
export const countDeliveries = (dataDir: string, prefix: string, probe: string[] = []): Promise<EventCount> =>
  countEvents(join(dataDir, 'peer.db'), `SELECT event_id AS e FROM deliveries WHERE e LIKE ? || '%'`, prefix, probe);
