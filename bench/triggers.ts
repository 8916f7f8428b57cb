// The trigger scenarios: (e)'s InboundWebhook load with ten triggers on its collection
// (their skip_inbound_webhook_writes off, so every document fires all ten) to a local receiver.
// (g) write throughput; (h) write → message received at half of (g)'s rate; (i) isolation:
// nine fast destinations and one that never answers, against the same writes with no triggers.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resource } from '../test/helpers/fixtures.js';
import { countDocuments, createInboundWebhook } from './fixtures.js';
import { runOpenLoop } from './generator.js';
import { mean, pct } from './load.js';
import { checkUnique, measure, spec, withOrlojd, type Check, type Ctx, type Row } from './scenarios.js';
import { BENCH_TOKEN, startReceiver, type OrlojdTarget, type Target } from './targets.js';

export const TRIGGERS = 10;
// Records stay (the check finds documents through them): the messages' own would push them out.
const ARGS = ['--allow-destinations', '127.0.0.0/8', '--delivery-retention', '100000000'];
/** How long the receiver may take to get every message after a run before the check fails. */
const DRAIN_LIMIT_MS = 360_000;

type Times = Record<string, number[]>;

async function receiverJson<T>(r: Target, path: string, method = 'GET'): Promise<T> {
  return (await (await fetch(r.url + path, { method })).json()) as T;
}

const receivedSoFar = async (r: Target): Promise<number> => (await receiverJson<{ received: number }>(r, '/count')).received;

/** Triggers on the InboundWebhook's collection, each to its own path of `urls[i]`; resolves once all are Ready. */
async function createTriggers(o: OrlojdTarget, urls: string[]): Promise<void> {
  for (const [i, url] of urls.entries()) {
    const t = resource('Trigger', `t${i}`, { collection: 'events', events: ['create', 'update'], url: `${url}/t${i}`, skip_inbound_webhook_writes: false, retry: { max_attempts: 3 } });
    const res = await o.api('PUT', `/v1/triggers/t${i}?namespace=default`, t);
    if (res.status >= 300) throw new Error(`PUT triggers/t${i}: ${res.status} ${JSON.stringify(res.body)}`);
  }
  for (let waited = 0; waited < 30_000; waited += 100) {
    const list = (await o.api<{ items: Array<{ status?: { conditions?: Array<{ type: string; status: string }> } }> }>('GET', '/v1/triggers?namespace=default')).body;
    if (list.items.filter((t) => t.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')).length === urls.length) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('the triggers did not become Ready');
}

/** Deletes the triggers createTriggers made; resolves once none is listed (their generated Secrets go with them). */
async function deleteTriggers(o: OrlojdTarget, n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    const res = await o.api('DELETE', `/v1/triggers/t${i}?namespace=default`);
    if (res.status >= 300) throw new Error(`DELETE triggers/t${i}: ${res.status} ${JSON.stringify(res.body)}`);
  }
  for (let waited = 0; waited < 30_000; waited += 100) {
    if (!(await o.api<{ items: unknown[] }>('GET', '/v1/triggers?namespace=default')).body.items.length) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('the triggers were not deleted');
}

/**
 * Runs without triggers and with them, alternated in one orlojd: none, triggers, none (the
 * triggers deleted), triggers (made again), none. This machine's speed drifts by tens of
 * percent within minutes, and the CPU a write costs grows with the store: runs seconds apart,
 * alternated, cancel both, where a reference minutes away would measure them as much as the
 * triggers. Each triggered run's messages that are still queued go with its triggers.
 */
async function alternated<B, T>(o: OrlojdTarget, urls: string[], bareRun: (k: number) => Promise<B>, triggeredRun: (k: number) => Promise<T>): Promise<{ bare: B[]; triggered: T[] }> {
  const bare = [await bareRun(0)];
  const triggered: T[] = [];
  for (const k of [1, 2]) {
    await createTriggers(o, urls);
    triggered.push(await triggeredRun(k));
    await deleteTriggers(o, urls.length);
    bare.push(await bareRun(k));
  }
  return { bare, triggered };
}

/** Waits (bounded) until the receiver has `want` messages; how long that took after the run. */
async function drained(r: Target, want: number): Promise<{ received: number; drainMs: number }> {
  const t0 = performance.now();
  for (;;) {
    const { received } = await receiverJson<{ received: number }>(r, '/count');
    const drainMs = performance.now() - t0;
    if (received >= want || drainMs > DRAIN_LIMIT_MS) return { received, drainMs };
    await new Promise((res) => setTimeout(res, 50));
  }
}

/**
 * Each trigger scenario starts after the machine has written out the previous one's data
 * ((g) leaves hundreds of MB behind): its writeback would otherwise stall this one's commits.
 */
async function withReceiver<T>(fn: (r: Target) => Promise<T>): Promise<T> {
  spawnSync('sync');
  const r = await startReceiver();
  try {
    return await fn(r);
  } finally {
    await r.stop();
  }
}

const documentsCheck = async (row: Row, dataDir: string): Promise<Check> => {
  const docs = checkUnique(row, await countDocuments(dataDir, row.prefix!, row.load.unanswered), 'documents');
  const delivered = row.extra?.delivered as { ok: boolean; detail: string } | undefined;
  if (!delivered) return docs;
  return { ok: docs.ok && delivered.ok, detail: `${docs.detail}; ${delivered.detail}` };
};

/** Every document written (warm-up included) reached every trigger's destination. */
function deliveredCheck(received: number, documents: number, triggers: number, drainMs: number): { ok: boolean; detail: string } {
  const want = documents * triggers;
  const ok = received >= want;
  return { ok, detail: `${received} messages received of ${want} (${triggers} per document)${ok ? `, the last ${(drainMs / 1000).toFixed(1)} s after the run` : ` after waiting ${DRAIN_LIMIT_MS / 1000} s`}` };
}

/**
 * (g): (e)'s load, every document firing ten triggers, against the same writes with none
 * (alternated), after a first run with none that warms the process up. A last triggered run
 * is the check: its messages are all awaited, and the rate the engine then sends at is what it
 * sustains.
 */
export const triggerThroughput = (ctx: Ctx): Promise<Row> =>
  withReceiver((rcv) =>
    withOrlojd(async (o) => {
      const path = await createInboundWebhook(o);
      const urls = Array.from({ length: TRIGGERS }, () => rcv.url);
      await measure(ctx, o, [path], 'g0-');
      const { bare, triggered } = await alternated(o, urls, (k) => measure(ctx, o, [path], `gb${k}-`), (k) => measure(ctx, o, [path], `gt${k}-`));
      await createTriggers(o, urls);
      // Only the writes after these triggers exist fire them.
      const [start, before] = [await receivedSoFar(rcv), await acceptedWrites(o)];
      const m = await measure(ctx, o, [path], 'g-');
      const during = await receivedSoFar(rcv);
      const documents = (await acceptedWrites(o)) - before;
      const { received, drainMs } = await drained(rcv, start + documents * TRIGGERS);
      // Once the writes stop, the engine runs flat out: the rate it sends at is what it sustains.
      const messagesPerSecond = (received - during) / (drainMs / 1000);
      const rps = (runs: typeof bare) => runs.map((r) => r.load.rps);
      const cpu = (runs: typeof bare) => +mean(runs.map((r) => r.serverCpuUsPerRequest)).toFixed(1);
      return {
        id: 'g',
        scenario: `(g) unique events, 1 InboundWebhook, ${TRIGGERS} triggers on its collection`,
        ...m,
        extra: {
          triggers: TRIGGERS,
          triggeredReqPerSec: rps(triggered).map(Math.round),
          noTriggersReqPerSec: rps(bare).map(Math.round),
          triggeredCpuUsPerRequest: cpu(triggered),
          noTriggersCpuUsPerRequest: cpu(bare),
          vsNoTriggers: +(mean(rps(triggered)) / mean(rps(bare))).toFixed(3),
          receivedByRunEnd: during - start,
          drainSeconds: +(drainMs / 1000).toFixed(1),
          messagesPerSecond: Math.round(messagesPerSecond),
          sustainedWritesPerSecond: Math.round(messagesPerSecond / TRIGGERS),
          delivered: deliveredCheck(received - start, documents, TRIGGERS, drainMs),
        },
      };
    }, documentsCheck, ARGS),
  );

/** Deliveries orlojd accepted so far (warm-ups included): the documents written. */
async function acceptedWrites(o: OrlojdTarget): Promise<number> {
  const text = await (await fetch(`${o.url}/metrics`, { headers: { authorization: `Bearer ${BENCH_TOKEN}` } })).text();
  let n = 0;
  for (const m of text.matchAll(/^orloj_webhook_deliveries_total\{[^}]*outcome="accepted"[^}]*\} (\d+)/gm)) n += Number(m[1]);
  return n;
}

interface Delays {
  /** ms from the write's answer (negative: the message arrived first) */
  fromAnswer: Float64Array;
  /** ms from the write's scheduled send */
  fromSend: Float64Array;
  missing: number;
  /** The write whose message took longest, and how long (from the answer). */
  slowest?: { id: string; ms: number };
}

/** Per message: arrival − the write's answer, and arrival − its scheduled send. */
function delays(writes: Record<string, [number, number]>, arrivals: Times, perWrite: number): Delays {
  const fromAnswer: number[] = [];
  const fromSend: number[] = [];
  let missing = 0;
  let slowest: Delays['slowest'];
  for (const [id, [sent, answered]] of Object.entries(writes)) {
    const got = arrivals[id] ?? [];
    missing += Math.max(0, perWrite - got.length);
    for (const at of got) {
      fromAnswer.push(at - answered);
      fromSend.push(at - sent);
      if (!slowest || at - answered > slowest.ms) slowest = { id, ms: +(at - answered).toFixed(2) };
    }
  }
  return { fromAnswer: Float64Array.from(fromAnswer).sort(), fromSend: Float64Array.from(fromSend).sort(), missing, slowest };
}

/** An open-loop run at `rate` whose per-write times land in a temp file; returns the row parts and the times. */
async function timedRun(ctx: Ctx, o: OrlojdTarget, path: string, prefix: string, rate: number, duration = ctx.cfg.duration, warmup = ctx.cfg.warmup) {
  const dir = mkdtempSync(join(tmpdir(), 'orloj-bench-times-'));
  try {
    const file = join(dir, 'times.json');
    const load = await runOpenLoop(spec(ctx, o, [path], prefix, duration), rate, warmup, file);
    return { load, writes: JSON.parse(readFileSync(file, 'utf8')) as Record<string, [number, number]> };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const ms = (a: Float64Array, p: number) => +pct(a, p).toFixed(2);

/** Seconds of the first, unmeasured run at the rate (see settle). */
const settleSeconds = (ctx: Ctx): number => (ctx.cfg.quick ? 1 : 5);

/**
 * A first run at the measured rate, not measured, whose messages are all received before the
 * measured run starts: a fresh process spends its first seconds compiling its hot paths, and
 * on a slow machine that leaves a backlog the measured run's short warm-up would start in. Its
 * delays are kept as the cold figures. Returns their p99 and max, from the write's answer.
 */
async function settle(ctx: Ctx, o: OrlojdTarget, rcv: Target, path: string, prefix: string, rate: number, perWrite: number): Promise<{ coldP99Ms: number; coldMaxMs: number }> {
  const [start, before] = [await receivedSoFar(rcv), await acceptedWrites(o)];
  const { writes } = await timedRun(ctx, o, path, prefix, rate, settleSeconds(ctx), 0);
  await drained(rcv, start + ((await acceptedWrites(o)) - before) * perWrite);
  const d = delays(writes, await receiverJson<Times>(rcv, '/times', 'POST'), perWrite);
  return { coldP99Ms: ms(d.fromAnswer, 99), coldMaxMs: ms(d.fromAnswer, 100) };
}

/** (h): write → message received, at a fixed rate (half of (g)'s by default). */
export const triggerLatency = (ctx: Ctx, rate: number, why: string): Promise<Row> =>
  withReceiver((rcv) =>
    withOrlojd(async (o) => {
      const path = await createInboundWebhook(o);
      await createTriggers(o, Array.from({ length: TRIGGERS }, () => rcv.url));
      const cold = await settle(ctx, o, rcv, path, 'hs-', rate, TRIGGERS);
      const { load, writes } = await timedRun(ctx, o, path, 'h-', rate);
      // Warm-up writes fire too: wait for theirs as well before reading the arrivals.
      const documents = await acceptedWrites(o);
      const { received, drainMs } = await drained(rcv, documents * TRIGGERS);
      const d = delays(writes, await receiverJson<Times>(rcv, '/times', 'POST'), TRIGGERS);
      return {
        id: 'h',
        scenario: `(h) write → message received, ${TRIGGERS} triggers, at ${rate} writes/s (${why})`,
        load,
        serverCores: Number.NaN,
        otherCores: 0,
        serverCpuUsPerRequest: Number.NaN,
        prefix: 'h-0-',
        extra: {
          targetRate: rate,
          messages: d.fromAnswer.length,
          missing: d.missing,
          fromAnswerP50Ms: ms(d.fromAnswer, 50),
          fromAnswerP99Ms: ms(d.fromAnswer, 99),
          fromSendP50Ms: ms(d.fromSend, 50),
          fromSendP99Ms: ms(d.fromSend, 99),
          ...cold,
          delivered: deliveredCheck(received, documents, TRIGGERS, drainMs),
        },
      };
    }, documentsCheck, ARGS),
  );

/**
 * (i): at a fixed rate, the writes with nine triggers to the receiver and one to a destination
 * that never answers, against the same writes with none (alternated: one run's median moves by
 * more than the margin), after a flood and a first run that warm the process up (a fresh one
 * is slower, which would flatter the runs after it). The nine's delays over both triggered
 * runs, and the mean of each kind's write medians.
 */
export const triggerIsolation = (ctx: Ctx, rate: number): Promise<Row> =>
  withReceiver((rcv) =>
    withOrlojd(async (o) => {
      const path = await createInboundWebhook(o);
      const urls = [...Array<string>(TRIGGERS - 1).fill(rcv.url), rcv.info!.hanging!];
      // A flood first: a few seconds at the rate alone leave the first measured run slower.
      await ctx.gen(spec(ctx, o, [path], 'iwf-', ctx.cfg.warmup));
      await timedRun(ctx, o, path, 'iw-', rate, settleSeconds(ctx), 0);
      const { bare, triggered: runs } = await alternated(o, urls,
        async (k) => (await timedRun(ctx, o, path, `ib${k}-`, rate)).load.p50Ms,
        (k) => isolatedRun(ctx, o, rcv, path, k === 2 ? 'i-' : `it${k}-`, rate));
      const [withP50, withoutP50] = [mean(runs.map((r) => r.load.p50Ms)), mean(bare)];
      const fromAnswer = Float64Array.from(runs.flatMap((r) => [...r.d.fromAnswer])).sort();
      const slowest = runs.map((r) => r.d.slowest).reduce((a, b) => (!a || (b && b.ms > a.ms) ? b : a));
      const delivered = runs.map((r) => deliveredCheck(r.received, r.documents, TRIGGERS - 1, r.drainMs));
      return {
        id: 'i',
        scenario: `(i) ${TRIGGERS - 1} triggers to the receiver and 1 to a destination that never answers, at ${rate} writes/s`,
        // The last run's: the documents check counts its prefix.
        load: runs[runs.length - 1]!.load,
        serverCores: Number.NaN,
        otherCores: 0,
        serverCpuUsPerRequest: Number.NaN,
        prefix: 'i-0-',
        extra: {
          targetRate: rate,
          writeP50NoTriggersMs: +withoutP50.toFixed(2),
          writeP50Ms: +withP50.toFixed(2),
          writeP50Ratio: +(withP50 / withoutP50).toFixed(2),
          writeP50sNoTriggersMs: bare.map((x) => +x.toFixed(2)),
          writeP50sMs: runs.map((r) => +r.load.p50Ms.toFixed(2)),
          messages: fromAnswer.length,
          fromAnswerP50Ms: ms(fromAnswer, 50),
          fromAnswerP99Ms: ms(fromAnswer, 99),
          fromAnswerMaxMs: +(fromAnswer[fromAnswer.length - 1] ?? Number.NaN).toFixed(2),
          slowestWrite: slowest?.id,
          coldP99Ms: Math.max(...runs.map((r) => r.cold.coldP99Ms)),
          coldMaxMs: Math.max(...runs.map((r) => r.cold.coldMaxMs)),
          delivered: { ok: delivered.every((c) => c.ok), detail: delivered.map((c) => c.detail).join('; ') },
        },
      };
    }, documentsCheck, ARGS),
  );

/** One of (i)'s triggered runs, after its settling run: the writes, and their messages' delays once all arrived. */
async function isolatedRun(ctx: Ctx, o: OrlojdTarget, rcv: Target, path: string, prefix: string, rate: number) {
  const cold = await settle(ctx, o, rcv, path, `${prefix}s-`, rate, TRIGGERS - 1);
  const [start, before] = [await receivedSoFar(rcv), await acceptedWrites(o)];
  const { load, writes } = await timedRun(ctx, o, path, prefix, rate);
  const documents = (await acceptedWrites(o)) - before;
  const { received, drainMs } = await drained(rcv, start + documents * (TRIGGERS - 1));
  const d = delays(writes, await receiverJson<Times>(rcv, '/times', 'POST'), TRIGGERS - 1);
  return { cold, load, documents, received: received - start, drainMs, d };
}
