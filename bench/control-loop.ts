// (f) How fast the control plane reacts, measured rather than asserted in tests: apply →
// Ready with an endpoint, a write → its watch event, and a removed Secret key → its
// signatures refused. Sequential, one at a time, on an otherwise idle orlojd.
import { getProfile, resolveOptions } from '../pkg/receiver/profiles/index.js';
import { secret, taskWebhook, templateTask } from '../test/helpers/fixtures.js';
import type { Ctx, Row } from './scenarios.js';
import { pct, type LoadResult } from './load.js';
import { BENCH_TOKEN, startOrlojd, type OrlojdTarget } from './targets.js';

interface WatchLine {
  type: string;
  object: { metadata: { name: string }; status?: { endpointPath?: string; conditions?: Array<{ type: string; status: string }> } };
}

/** A watch that resolves `until(predicate)` on the first event that matches it. */
async function watch(o: OrlojdTarget, plural: string) {
  const ctl = new AbortController();
  const res = await fetch(`${o.url}/v1/${plural}?watch=true&namespace=default`, { headers: { authorization: `Bearer ${BENCH_TOKEN}` }, signal: ctl.signal });
  let waiter: { test: (l: WatchLine) => boolean; done: () => void } | undefined;
  void (async () => {
    let buf = '';
    try {
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        buf += Buffer.from(chunk).toString();
        for (let i; (i = buf.indexOf('\n')) >= 0; buf = buf.slice(i + 1)) {
          const line = buf.slice(0, i).trim();
          if (line && waiter?.test(JSON.parse(line) as WatchLine)) waiter.done();
        }
      }
    } catch {
      // closed
    }
  })();
  return {
    until: (test: (l: WatchLine) => boolean) => new Promise<void>((done) => (waiter = { test, done })),
    close: () => ctl.abort(),
  };
}

const ready = (l: WatchLine, name: string): boolean =>
  l.object.metadata.name === name && !!l.object.status?.endpointPath && !!l.object.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');

function row(id: string, scenario: string, ms: number[]): Row {
  const sorted = Float64Array.from(ms).sort();
  const load: LoadResult = {
    generator: 'sequential API client', requests: ms.length, rps: Number.NaN, p50Ms: pct(sorted, 50), p99Ms: pct(sorted, 99),
    non2xx: 0, errors: 0, byStatus: {}, created: 0, duplicates: 0, unanswered: [], generatorCores: 0,
  };
  return { id, scenario, load, serverCores: Number.NaN, otherCores: 0, serverCpuUsPerRequest: Number.NaN };
}

async function timeEach(n: number, fn: (i: number) => Promise<void>): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await fn(i);
    out.push(performance.now() - t0);
  }
  return out;
}

export async function controlLoop(ctx: Ctx): Promise<Row[]> {
  const o = await startOrlojd();
  const put = async (plural: string, obj: { metadata: { name: string } }): Promise<void> => {
    const r = await o.api('PUT', `/v1/${plural}/${obj.metadata.name}?namespace=default`, obj);
    if (r.status >= 300) throw new Error(`PUT ${plural}/${obj.metadata.name}: ${r.status}`);
  };
  try {
    const n = ctx.cfg.quick ? 10 : 50;
    await put('secrets', secret('s', { value: 'v' }));
    await put('tasks', templateTask('tpl'));
    const hooks = await watch(o, 'task-webhooks');
    const applyToReady = await timeEach(n, async (i) => {
      const seen = hooks.until((l) => ready(l, `e-${i}`));
      await put('task-webhooks', taskWebhook(`e-${i}`, { task_ref: 'tpl', auth: { secret_ref: 's' } }));
      await seen;
    });
    hooks.close();
    const tasks = await watch(o, 'tasks');
    const writeToEvent = await timeEach(n * 4, async (i) => {
      const seen = tasks.until((l) => l.type === 'ADDED' && l.object.metadata.name === `t-${i}`);
      await put('tasks', templateTask(`t-${i}`));
      await seen;
    });
    tasks.close();
    const generic = getProfile('generic')!;
    const opts = resolveOptions(generic, {});
    const ep = (await o.api<{ status: { endpointPath: string } }>('GET', '/v1/task-webhooks/e-0?namespace=default')).body.status.endpointPath;
    const status = async (key: string): Promise<number> => {
      const body = '{}';
      const h = generic.sign(Buffer.from(body), Buffer.from(key), opts, Date.now(), `k-${Math.random()}`);
      return (await fetch(o.url + ep, { method: 'POST', headers: { 'content-type': 'application/json', ...h }, body })).status;
    };
    const keyRemoved: number[] = [];
    for (let i = 0; i < (ctx.cfg.quick ? 5 : 20); i++) {
      await put('secrets', secret('s', { value: 'v', [`old${i}`]: `old-${i}` }));
      while ((await status(`old-${i}`)) !== 202);
      const t0 = performance.now();
      await put('secrets', secret('s', { value: 'v' }));
      while ((await status(`old-${i}`)) !== 401);
      keyRemoved.push(performance.now() - t0);
    }
    return [
      row('f-ready', '(f) apply → Ready with an endpoint, seen on a watch', applyToReady),
      row('f-watch', '(f) a write → its watch event', writeToEvent),
      row('f-secret', '(f) a Secret key removed → its signatures refused', keyRemoved),
    ];
  } finally {
    await o.stop();
    o.remove();
  }
}
