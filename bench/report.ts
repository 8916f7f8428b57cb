// Turns scenario rows into the Markdown table (stdout, results/*.md) and the JSON record.
import { OTHER_LOAD_LIMIT } from './config.js';
import type { Row } from './scenarios.js';

export interface Goal {
  text: string;
  met: boolean;
}

const RSS_LIMIT_MB = 250;
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
  const ratioGoal = (key: string, id: string, ref: string, text: string, met: (x: number) => boolean) => {
    const x = ratio(rows, id, ref);
    if (x !== undefined) out[key] = { text, met: met(x) };
  };
  ratioGoal('a', 'a', 'baseline', '≥ 0.60× baseline', (x) => x >= 0.6);
  // The peer is what a team would write instead: orlojd has to be faster than it, not only close.
  ratioGoal('a.peer', 'a', 'peer', '> 1.00× peer', (x) => x > 1);
  ratioGoal('b', 'b', 'baseline', '≥ 0.85× baseline', (x) => x >= 0.85);
  const c = rows.find((r) => r.id === 'c');
  if (c) out.c = { text: 'p99 ≤ 5 ms', met: c.load.p99Ms <= 5 };
  const dRows = rows.filter((r) => r.id.startsWith('d'));
  const small = dRows[0];
  for (const r of dRows.slice(1)) {
    out[r.id] = { text: `≥ 0.95× ${small!.extra?.webhooks} webhooks`, met: r.load.rps >= 0.95 * small!.load.rps };
  }
  return out;
}

const f = (n: number | undefined, digits = 0): string => (n === undefined || Number.isNaN(n) ? '–' : n.toFixed(digits));

function rss(r: Row): string {
  if (r.rssMb === undefined) return '–';
  return REFERENCES.has(r.id) ? String(r.rssMb) : `${r.rssMb} (${r.rssMb <= RSS_LIMIT_MB ? 'met' : '**not met**'})`;
}

/** Throughput against a reference; not for (c), whose rate is fixed, nor for the reference itself. */
function vs(rows: Row[], r: Row, ref: string, refsToo: boolean): string {
  if (r.id === 'c' || r.id === ref || (!refsToo && REFERENCES.has(r.id))) return '–';
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
  lines.push('', `Peak RSS target for orlojd: ≤ ${RSS_LIMIT_MB} MB (VmHWM of the orlojd process at the end of each scenario, setup included).`);
  return lines.join('\n') + '\n';
}
