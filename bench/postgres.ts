// The PostgreSQL store under the ingest load of (a) and (e): one replica, then two behind a
// round-robin (two generators, half the connections each, as a TCP balancer would spread them),
// on a cluster with durable settings. Server CPU is orlojd's and PostgreSQL's together. Then the
// replicas' timings: apply → delivery accepted elsewhere, watch, rotation, leader failover.
import postgres from 'postgres';
import { startPostgres, type PgServer } from '../test/helpers/postgres-server.js';
import { OTHER_LOAD_LIMIT } from './config.js';
import { createInboundWebhook, createWebhooks } from './fixtures.js';
import type { LoadResult } from './load.js';
import { cpuSeconds, machineBusySeconds, peakRssMb, treeCpuSeconds } from './proc.js';
import { replicaTimings } from './replica-timings.js';
import { checkUnique, spec, type Ctx, type Row } from './scenarios.js';
import { startOrlojd, type OrlojdTarget } from './targets.js';

const KEY = `bench:${Buffer.alloc(32, 9).toString('base64')}`;
/** As durable as the embedded store's WAL + synchronous=NORMAL: a killed process loses nothing acknowledged. */
const DURABLE = { fsync: 'on', full_page_writes: 'on', synchronous_commit: 'off' };

function merge(results: LoadResult[]): LoadResult {
  const sum = (k: 'requests' | 'rps' | 'non2xx' | 'errors' | 'created' | 'duplicates' | 'generatorCores') => results.reduce((a, r) => a + r[k], 0);
  const byStatus: Record<string, number> = {};
  for (const r of results) for (const [k, v] of Object.entries(r.byStatus)) byStatus[k] = (byStatus[k] ?? 0) + v;
  return {
    generator: results[0]!.generator,
    requests: sum('requests'),
    rps: sum('rps'),
    // Per generator only: the slower one's, so neither hides behind the other.
    p50Ms: Math.max(...results.map((r) => r.p50Ms)),
    p99Ms: Math.max(...results.map((r) => r.p99Ms)),
    non2xx: sum('non2xx'),
    errors: sum('errors'),
    byStatus,
    created: sum('created'),
    duplicates: sum('duplicates'),
    unanswered: results.flatMap((r) => r.unanswered),
    generatorCores: sum('generatorCores'),
  };
}

/** Each replica gets its share of the connections and event ids of its own. */
function loadAll(ctx: Ctx, replicas: OrlojdTarget[], paths: string[], prefix: string, duration: number, started?: () => void): Promise<LoadResult[]> {
  const cfg = { ...ctx.cfg, connections: Math.ceil(ctx.cfg.connections / replicas.length), threads: Math.max(1, Math.floor(ctx.cfg.threads / replicas.length)) };
  let ready = 0;
  const one = (): void => void (++ready === replicas.length && started?.());
  return Promise.all(replicas.map((o, i) => ctx.gen(spec({ ...ctx, cfg }, o, paths, `${prefix}${i}.`, duration), one)));
}

async function measured(ctx: Ctx, pg: PgServer, replicas: OrlojdTarget[], paths: string[], prefix: string) {
  const cpu = () => replicas.reduce((a, o) => a + (cpuSeconds(o.pid) ?? 0), 0);
  let [o0, p0, busy0, t0] = [0, 0, 0, 0];
  // From when every generator has its requests signed: signing is neither server time nor other load.
  const started = (): void => void ([o0, p0, busy0, t0] = [cpu(), treeCpuSeconds(pg.pid), machineBusySeconds(), performance.now()]);
  started();
  const load = merge(await loadAll(ctx, replicas, paths, prefix, ctx.cfg.duration, started));
  const secs = (performance.now() - t0) / 1000;
  const [orlojd, db] = [cpu() - o0, treeCpuSeconds(pg.pid) - p0];
  const server = orlojd + db;
  return {
    load,
    serverCores: server / secs,
    otherCores: Math.max(0, (machineBusySeconds() - busy0) / secs - server / secs - load.generatorCores),
    serverCpuUsPerRequest: (server * 1e6) / load.requests,
    extra: { orlojdCpuUsPerRequest: Math.round((orlojd * 1e6) / load.requests), postgresCpuUsPerRequest: Math.round((db * 1e6) / load.requests) },
  };
}

/** The endpoint answers a wrong signature 401 (not 404) on every replica: each knows it. */
async function knownEverywhere(replicas: OrlojdTarget[], path: string): Promise<void> {
  for (const o of replicas) {
    for (let i = 0; ; i++) {
      const res = await fetch(o.url + path, { method: 'POST', headers: { 'content-type': 'application/json', 'x-signature': 'sha256=00', 'x-timestamp': '1' }, body: '{}' });
      if (res.status !== 404) break;
      if (i > 200) throw new Error(`${path} unknown to a replica`);
      await new Promise((r) => setTimeout(r, 25));
    }
  }
}

async function countStored(url: string, kind: 'a' | 'e', prefix: string): Promise<{ rows: number; distinctEvents: number }> {
  const sql = postgres(url, { max: 1, onnotice: () => undefined });
  try {
    const rows = kind === 'a'
      // The accepted deliveries' records, as on SQLite: past history_limit the oldest run tasks are deleted.
      ? await sql<Array<{ e: string }>>`SELECT event_id AS e FROM deliveries
          WHERE outcome = 'accepted' AND owner LIKE 'TaskWebhook/%' AND result IS NOT NULL AND event_id LIKE ${`${prefix}%`}`
      : await sql<Array<{ e: string }>>`SELECT r.event_id AS e FROM deliveries r JOIN documents d ON d.id = r.result
          WHERE r.outcome = 'accepted' AND r.owner LIKE 'InboundWebhook/%' AND r.event_id LIKE ${`${prefix}%`}`;
    return { rows: rows.length, distinctEvents: new Set(rows.map((r) => r.e)).size };
  } finally {
    await sql.end();
  }
}

async function withReplicas<T>(pg: PgServer, n: number, fn: (replicas: OrlojdTarget[], url: string) => Promise<T>): Promise<T> {
  const admin = postgres(pg.url(), { max: 1, onnotice: () => undefined });
  const db = `bench_${Date.now()}_${n}`;
  await admin.unsafe(`CREATE DATABASE ${db} TEMPLATE template0`);
  const url = pg.url(db);
  const replicas: OrlojdTarget[] = [];
  try {
    for (let i = 0; i < n; i++) replicas.push(await startOrlojd(['--storage', 'postgres', '--postgres-url', url], { ORLOJ_ENCRYPTION_KEY: KEY }));
    return await fn(replicas, url);
  } finally {
    for (const o of replicas) (await o.stop(), o.remove());
    await admin.unsafe(`DROP DATABASE ${db} WITH (FORCE)`);
    await admin.end();
  }
}

async function ingest(ctx: Ctx, pg: PgServer, kind: 'a' | 'e', n: number): Promise<Row> {
  return withReplicas(pg, n, async (replicas, url) => {
    const paths = kind === 'a' ? await createWebhooks(replicas[0]!, 1, 1, ctx.log) : [await createInboundWebhook(replicas[0]!)];
    await knownEverywhere(replicas, paths[0]!);
    const prefix = `pg${kind}${n}-`;
    await loadAll(ctx, replicas, paths, `w${prefix}`, ctx.cfg.warmup);
    const m = await measured(ctx, pg, replicas, paths, prefix);
    if (m.otherCores > OTHER_LOAD_LIMIT) ctx.log(`  other processes used ${m.otherCores.toFixed(2)} cores during the run`);
    const what = kind === 'a' ? '(a) unique events, 1 webhook' : '(e) unique events, 1 InboundWebhook';
    const row: Row = { id: `pg-${kind}${n}`, scenario: `${what}, PostgreSQL, ${n} replica${n > 1 ? 's' : ''}`, ...m, rssMb: Math.max(...replicas.map((o) => peakRssMb(o.pid) ?? 0)) };
    const stored = await countStored(url, kind, prefix);
    // Events in flight at the cut-off may have landed: counted as the embedded scenarios count them.
    row.check = checkUnique(row, { ...stored, probed: Math.max(0, stored.rows - row.load.created) }, kind === 'a' ? 'tasks' : 'documents');
    return row;
  });
}

const summary = (xs: number[]) => ({ p50: Math.round(xs[Math.floor(xs.length / 2)]!), max: Math.round(xs[xs.length - 1]!), samples: xs.length });

/** Two replicas, idle but for the probes: see replica-timings.ts. */
function timings(ctx: Ctx, pg: PgServer) {
  ctx.log('▶ replica timings (2 replicas)');
  return withReplicas(pg, 2, async (replicas, url) => {
    await createWebhooks(replicas[0]!, 1, 1, ctx.log);
    const restart = async (i: number) => {
      await replicas[i]!.stop();
      replicas[i]!.remove();
      replicas[i] = await startOrlojd(['--storage', 'postgres', '--postgres-url', url], { ORLOJ_ENCRYPTION_KEY: KEY });
    };
    const t = await replicaTimings(replicas as [OrlojdTarget, OrlojdTarget], restart);
    return Object.fromEntries(Object.entries(t).map(([k, xs]) => [k, summary(xs)]));
  });
}

/** (a) and (e) on 1 and 2 replicas; the replica timings go with the last row. */
export async function postgresScenarios(ctx: Ctx): Promise<Row[]> {
  const pg = await startPostgres({ ownerPid: process.pid, settings: DURABLE });
  try {
    const rows: Row[] = [];
    for (const n of [1, 2]) for (const kind of ['a', 'e'] as const) {
      ctx.log(`▶ (${kind}) on PostgreSQL, ${n} replica(s)`);
      rows.push(await ingest(ctx, pg, kind, n));
    }
    rows[rows.length - 1]!.extra = { ...rows[rows.length - 1]!.extra, replicaTimings: await timings(ctx, pg) };
    return rows;
  } finally {
    await pg.stop();
  }
}
