// The scenarios: each starts its own server, warms up (unmeasured), measures, reads the peak
// RSS and checks that stored events (orlojd's run tasks, the peer's rows) match the accepted ones.
import { OTHER_LOAD_LIMIT, type BenchConfig } from './config.js';
import { countDeliveries, countDocuments, countTasks, createInboundWebhook, createWebhooks, presend, signing, SECRET, type EventCount } from './fixtures.js';
import { runOpenLoop, type Generator } from './generator.js';
import type { LoadResult, LoadSpec } from './load.js';
import { cpuSeconds, machineBusySeconds, peakRssMb } from './proc.js';
import { startBaseline, startOrlojd, startPeer, type OrlojdTarget, type Target } from './targets.js';

export interface Row {
  id: string;
  scenario: string;
  load: LoadResult;
  serverCores: number;
  /** Cores busy with anything but the server and the generator during the measured run. */
  otherCores: number;
  /** Server CPU (user + system, all threads) over the measured run ÷ requests it answered in it. */
  serverCpuUsPerRequest: number;
  rssMb?: number;
  /** 0-based; > 0 when earlier attempts shared the machine with other load. */
  attempt?: number;
  /** Event-id prefix of the kept measured run. */
  prefix?: string;
  check?: { ok: boolean; detail: string };
  /** orlojd log messages (it runs at warn level) and how often each appeared. */
  logs?: Record<string, number>;
  extra?: Record<string, unknown>;
}

export interface Ctx {
  cfg: BenchConfig;
  gen: Generator;
  log: (s: string) => void;
}

export function spec(ctx: Ctx, t: Target, paths: string[], eventPrefix: string, duration: number, replay?: number): LoadSpec {
  // Signed here, right before each run, so the timestamps are fresh (valid ±300 s).
  return { url: t.url, paths, ...signing(duration), eventPrefix, replay, duration, connections: ctx.cfg.connections, threads: ctx.cfg.threads };
}

interface Timed<L> {
  load: L;
  serverCores: number;
  otherCores: number;
  serverCpuUsPerRequest: number;
}

/**
 * One measured run with the CPU the server, the generator and everything else used, from the
 * moment the generator has its requests ready (signing them is neither the server's time nor
 * other load), or from the call when it does not say.
 */
async function timed<L extends LoadResult>(t: Target, run: (started: () => void) => Promise<L>): Promise<Timed<L>> {
  let cpu0 = 0;
  let busy0 = 0;
  let t0 = 0;
  const started = (): void => {
    cpu0 = cpuSeconds(t.pid) ?? 0;
    busy0 = machineBusySeconds();
    t0 = performance.now();
  };
  started();
  const load = await run(started);
  // Wall time, not the nominal duration: the open-loop run includes its own warm-up.
  const secs = (performance.now() - t0) / 1000;
  const serverCpu = (cpuSeconds(t.pid) ?? 0) - cpu0;
  const serverCores = serverCpu / secs;
  const busy = (machineBusySeconds() - busy0) / secs;
  const served = load.requests + (load.warmupRequests ?? 0);
  return {
    load,
    serverCores,
    otherCores: Math.max(0, busy - serverCores - load.generatorCores),
    serverCpuUsPerRequest: served ? (serverCpu * 1e6) / served : NaN,
  };
}

/**
 * The measured run, repeated (up to cfg.retries times) while other processes took CPU from
 * the machine; keeps the cleanest. Unique-event attempts get their own event-id prefix.
 */
async function cleanest<L extends LoadResult>(ctx: Ctx, t: Target, prefix: string, run: (prefix: string, started: () => void) => Promise<L>) {
  let best: (Timed<L> & { attempt: number; prefix: string }) | undefined;
  for (let attempt = 0; attempt <= ctx.cfg.retries; attempt++) {
    const p = `${prefix}${attempt}.`;
    const r = { ...(await timed(t, (started) => run(p, started))), attempt, prefix: p };
    if (!best || r.otherCores < best.otherCores) best = r;
    if (r.otherCores <= OTHER_LOAD_LIMIT) break;
    ctx.log(`  other processes used ${r.otherCores.toFixed(2)} cores during the run${attempt < ctx.cfg.retries ? ': measuring again' : ''}`);
    // Give a burst of foreign load a moment to pass.
    if (attempt < ctx.cfg.retries) await new Promise((res) => setTimeout(res, 3000));
  }
  return best!;
}

/** Warm-up (unmeasured, its own event ids), then the measured run. */
export async function measure(ctx: Ctx, t: Target, paths: string[], prefix: string) {
  await ctx.gen(spec(ctx, t, paths, `w${prefix}`, ctx.cfg.warmup));
  return cleanest(ctx, t, prefix, (p, started) => ctx.gen(spec(ctx, t, paths, p, ctx.cfg.duration), started));
}

export type Check = NonNullable<Row['check']>;

/** Unique events: every 202 duplicate:false stored one row (`what`), plus any in flight at the cut-off. */
export function checkUnique(row: Row, c: EventCount, what: string): Check {
  const { load } = row;
  const expected = load.created + c.probed;
  const ok = c.rows === c.distinctEvents && c.rows === expected && load.duplicates === 0;
  const inFlight = c.probed ? ` + ${c.probed} in flight at cut-off` : '';
  return {
    ok,
    detail: ok
      ? `${c.rows} ${what} = ${load.created} accepted${inFlight}`
      : `MISMATCH: ${c.rows} ${what} (${c.distinctEvents} distinct events) vs ${load.created} accepted${inFlight}, ${load.duplicates} duplicates`,
  };
}

export const checkTasks = async (row: Row, dataDir: string): Promise<Check> =>
  checkUnique(row, await countTasks(dataDir, row.prefix!, row.load.unanswered), 'tasks');

/** orlojd may hold an exclusive lock on its database, so tasks are counted after a clean shutdown. */
export async function withOrlojd(fn: (o: OrlojdTarget) => Promise<Row>, check: (row: Row, dataDir: string) => Promise<Check>, args: string[] = []): Promise<Row> {
  const o = await startOrlojd(args);
  try {
    const row = await fn(o);
    row.rssMb = peakRssMb(o.pid);
    await o.stop();
    if (o.logs.size) row.logs = Object.fromEntries(o.logs);
    row.check = await check(row, o.dataDir);
    return row;
  } finally {
    await o.stop();
    o.remove();
  }
}

export async function baseline(ctx: Ctx): Promise<Row> {
  const t = await startBaseline(SECRET);
  try {
    const m = await measure(ctx, t, ['/v1/webhook-deliveries/baseline'], 'base-');
    return { id: 'baseline', scenario: 'baseline: bare node:http + HMAC', ...m, rssMb: peakRssMb(t.pid) };
  } finally {
    await t.stop();
  }
}

/** Same load as (a); rows are counted after the peer closed its database. */
export async function peer(ctx: Ctx): Promise<Row> {
  const t = await startPeer(SECRET);
  try {
    const m = await measure(ctx, t, ['/v1/webhook-deliveries/peer'], 'peer-');
    const row: Row = { id: 'peer', scenario: 'peer: node:http + HMAC + 1 SQLite insert', ...m, rssMb: peakRssMb(t.pid) };
    await t.stop();
    row.check = checkUnique(row, await countDeliveries(t.dataDir, row.prefix!, row.load.unanswered), 'rows');
    return row;
  } finally {
    await t.stop();
    t.remove();
  }
}

export const uniqueEvents = (ctx: Ctx): Promise<Row> =>
  withOrlojd(async (o) => {
    const paths = await createWebhooks(o, 1, 1, ctx.log);
    return { id: 'a', scenario: '(a) unique events, 1 webhook', ...(await measure(ctx, o, paths, 'a-')) };
  }, checkTasks);

export const replays = (ctx: Ctx): Promise<Row> => {
  const m = ctx.cfg.replaySet;
  return withOrlojd(
    async (o) => {
      const paths = await createWebhooks(o, 1, 1, ctx.log);
      const present = await presend(o, paths[0]!, Array.from({ length: m }, (_, k) => `r-${k}`));
      // The warm-up replays the same set too (new ids would be new events).
      await ctx.gen(spec(ctx, o, paths, 'r-', ctx.cfg.warmup, m));
      // Replays only: every attempt sends the same r- ids, whatever prefix cleanest() suggests.
      const run = await cleanest(ctx, o, 'r-', (_, started) => ctx.gen(spec(ctx, o, paths, 'r-', ctx.cfg.duration, m), started));
      return { id: 'b', scenario: `(b) replays of ${m} seen events`, ...run, prefix: 'r-', extra: { presentCreated: present } };
    },
    async (row, dataDir) => {
      const tasks = (await countTasks(dataDir, 'r-')).rows;
      const created = Number(row.extra?.presentCreated);
      const ok = created === m && tasks === m && row.load.created === 0;
      const detail = `${m} pre-sent (${created} created); after replay ${tasks} tasks, ${row.load.created} accepted as new`;
      return { ok, detail: ok ? detail : `MISMATCH: ${detail}` };
    },
  );
};

/** `why` says where the rate came from (½ of (a), or BENCH_RATE). */
export const latency = (ctx: Ctx, rate: number, why: string): Promise<Row> =>
  withOrlojd(async (o) => {
    const paths = await createWebhooks(o, 1, 1, ctx.log);
    await ctx.gen(spec(ctx, o, paths, 'wc-', ctx.cfg.warmup));
    const run = await cleanest(ctx, o, 'c-', (p) => runOpenLoop(spec(ctx, o, paths, p, ctx.cfg.duration), rate, ctx.cfg.warmup));
    return { id: 'c', scenario: `(c) latency at ${rate} req/s (${why})`, ...run, extra: { targetRate: rate, sendLagP99Ms: run.load.sendLagP99Ms } };
  }, checkTasks);

export const manyWebhooks = (ctx: Ctx, n: number): Promise<Row> =>
  withOrlojd(async (o) => {
    const t0 = Date.now();
    ctx.log(`  creating ${n} webhooks (${ctx.cfg.createConcurrency} in parallel)`);
    const paths = await createWebhooks(o, n, ctx.cfg.createConcurrency, ctx.log);
    const setupSeconds = (Date.now() - t0) / 1000;
    const m = await measure(ctx, o, paths, `d${n}-`);
    return { id: `d${n}`, scenario: `(d) unique events over ${n} webhooks`, ...m, extra: { webhooks: n, setupSeconds } };
  }, checkTasks);

/** (e): the same load as (a) to an InboundWebhook, each event one validated document. */
export const inboundDocuments = (ctx: Ctx): Promise<Row> =>
  withOrlojd(async (o) => {
    const path = await createInboundWebhook(o);
    return { id: 'e', scenario: '(e) unique events, 1 InboundWebhook: a document each', ...(await measure(ctx, o, [path], 'e-')) };
  }, async (row, dataDir) => checkUnique(row, await countDocuments(dataDir, row.prefix!, row.load.unanswered), 'documents'));
