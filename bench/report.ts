// Turns scenario rows into the Markdown table (stdout, results/*.md) and the JSON record.
import { OTHER_LOAD_LIMIT } from './config.js';
import type { Row } from './scenarios.js';

export interface Goal {
  text: string;
  met: boolean;
}

const RSS_LIMIT_MB = 250;
const mark = (g: Goal | undefined): string => (g ? `${g.text}: ${g.met ? 'met' : '**not met**'}` : '');

/** The targets next to the figures; reported, never asserted. */
export function goals(rows: Row[]): Record<string, Goal> {
  const by = (id: string) => rows.find((r) => r.id === id);
  const base = by('baseline')?.load.rps;
  const out: Record<string, Goal> = {};
  const ratioGoal = (id: string, min: number) => {
    const r = by(id);
    if (r && base) out[id] = { text: `≥ ${min.toFixed(2)}× baseline`, met: r.load.rps / base >= min };
  };
  ratioGoal('a', 0.6);
  ratioGoal('b', 0.85);
  const c = by('c');
  if (c) out.c = { text: 'p99 ≤ 5 ms', met: c.load.p99Ms <= 5 };
  const dRows = rows.filter((r) => r.id.startsWith('d'));
  const small = dRows[0];
  for (const r of dRows.slice(1)) {
    out[r.id] = { text: `≥ 0.95× ${small!.extra?.webhooks} webhooks`, met: r.load.rps >= 0.95 * small!.load.rps };
  }
  return out;
}

const f = (n: number | undefined, digits = 0): string => (n === undefined || Number.isNaN(n) ? '–' : n.toFixed(digits));

export function markdown(rows: Row[], header: string[]): string {
  const base = rows.find((r) => r.id === 'baseline')?.load.rps;
  const g = goals(rows);
  const lines = [
    ...header,
    '',
    '| Scenario | Generator | req/s | p50 ms | p99 ms | non-2xx / errors | vs baseline | peak RSS MB | CPU cores server / generator / other | Correctness | Target |',
    '|---|---|--:|--:|--:|--:|--:|--:|--:|---|---|',
  ];
  for (const r of rows) {
    const orlojd = r.id !== 'baseline';
    const rss = r.rssMb === undefined ? '–' : orlojd ? `${r.rssMb} (${r.rssMb <= RSS_LIMIT_MB ? 'met' : '**not met**'})` : String(r.rssMb);
    const check = r.check ? `${r.check.ok ? 'ok' : '**FAIL**'}: ${r.check.detail}` : '';
    const attempt = r.attempt ? ` [attempt ${r.attempt + 1}]` : '';
    lines.push(
      `| ${r.scenario}${attempt} | ${r.load.generator} | ${f(r.load.rps)} | ${f(r.load.p50Ms, 2)} | ${f(r.load.p99Ms, 2)} | ${r.load.non2xx} / ${r.load.errors} | ` +
        `${base && orlojd && r.id !== 'c' ? f(r.load.rps / base, 2) : '–'} | ${rss} | ${f(r.serverCores, 2)} / ${f(r.load.generatorCores, 2)} / ${f(r.otherCores, 2)} | ${check} | ${mark(g[r.id])} |`,
    );
  }
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
