// The PostgreSQL store's driver choice, measured: `postgres` (porsager) against `pg` (node-postgres)
// on the writer's group commit (one transaction of B units, each ~5 awaited statements), the same
// with the statements that wait on nothing issued together (pipelined), and on a primary-key read. One connection each, as the single writer has. Progress to stderr; the table to
// stdout and bench/results/pg-driver.json. BENCH_SECONDS and BENCH_ROUNDS set run length and count.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import postgres from 'postgres';
import { startPostgres } from '../test/helpers/postgres-server.js';
import { mean } from './load.js';
import { cpuSeconds, machineBusySeconds } from './proc.js';

// dist/bench/pg-driver.js → <repo>/bench/results, beside the ingest bench's.
const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const RESULTS = join(ROOT, 'bench', 'results');
const version = (pkg: string) => (JSON.parse(readFileSync(join(ROOT, 'node_modules', pkg, 'package.json'), 'utf8')) as { version: string }).version;
const SECONDS = Number(process.env.BENCH_SECONDS ?? 3);
const WARMUP_S = 0.5;
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);
const READ_ROWS = 10_000;
const log = (s: string) => process.stderr.write(`${s}\n`);

const SCHEMA = `
  CREATE TABLE claims (scope text NOT NULL, key text NOT NULL, expires_at bigint NOT NULL, result text NOT NULL, PRIMARY KEY (scope, key));
  CREATE TABLE resources (create_rv bigint PRIMARY KEY, kind text NOT NULL, namespace text NOT NULL, name text NOT NULL,
    uid text NOT NULL, rv bigint NOT NULL, generation int NOT NULL, created text NOT NULL, spec text NOT NULL, status text NOT NULL);
  CREATE UNIQUE INDEX resources_key ON resources (kind, namespace, name);
  CREATE TABLE changes (revision bigint PRIMARY KEY, kind text NOT NULL, namespace text NOT NULL, name text NOT NULL,
    uid text NOT NULL, type text NOT NULL, origin text NOT NULL);
  CREATE TABLE deliveries (id bigint PRIMARY KEY, ts text NOT NULL, owner text NOT NULL, namespace text NOT NULL, event_id text,
    outcome text NOT NULL, http_status int, duration_ms real, result text);
  CREATE INDEX deliveries_owner ON deliveries (owner, id);`;

/** ~300 bytes of JSON, as a small resource's spec. */
const spec = (n: number) =>
  JSON.stringify({ url: `https://hooks.example.com/in/${n}`, secretRef: { name: 'hook-secret', key: 'token' }, retries: 5,
    backoff: { initialMs: 250, maxMs: 30000 }, headers: { 'x-team': 'payments', 'x-env': 'staging' }, labels: { app: 'orloj', tier: 'ingest' },
    template: { kind: 'Task', metadata: { generateName: `run-${n}-` } } });

/** One driver behind the few calls the bench makes, on a single connection. */
interface Driver {
  name: string;
  /** One transaction: units [first, first + b), each five awaited statements. */
  batch(first: number, b: number): Promise<void>;
  /**
   * The same writes with every statement that waits for no other result issued at once: the
   * batch's claims, then everything else. A driver that pipelines sends each group in one flight.
   */
  pipelined(first: number, b: number): Promise<void>;
  read(id: number): Promise<void>;
  backendPid(): Promise<number>;
  end(): Promise<void>;
}

function porsager(url: string): Driver {
  // Tagged templates are prepared (named, once per connection) by default.
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  return {
    name: 'postgres',
    batch: async (first, b) => {
      await sql.begin(async (tx) => {
        for (let n = first; n < first + b; n++) {
          const name = `r-${n}`;
          await tx`INSERT INTO claims (scope, key, expires_at, result) VALUES (${'uid-1/evt'}, ${`evt-${n}`}, ${n + 86_400_000}, ${`task-${n}`}) ON CONFLICT DO NOTHING`;
          await tx`SELECT 1 FROM resources WHERE kind = ${'Task'} AND namespace = ${'default'} AND name = ${name}`;
          await tx`INSERT INTO resources (create_rv, kind, namespace, name, uid, rv, generation, created, spec, status)
            VALUES (${n}, ${'Task'}, ${'default'}, ${name}, ${`uid-${n}`}, ${n}, ${1}, ${'2026-01-01T00:00:00Z'}, ${spec(n)}, ${'{}'})`;
          await tx`INSERT INTO changes (revision, kind, namespace, name, uid, type, origin) VALUES (${n}, ${'Task'}, ${'default'}, ${name}, ${`uid-${n}`}, ${'ADDED'}, ${'receiver'})`;
          await tx`INSERT INTO deliveries (id, ts, owner, namespace, event_id, outcome, http_status, duration_ms, result)
            VALUES (${n}, ${'2026-01-01T00:00:00Z'}, ${'TaskWebhook/default/hook'}, ${'default'}, ${`evt-${n}`}, ${'accepted'}, ${202}, ${0.4}, ${`task-${n}`})`;
        }
      });
    },
    pipelined: async (first, b) => {
      await sql.begin(async (tx) => {
        const units = Array.from({ length: b }, (_, i) => first + i);
        await Promise.all(units.map((n) => tx`INSERT INTO claims (scope, key, expires_at, result) VALUES (${'uid-1/evt'}, ${`evt-${n}`}, ${n + 86_400_000}, ${`task-${n}`}) ON CONFLICT DO NOTHING`));
        await Promise.all(units.flatMap((n) => {
          const name = `r-${n}`;
          return [
            tx`INSERT INTO resources (create_rv, kind, namespace, name, uid, rv, generation, created, spec, status)
              VALUES (${n}, ${'Task'}, ${'default'}, ${name}, ${`uid-${n}`}, ${n}, ${1}, ${'2026-01-01T00:00:00Z'}, ${spec(n)}, ${'{}'}) ON CONFLICT DO NOTHING`,
            tx`INSERT INTO changes (revision, kind, namespace, name, uid, type, origin) VALUES (${n}, ${'Task'}, ${'default'}, ${name}, ${`uid-${n}`}, ${'ADDED'}, ${'receiver'})`,
            tx`INSERT INTO deliveries (id, ts, owner, namespace, event_id, outcome, http_status, duration_ms, result)
              VALUES (${n}, ${'2026-01-01T00:00:00Z'}, ${'TaskWebhook/default/hook'}, ${'default'}, ${`evt-${n}`}, ${'accepted'}, ${202}, ${0.4}, ${`task-${n}`})`,
          ];
        }));
      });
    },
    read: async (id) => void (await sql`SELECT * FROM resources WHERE create_rv = ${id}`),
    backendPid: async () => (await sql`SELECT pg_backend_pid() AS pid`)[0]!.pid as number,
    end: () => sql.end({ timeout: 5 }),
  };
}

function nodePostgres(url: string): Driver {
  // Named queries are parsed once per connection, as porsager's are; idle connections are kept.
  const pool = new pg.Pool({ connectionString: url, max: 1, idleTimeoutMillis: 0 });
  const q = (c: pg.PoolClient, name: string, text: string, values: unknown[]) => c.query({ name, text, values });
  return {
    name: 'pg',
    batch: async (first, b) => {
      const c = await pool.connect();
      try {
        await c.query('BEGIN');
        for (let n = first; n < first + b; n++) {
          const name = `r-${n}`;
          await q(c, 'claim', 'INSERT INTO claims (scope, key, expires_at, result) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING', ['uid-1/evt', `evt-${n}`, n + 86_400_000, `task-${n}`]);
          await q(c, 'exists', 'SELECT 1 FROM resources WHERE kind = $1 AND namespace = $2 AND name = $3', ['Task', 'default', name]);
          await q(c, 'resource', `INSERT INTO resources (create_rv, kind, namespace, name, uid, rv, generation, created, spec, status)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`, [n, 'Task', 'default', name, `uid-${n}`, n, 1, '2026-01-01T00:00:00Z', spec(n), '{}']);
          await q(c, 'change', 'INSERT INTO changes (revision, kind, namespace, name, uid, type, origin) VALUES ($1, $2, $3, $4, $5, $6, $7)', [n, 'Task', 'default', name, `uid-${n}`, 'ADDED', 'receiver']);
          await q(c, 'delivery', `INSERT INTO deliveries (id, ts, owner, namespace, event_id, outcome, http_status, duration_ms, result)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`, [n, '2026-01-01T00:00:00Z', 'TaskWebhook/default/hook', 'default', `evt-${n}`, 'accepted', 202, 0.4, `task-${n}`]);
        }
        await c.query('COMMIT');
      } catch (err) {
        await c.query('ROLLBACK').catch(() => {});
        throw err;
      } finally {
        c.release();
      }
    },
    // node-postgres sends one query at a time (queuing several on a client is deprecated): the same statements, in turn.
    pipelined: async (first, b) => {
      const c = await pool.connect();
      try {
        await c.query('BEGIN');
        const units = Array.from({ length: b }, (_, i) => first + i);
        for (const n of units) await q(c, 'claim', 'INSERT INTO claims (scope, key, expires_at, result) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING', ['uid-1/evt', `evt-${n}`, n + 86_400_000, `task-${n}`]);
        for (const n of units) {
          const name = `r-${n}`;
          await q(c, 'resource-p', `INSERT INTO resources (create_rv, kind, namespace, name, uid, rv, generation, created, spec, status)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT DO NOTHING`, [n, 'Task', 'default', name, `uid-${n}`, n, 1, '2026-01-01T00:00:00Z', spec(n), '{}']);
          await q(c, 'change', 'INSERT INTO changes (revision, kind, namespace, name, uid, type, origin) VALUES ($1, $2, $3, $4, $5, $6, $7)', [n, 'Task', 'default', name, `uid-${n}`, 'ADDED', 'receiver']);
          await q(c, 'delivery', `INSERT INTO deliveries (id, ts, owner, namespace, event_id, outcome, http_status, duration_ms, result)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`, [n, '2026-01-01T00:00:00Z', 'TaskWebhook/default/hook', 'default', `evt-${n}`, 'accepted', 202, 0.4, `task-${n}`]);
        }
        await c.query('COMMIT');
      } catch (err) {
        await c.query('ROLLBACK').catch(() => {});
        throw err;
      } finally {
        c.release();
      }
    },
    read: async (id) => void (await pool.query({ name: 'read', text: 'SELECT * FROM resources WHERE create_rv = $1', values: [id] })),
    backendPid: async () => (await pool.query('SELECT pg_backend_pid() AS pid')).rows[0].pid as number,
    end: () => pool.end(),
  };
}

interface Workload {
  id: string;
  writes: boolean;
  /** Units per call: the batch size, or 1 read. */
  per: number;
  step: (d: Driver, n: number) => Promise<void>;
}
const WORKLOADS: Workload[] = [
  { id: 'group commit B=1', writes: true, per: 1, step: (d, n) => d.batch(n, 1) },
  { id: 'group commit B=32', writes: true, per: 32, step: (d, n) => d.batch(n, 32) },
  { id: 'pipelined B=32', writes: true, per: 32, step: (d, n) => d.pipelined(n, 32) },
  { id: 'read by primary key', writes: false, per: 1, step: (d, n) => d.read(1 + (n % READ_ROWS)) },
];

interface Run {
  workload: string;
  driver: string;
  round: number;
  units: number;
  unitsPerSecond: number;
  clientCpuUsPerUnit: number;
  serverCpuUsPerUnit: number | null;
  /** Cores busy with anything but this process and its backend: other load on the machine. */
  otherCores: number;
}

/** Calls `w.step` back to back for `seconds`; units counted from `start`. */
async function loop(d: Driver, w: Workload, start: number, seconds: number): Promise<number> {
  const until = performance.now() + seconds * 1000;
  let n = start;
  while (performance.now() < until) {
    await w.step(d, n);
    n += w.per;
  }
  return n - start;
}

async function measure(d: Driver, w: Workload, round: number, admin: postgres.Sql): Promise<Run> {
  if (w.writes) {
    // Every write run starts from empty tables, so neither driver inherits the other's bigger indexes.
    await admin`TRUNCATE claims, resources, changes, deliveries`;
    await admin`CHECKPOINT`;
  }
  const start = w.writes ? 1 : 0;
  const warm = await loop(d, w, start, WARMUP_S);
  const backend = await d.backendPid();
  const [cpu0, srv0, busy0, t0] = [process.cpuUsage(), cpuSeconds(backend), machineBusySeconds(), performance.now()];
  const units = await loop(d, w, start + warm, SECONDS);
  const wallS = (performance.now() - t0) / 1000;
  const [cpu, srv1, busy1] = [process.cpuUsage(cpu0), cpuSeconds(backend), machineBusySeconds()];
  const srvS = srv0 !== undefined && srv1 !== undefined ? srv1 - srv0 : undefined;
  return {
    workload: w.id,
    driver: d.name,
    round,
    units,
    unitsPerSecond: units / wallS,
    clientCpuUsPerUnit: (cpu.user + cpu.system) / units,
    serverCpuUsPerUnit: srvS !== undefined ? (srvS * 1e6) / units : null,
    otherCores: Math.max(0, (busy1 - busy0 - (cpu.user + cpu.system) / 1e6 - (srvS ?? 0)) / wallS),
  };
}

const fmt = (x: number, digits = 0) => x.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

const server = await startPostgres({ ownerPid: process.pid });
try {
  const admin = postgres(server.url(), { max: 1, onnotice: () => {} });
  await admin.unsafe('CREATE DATABASE bench TEMPLATE template0');
  const url = server.url('bench');
  const setup = postgres(url, { max: 1, onnotice: () => {} });
  await setup.unsafe(SCHEMA);
  const settings = await setup`SELECT name, setting FROM pg_settings WHERE name IN ('synchronous_commit', 'fsync', 'full_page_writes', 'server_version')`;
  const conf = Object.fromEntries(settings.map((r) => [r.name as string, r.setting as string]));
  const drivers = [porsager(url), nodePostgres(url)];
  const runs: Run[] = [];
  for (const w of WORKLOADS) {
    if (!w.writes) {
      await setup`TRUNCATE claims, resources, changes, deliveries`;
      await setup.unsafe(`INSERT INTO resources SELECT n, 'Task', 'default', 'r-' || n, 'uid-' || n, n, 1, '2026-01-01T00:00:00Z', $1, '{}'
        FROM generate_series(1, ${READ_ROWS}) n`, [spec(0)]);
      await setup`VACUUM ANALYZE resources`;
    }
    for (let round = 1; round <= ROUNDS; round++) {
      for (const d of drivers) {
        const r = await measure(d, w, round, setup);
        runs.push(r);
        log(`${w.id.padEnd(20)} ${d.name.padEnd(8)} round ${round}: ${fmt(r.unitsPerSecond)} units/s, ${fmt(r.clientCpuUsPerUnit, 1)} µs node CPU/unit`);
      }
    }
  }
  for (const d of drivers) await d.end();
  await setup.end();
  await admin.end();

  const summary = WORKLOADS.map((w) => {
    const of = (name: string) => runs.filter((r) => r.workload === w.id && r.driver === name);
    const [a, b] = [of('postgres'), of('pg')];
    const rate = (rs: Run[]) => mean(rs.map((r) => r.unitsPerSecond));
    const cpu = (rs: Run[]) => mean(rs.map((r) => r.clientCpuUsPerUnit));
    return { workload: w.id, postgresUnitsPerSecond: rate(a), pgUnitsPerSecond: rate(b), postgresOverPg: rate(a) / rate(b),
      postgresCpuUsPerUnit: cpu(a), pgCpuUsPerUnit: cpu(b) };
  });
  const note =
    `PostgreSQL ${conf.server_version} from the test harness: synchronous_commit=${conf.synchronous_commit}, fsync=${conf.fsync}, ` +
    `full_page_writes=${conf.full_page_writes}, so a COMMIT waits for no WAL flush and the figures are round-trip and CPU bound, not disk bound.`;
  const lines = [
    `Drivers postgres ${version('postgres')} (porsager) and pg ${version('pg')} (node-postgres), one connection each, ${SECONDS} s per run after ${WARMUP_S} s warm-up, runs alternating ${ROUNDS}×.`,
    `Machine: ${cpus().length} × ${cpus()[0]?.model.trim()}, Node ${process.version}. A unit = 5 statements (group commit) or 1 read.`,
    'backend CPU = the connection\'s server process (/proc, 10 ms ticks); other cores > 0.15 means the run shared the machine.',
    note,
    '',
    '| workload | driver | round | units/s | node CPU µs/unit | backend CPU µs/unit | other cores |',
    '|---|---|---:|---:|---:|---:|---:|',
    ...runs.map((r) => `| ${r.workload} | ${r.driver} | ${r.round} | ${fmt(r.unitsPerSecond)} | ${fmt(r.clientCpuUsPerUnit, 1)} | ` +
      `${r.serverCpuUsPerUnit === null ? '–' : fmt(r.serverCpuUsPerUnit, 1)} | ${fmt(r.otherCores, 2)} |`),
    '',
    '| workload | postgres units/s | pg units/s | postgres ÷ pg | postgres CPU µs/unit | pg CPU µs/unit |',
    '|---|---:|---:|---:|---:|---:|',
    ...summary.map((s) => `| ${s.workload} | ${fmt(s.postgresUnitsPerSecond)} | ${fmt(s.pgUnitsPerSecond)} | ${fmt(s.postgresOverPg, 2)}× | ${fmt(s.postgresCpuUsPerUnit, 1)} | ${fmt(s.pgCpuUsPerUnit, 1)} |`),
  ];
  console.log(lines.join('\n'));
  mkdirSync(RESULTS, { recursive: true });
  const record = { date: new Date().toISOString(), node: process.version, cpus: cpus().length, cpu: cpus()[0]?.model.trim(), seconds: SECONDS,
    warmupSeconds: WARMUP_S, postgres: conf, note, drivers: { postgres: version('postgres'), pg: version('pg') }, runs, summary };
  writeFileSync(join(RESULTS, 'pg-driver.json'), `${JSON.stringify(record, null, 2)}\n`);
  log('wrote bench/results/pg-driver.json');
} finally {
  await server.stop();
}
