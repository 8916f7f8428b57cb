// Turns scenario rows into the Markdown table (stdout, results/*.md) and the JSON record.
import { OTHER_LOAD_LIMIT } from './config.js';
import type { Row } from './scenarios.js';

export interface Goal {
  text: string;
  met: boolean;
}

const RSS_LIMIT_MB = 250;
/** orlojctl's targets (median wall time of a whole process). */
const CLI_GET_TARGET_MS = 150;
const CLI_APPLY_TARGET_MS = 2000;
/** The reference servers; every other row is orlojd. */
const REFERENCES = new Set(['baseline', 'peer']);
const mark = (g: Goal): string => `${g.text}: ${g.met ? 'met' : '**not met**'}`;

/** rps of row `id` ÷ rps of row `ref`, when both ran. */
function ratio(rows: Row[], id: string, ref: string): number | undefined {
  const r = rows.find((x) => x.id === id)?.load.rps;
  const b = rows.find((x) => x.id === ref)?.load.rps;
  return r !== undefined && b ? r / b : undefined;
}

/**
 * The targets next to the figures; reported, never asserted. Keyed by row id, or by
 * `<row id>.<reference>` for a row's further targets.
 */
export function goals(rows: Row[]): Record<string, Goal> {
  const out: Record<string, Goal> = {};
  ratioGoal(rows, out, 'a', 'a', 'baseline', '≥ 0.60× baseline', (x) => x >= 0.6);
  // The peer is what a team would write instead: orlojd has to be faster than it, not only close.
  ratioGoal(rows, out, 'a.peer', 'a', 'peer', '> 1.00× peer', (x) => x > 1);
  ratioGoal(rows, out, 'b', 'b', 'baseline', '≥ 0.85× baseline', (x) => x >= 0.85);
  const c = rows.find((r) => r.id === 'c');
  if (c) out.c = { text: 'p99 ≤ 5 ms', met: c.load.p99Ms <= 5 };
  const dRows = rows.filter((r) => r.id.startsWith('d'));
  const small = dRows[0];
  for (const r of dRows.slice(1)) {
    out[r.id] = { text: `≥ 0.95× ${small!.extra?.webhooks} webhooks`, met: r.load.rps >= 0.95 * small!.load.rps };
  }
  triggerGoals(rows, out);
  cliGoals(rows, out);
  return out;
}

/** orlojctl's wall times (p50 is the median): `get` a kubectl-like call, `apply` of 1,000 resources. */
function cliGoals(rows: Row[], out: Record<string, Goal>): void {
  const median = (id: string) => rows.find((r) => r.id === id)?.load.p50Ms;
  const get = median('cli-get');
  if (get !== undefined) out['cli-get'] = { text: `median ≤ ${CLI_GET_TARGET_MS} ms`, met: get <= CLI_GET_TARGET_MS };
  for (const id of ['cli-apply-new', 'cli-apply-unchanged']) {
    const ms = median(id);
    if (ms !== undefined) out[id] = { text: `median ≤ ${CLI_APPLY_TARGET_MS / 1000} s`, met: ms <= CLI_APPLY_TARGET_MS };
  }
}

function triggerGoals(rows: Row[], out: Record<string, Goal>): void {
  const x = (r: Row | undefined, k: string) => Number(r?.extra?.[k]);
  const g = rows.find((r) => r.id === 'g');
  if (g?.extra?.vsNoTriggers !== undefined) {
    const v = x(g, 'vsNoTriggers');
    const e = ratio(rows, 'g', 'e');
    out.g = { text: `≥ 0.90× the same writes with no triggers, alternated with them in the same orlojd (${v.toFixed(2)}${e === undefined ? '' : `; vs (e): ${e.toFixed(2)}`})`, met: v >= 0.9 };
  }
  const h = rows.find((r) => r.id === 'h');
  if (h) out.h = { text: 'write answered → message received p50 ≤ 5 ms, p99 ≤ 50 ms', met: x(h, 'fromAnswerP50Ms') <= 5 && x(h, 'fromAnswerP99Ms') <= 50 };
  const i = rows.find((r) => r.id === 'i');
  if (i) out.i = { text: 'the nine all received ≤ 100 ms after the answer; write p50 ≤ 1.2× no triggers', met: x(i, 'fromAnswerMaxMs') <= 100 && x(i, 'writeP50Ratio') <= 1.2 };
}

function ratioGoal(rows: Row[], out: Record<string, Goal>, key: string, id: string, ref: string, text: string, met: (x: number) => boolean): void {
  const x = ratio(rows, id, ref);
  if (x !== undefined) out[key] = { text, met: met(x) };
}

/** The trigger rows' own figures (delays per message, drain), one line each. */
function triggerLines(rows: Row[]): string[] {
  const out: string[] = [];
  for (const r of rows.filter((x) => ['g', 'h', 'i'].includes(x.id) && x.extra)) {
    const { delivered: _, ...figures } = r.extra!;
    out.push(`- ${r.id}: ${Object.entries(figures).map(([k, v]) => `${k} ${v}`).join(', ')}`);
  }
  return out.length ? ['', 'Trigger figures (ms; fromAnswer = message received − the write\'s answer, fromSend = − its scheduled send):', ...out] : [];
}

/** The orlojctl rows next to `node -e 0`: what each command costs above starting Node.js. */
function cliLines(rows: Row[]): string[] {
  const cli = rows.filter((r) => r.id.startsWith('cli-'));
  const node = rows.find((r) => r.id === 'cli-node')?.load.p50Ms;
  if (!cli.length) return [];
  const out = ['', 'orlojctl wall times, spawn to exit (ms; p50 is the median of the runs, p99 the slowest):'];
  for (const r of cli) {
    const above = node !== undefined && r.id !== 'cli-node' ? ` (${f(r.load.p50Ms - node)} above node -e 0)` : '';
    out.push(`- ${r.id}: median ${f(r.load.p50Ms)}${above}, slowest ${f(r.load.p99Ms)} over ${r.load.requests} runs`);
  }
  return out;
}

/** The PostgreSQL rows' split of server CPU, and the replica timings (ms from the causing write's answer). */
function postgresLines(rows: Row[]): string[] {
  const pg = rows.filter((r) => r.id.startsWith('pg-'));
  if (!pg.length) return [];
  const out = ['', 'PostgreSQL rows (durable settings: fsync on, synchronous_commit off, as the embedded store\'s WAL + NORMAL): server CPU = orlojd + PostgreSQL, µs per request:'];
  for (const r of pg) out.push(`- ${r.id}: orlojd ${r.extra?.orlojdCpuUsPerRequest}, PostgreSQL ${r.extra?.postgresCpuUsPerRequest}`);
  const t = pg.find((r) => r.extra?.replicaTimings)?.extra?.replicaTimings as Record<string, { p50: number; max: number; samples: number }> | undefined;
  if (t) {
    const limits: Record<string, number> = { applyToDeliveryMs: 1000, watchMs: 100, rotationMs: 1000, failoverReadyMs: 5000 };
    out.push('', 'Replica timings, from the answer of the write on one replica to its effect on the other (p50 / max over samples; target):');
    for (const [k, v] of Object.entries(t)) out.push(`- ${k}: ${v.p50} / ${v.max} ms over ${v.samples}; ≤ ${limits[k]} ms: ${v.max <= limits[k]! ? 'met' : '**not met**'}`);
  }
  return out;
}

const f = (n: number | undefined, digits = 0): string => (n === undefined || Number.isNaN(n) ? '–' : n.toFixed(digits));

function rss(r: Row): string {
  if (r.rssMb === undefined) return '–';
  return REFERENCES.has(r.id) ? String(r.rssMb) : `${r.rssMb} (${r.rssMb <= RSS_LIMIT_MB ? 'met' : '**not met**'})`;
}

/** Throughput against a reference; not for the fixed-rate rows, nor for the reference itself. */
function vs(rows: Row[], r: Row, ref: string, refsToo: boolean): string {
  if (['c', 'h', 'i'].includes(r.id) || r.id === ref || (!refsToo && REFERENCES.has(r.id))) return '–';
  return f(ratio(rows, r.id, ref), 2);
}

function rowLine(rows: Row[], r: Row, g: Record<string, Goal>): string {
  const check = r.check ? `${r.check.ok ? 'ok' : '**FAIL**'}: ${r.check.detail}` : '';
  const attempt = r.attempt ? ` [attempt ${r.attempt + 1}]` : '';
  const targets = Object.entries(g).filter(([k]) => k.split('.')[0] === r.id).map(([, v]) => mark(v));
  return (
    `| ${r.scenario}${attempt} | ${r.load.generator} | ${f(r.load.rps)} | ${f(r.load.p50Ms, 2)} | ${f(r.load.p99Ms, 2)} | ${r.load.non2xx} / ${r.load.errors} | ` +
    `${vs(rows, r, 'baseline', true)} | ${vs(rows, r, 'peer', false)} | ${rss(r)} | ${f(r.serverCores, 2)} / ${f(r.load.generatorCores, 2)} / ${f(r.otherCores, 2)} | ` +
    `${f(r.serverCpuUsPerRequest, 1)} | ${check} | ${targets.join('; ')} |`
  );
}

export function markdown(rows: Row[], header: string[]): string {
  const g = goals(rows);
  const lines = [
    ...header,
    '',
    '| Scenario | Generator | req/s | p50 ms | p99 ms | non-2xx / errors | vs baseline | vs peer | peak RSS MB | CPU cores server / generator / other | server CPU µs / request | Correctness | Target |',
    '|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|---|---|',
    ...rows.map((r) => rowLine(rows, r, g)),
  ];
  const noisy = rows.filter((r) => r.otherCores > OTHER_LOAD_LIMIT);
  if (noisy.length) {
    lines.push('', `**Warning:** other processes used > ${OTHER_LOAD_LIMIT} cores during ${noisy.map((r) => r.id).join(', ')}; those figures are contaminated.`);
  }
  for (const r of rows.filter((x) => x.logs)) {
    const msgs = Object.entries(r.logs!).map(([m, n]) => `${n}× "${m.slice(0, 120)}"`);
    lines.push('', `orlojd logged during ${r.id}: ${msgs.slice(0, 3).join('; ')}${msgs.length > 3 ? ` (+${msgs.length - 3} more kinds)` : ''}`);
  }
  lines.push(...triggerLines(rows));
  lines.push(...postgresLines(rows));
  lines.push(...cliLines(rows));
  lines.push('', `Peak RSS target for orlojd: ≤ ${RSS_LIMIT_MB} MB (VmHWM of the orlojd process at the end of each scenario, setup included).`);
  return lines.join('\n') + '\n';
}
