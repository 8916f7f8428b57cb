// `make crash-test`: many deliveries while orlojd is kill -9ed and restarted; fails (exit 1)
// if an acknowledged event has no run task or any event has two.
import { runCrashScenario } from '../test/helpers/crash.js';

function envInt(name: string, def: number): number {
  const n = Number(process.env[name] ?? def);
  if (!Number.isInteger(n) || n < 0) throw new Error(`${name} must be a non-negative integer`);
  return n;
}

const opts = {
  deliveries: envInt('CRASH_DELIVERIES', 5000),
  kills: envInt('CRASH_KILLS', 6),
  concurrency: envInt('CRASH_CONCURRENCY', 32),
};
const t0 = Date.now();
console.log(`crash test: ${opts.deliveries} deliveries, ${opts.kills} kills, ${opts.concurrency} concurrent senders`);
const r = await runCrashScenario({ ...opts, log: (l) => console.log(`  ${l}`) });
const ok = r.missing.length === 0 && r.doubled.length === 0 && r.acked === opts.deliveries;
console.log(
  [
    `acked:    ${r.acked}`,
    `kills:    ${r.kills}`,
    `retries:  ${r.retries}`,
    `tasks:    ${r.tasks}`,
    `missing:  ${r.missing.length}${r.missing.length ? ` (${r.missing.slice(0, 10).join(', ')}${r.missing.length > 10 ? ', …' : ''})` : ''}`,
    `doubled:  ${r.doubled.length}${r.doubled.length ? ` (${r.doubled.slice(0, 10).join(', ')}${r.doubled.length > 10 ? ', …' : ''})` : ''}`,
    `time:     ${((Date.now() - t0) / 1000).toFixed(1)} s`,
    ok ? 'PASS' : 'FAIL',
  ].join('\n'),
);
process.exit(ok ? 0 : 1);
