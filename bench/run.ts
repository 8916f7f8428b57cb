// `make bench`: the ingest benchmark. Progress goes to stderr; the Markdown table to stdout and,
// with the JSON record, to bench/results/<timestamp>.{md,json} and bench/results/latest.{md,json}.
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cliScenario } from './cli.js';
import { loadConfig, SCENARIOS, type BenchConfig, type ScenarioId } from './config.js';
import { controlLoop } from './control-loop.js';
import { pickGenerator } from './generator.js';
import { kubernetesEvents } from './kubernetes.js';
import { postgresScenarios } from './postgres.js';
import { goals, markdown } from './report.js';
import { triggerIsolation, triggerLatency, triggerThroughput, TRIGGERS } from './triggers.js';
import { baseline, inboundDocuments, latency, manyWebhooks, peer, replays, uniqueEvents, type Ctx, type Row } from './scenarios.js';

// dist/bench/run.js → <repo>/bench/results (the source tree, so results can be committed).
const RESULTS = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'bench', 'results');

type Step = (label: string, fn: () => Promise<Row>) => Promise<Row>;

/** (c)'s open-loop rate: BENCH_RATE, else half of (a), which loadConfig() then always selects. */
function latencyRate(cfg: BenchConfig, of: Row | undefined): { rate: number; why: string } {
  if (cfg.rate !== undefined) return { rate: cfg.rate, why: 'BENCH_RATE' };
  if (!of) throw new Error('a latency scenario needs its throughput scenario or BENCH_RATE');
  return { rate: Math.max(1, Math.round(of.load.rps / 2)), why: `½ of (${of.id})` };
}

/**
 * (h)'s rate: BENCH_RATE, else half of what (g) sustained end to end (its writes' messages
 * all sent: the engine's rate once the writes stopped, ÷ triggers). Half of (g)'s write rate
 * would be ten times that in messages, more than two cores can send.
 */
function triggerRate(cfg: BenchConfig, g: Row | undefined): { rate: number; why: string } {
  if (cfg.rate !== undefined) return { rate: cfg.rate, why: 'BENCH_RATE' };
  const sustained = Number(g?.extra?.sustainedWritesPerSecond);
  if (!sustained) throw new Error('(h) needs (g) or BENCH_RATE');
  return { rate: Math.max(1, Math.round(sustained / 2)), why: '½ of the write rate (g) sustained with all its messages sent' };
}

/** The selected scenarios in order: the two reference servers first, then orlojd's. */
async function runScenarios(ctx: Ctx, step: Step): Promise<void> {
  const want = (id: ScenarioId) => ctx.cfg.only.includes(id);
  if (want('baseline')) await step('baseline (bare node:http)', () => baseline(ctx));
  if (want('peer')) await step('peer (node:http + one SQLite insert per delivery)', () => peer(ctx));
  const a = want('a') ? await step('(a) unique events, 1 webhook', () => uniqueEvents(ctx)) : undefined;
  if (want('b')) await step('(b) replays of seen events', () => replays(ctx));
  if (want('c')) {
    const { rate, why } = latencyRate(ctx.cfg, a);
    await step(`(c) latency at ${rate} req/s (${why})`, () => latency(ctx, rate, why));
  }
  if (want('d')) for (const n of ctx.cfg.manyWebhooks) await step(`(d) ${n} webhooks`, () => manyWebhooks(ctx, n));
  if (want('e')) await step('(e) unique events, 1 InboundWebhook', () => inboundDocuments(ctx));
  if (want('f')) for (const r of await controlLoop(ctx)) await step(r.scenario, async () => r);
  const g = want('g') ? await step(`(g) unique events, 1 InboundWebhook, ${TRIGGERS} triggers`, () => triggerThroughput(ctx)) : undefined;
  // (i) at (h)'s rate when both run, so its delays are measured under the same load.
  let rate = ctx.cfg.isolationRate;
  if (want('h')) {
    const r = triggerRate(ctx.cfg, g);
    rate = process.env.BENCH_ISOLATION_RATE ? rate : r.rate;
    await step(`(h) write → message received at ${r.rate} writes/s (${r.why})`, () => triggerLatency(ctx, r.rate, r.why));
  }
  if (want('i')) await step(`(i) isolation at ${rate} writes/s`, () => triggerIsolation(ctx, rate));
  if (want('pg')) for (const r of await postgresScenarios(ctx)) await step(r.scenario, async () => r);
  if (want('k')) await step('(k) unique events, 1 webhook, Kubernetes mode', () => kubernetesEvents(ctx));
  if (want('cli')) for (const r of await cliScenario(ctx)) await step(r.scenario, async () => r);
}

function header(cfg: BenchConfig, gen: { name: string; note?: string }, rows: Row[], wallS: number): string[] {
  const c = rows.find((r) => r.id === 'c');
  const subset = cfg.only.length < SCENARIOS.length ? ` Scenarios: ${cfg.only.join(', ')} (BENCH_ONLY).` : '';
  return [
    `## Orloj ingest benchmark — ${new Date().toISOString()}`,
    '',
    `Machine: ${cpus().length} × ${cpus()[0]?.model.trim()}, Node ${process.version}. ` +
      `Runs: ${cfg.duration} s after a ${cfg.warmup} s warm-up, ${cfg.connections} connections, ${cfg.threads} generator threads${cfg.quick ? ' (quick mode)' : ''}; total ${wallS.toFixed(0)} s.${subset}`,
    `Throughput generator: ${gen.name}${gen.note ? ` (${gen.note})` : ''}, generic-profile requests signed beforehand, each body naming its own event id (so no two share a signature), timestamps advancing as a live sender's clock; ` +
      'baseline = bare node:http server doing the same HMAC check, same load, same run. Every scenario gets a fresh orlojd (`--log-level warn`).',
    'peer = the baseline plus one autocommitted better-sqlite3 INSERT … ON CONFLICT DO NOTHING per delivery (WAL, `synchronous = NORMAL`) before the 202: ' +
      'the naive durable receiver orlojd replaces; same load as (a).',
    `(c) uses an open-loop fixed-rate generator (raw keep-alive sockets, own process); latency is measured from each request's scheduled send time` +
      `${c ? `, so it includes the generator's own send lag (p99 ${Number(c.extra?.sendLagP99Ms).toFixed(2)} ms)` : ''}.`,
    'CPU columns: cores used during the measured run by the server, the generator, and everything else on the machine (other > 0.15 means the run shared the machine); ' +
      "server CPU µs / request = the server process's user + system time (all threads) over the measured run ÷ the requests it answered in it.",
  ];
}

async function main(): Promise<number> {
  const t0 = Date.now();
  const cfg = loadConfig();
  const gen = pickGenerator(cfg.generator);
  const log = (s: string) => process.stderr.write(`${s}\n`);
  const ctx: Ctx = { cfg, gen: gen.run, log };
  if (gen.note) log(`NOTE: ${gen.note}`);
  log(`bench: ${cfg.duration} s runs (+${cfg.warmup} s warm-up), ${cfg.connections} connections, generator ${gen.name}; scenarios ${cfg.only.join(', ')}`);

  const rows: Row[] = [];
  await runScenarios(ctx, async (label, fn) => {
    log(`▶ ${label}`);
    const r = await fn();
    log(`  ${Math.round(r.load.rps)} req/s, p99 ${r.load.p99Ms.toFixed(2)} ms${r.check ? `, ${r.check.ok ? 'ok' : 'FAIL'}: ${r.check.detail}` : ''}`);
    rows.push(r);
    return r;
  });

  const wallS = (Date.now() - t0) / 1000;
  const md = markdown(rows, header(cfg, gen, rows, wallS));
  process.stdout.write(`\n${md}`);

  const stamp = new Date(t0).toISOString().replace(/[:.]/g, '-');
  mkdirSync(RESULTS, { recursive: true });
  const record = { startedAt: new Date(t0).toISOString(), wallSeconds: wallS, config: cfg, generator: gen.name, machine: { cpus: cpus().length, model: cpus()[0]?.model, node: process.version }, rows, goals: goals(rows) };
  const json = JSON.stringify(record, null, 2) + '\n';
  writeFileSync(join(RESULTS, `${stamp}.json`), json);
  writeFileSync(join(RESULTS, `${stamp}.md`), md);
  writeFileSync(join(RESULTS, 'latest.json'), json);
  writeFileSync(join(RESULTS, 'latest.md'), md);
  log(`wrote bench/results/${stamp}.{json,md} and latest.{json,md} (${wallS.toFixed(0)} s)`);
  // Targets are reported, not asserted; a correctness failure is a bug, so it fails the run.
  return rows.every((r) => !r.check || r.check.ok) ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err);
    process.exit(2);
  },
);
