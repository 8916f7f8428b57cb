// `make crash-test`: many deliveries while orlojd is kill -9ed and restarted, to a TaskWebhook
// and then to an InboundWebhook; fails (exit 1) if an acknowledged event has no run task or
// document, or any event wrote twice.
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
let failed = false;
for (const receiver of ['task-webhook', 'inbound-webhook'] as const) {
  const t0 = Date.now();
  console.log(`crash test (${receiver}): ${opts.deliveries} deliveries, ${opts.kills} kills, ${opts.concurrency} concurrent senders`);
  const r = await runCrashScenario({ ...opts, receiver, log: (l) => console.log(`  ${l}`) });
  const ok = r.missing.length === 0 && r.doubled.length === 0 && r.acked === opts.deliveries;
  failed ||= !ok;
  const some = (ids: string[]): string => `${ids.length}${ids.length ? ` (${ids.slice(0, 10).join(', ')}${ids.length > 10 ? ', …' : ''})` : ''}`;
  console.log(
    [
      `acked:    ${r.acked}`,
      `kills:    ${r.kills}`,
      `retries:  ${r.retries}`,
      `written:  ${r.tasks} ${receiver === 'task-webhook' ? 'run tasks' : 'document versions'}`,
      `missing:  ${some(r.missing)}`,
      `doubled:  ${some(r.doubled)}`,
      `time:     ${((Date.now() - t0) / 1000).toFixed(1)} s`,
      ok ? 'PASS' : 'FAIL',
    ].join('\n'),
  );
}
process.exit(failed ? 1 : 0);
