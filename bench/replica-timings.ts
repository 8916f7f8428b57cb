// How long what one replica wrote takes to take effect on the other, each from the answer of
// the write that caused it: a webhook applied on A taking deliveries on B, a task created on
// A reaching a watch on B, a rotation on A making the old endpoint 404 on B, and, after the
// leader is killed, a webhook applied on the survivor reaching Ready.
import { createHmac, randomUUID } from 'node:crypto';
import { SECRET } from './fixtures.js';
import { BENCH_TOKEN, type OrlojdTarget } from './targets.js';

export interface Timings {
  /** Milliseconds per sample, sorted. */
  applyToDeliveryMs: number[];
  watchMs: number[];
  rotationMs: number[];
  failoverReadyMs: number[];
}

const now = () => performance.now();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until<T>(fn: () => Promise<T | undefined>, limitMs = 30_000): Promise<T> {
  const end = now() + limitMs;
  for (;;) {
    const v = await fn().catch(() => undefined);
    if (v !== undefined) return v;
    if (now() > end) throw new Error('replica timing: condition not met within 30 s');
    await sleep(2);
  }
}

async function put(o: OrlojdTarget, plural: string, obj: { kind: string; metadata: { name: string; labels?: Record<string, string> }; spec: unknown }): Promise<void> {
  const res = await o.api('PUT', `/v1/${plural}/${obj.metadata.name}?namespace=default`, { apiVersion: 'orloj.dev/v1', ...obj });
  if (res.status !== 200 && res.status !== 201) throw new Error(`PUT ${plural}/${obj.metadata.name}: ${res.status}`);
}

function signed(body: string): Record<string, string> {
  const ts = String(Math.floor(Date.now() / 1000));
  return { 'content-type': 'application/json', 'x-event-id': `timing-${randomUUID()}`, 'x-timestamp': ts, 'x-signature': `sha256=${createHmac('sha256', SECRET).update(`${ts}.${body}`).digest('hex')}` };
}

const webhook = (name: string) => ({ kind: 'TaskWebhook', metadata: { name }, spec: { task_ref: 'tpl', auth: { secret_ref: 's' } } });

async function endpointOf(o: OrlojdTarget, name: string): Promise<string | undefined> {
  const w = (await o.api<{ status?: { endpointPath?: string; conditions?: Array<{ type: string; status: string }> } }>('GET', `/v1/task-webhooks/${name}`)).body;
  return w.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ? w.status.endpointPath : undefined;
}

/** Applied on A: until B answers a signed delivery 202. */
async function applyToDelivery(a: OrlojdTarget, b: OrlojdTarget, i: number): Promise<number> {
  await put(a, 'task-webhooks', webhook(`timing-${i}`));
  const t0 = now();
  const body = JSON.stringify({ n: i });
  await until(async () => {
    const ep = await endpointOf(b, `timing-${i}`);
    if (!ep) return undefined;
    const res = await fetch(b.url + ep, { method: 'POST', headers: signed(body), body });
    await res.arrayBuffer();
    return res.status === 202 ? true : undefined;
  });
  return now() - t0;
}

/** Created on A: until B's watch shows it. */
async function watchDelay(a: OrlojdTarget, b: OrlojdTarget, i: number): Promise<number> {
  const ctl = new AbortController();
  const res = await fetch(`${b.url}/v1/tasks?watch=true&labelSelector=timing%3D${i}`, { headers: { authorization: `Bearer ${BENCH_TOKEN}` }, signal: ctl.signal });
  const reader = res.body!.getReader();
  let t0 = 0;
  const seen = (async () => {
    let text = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) throw new Error('watch ended');
      text += Buffer.from(value).toString();
      if (text.includes(`"timing-task-${i}"`)) return now();
    }
  })();
  await sleep(20);
  await put(a, 'tasks', { kind: 'Task', metadata: { name: `timing-task-${i}`, labels: { timing: String(i) } }, spec: { mode: 'run', input: {} } });
  t0 = now();
  const t1 = await seen;
  ctl.abort();
  return t1 - t0;
}

/** Rotated on A: until the old endpoint answers 404 on B. */
async function rotation(a: OrlojdTarget, b: OrlojdTarget, i: number): Promise<number> {
  const old = await until(() => endpointOf(b, `timing-${i}`));
  const res = await a.api('POST', `/v1/task-webhooks/timing-${i}/rotate-endpoint?namespace=default`);
  if (res.status !== 200) throw new Error(`rotate: ${res.status}`);
  const t0 = now();
  await until(async () => ((await fetch(b.url + old, { method: 'POST', headers: signed('{}'), body: '{}' })).status === 404 ? true : undefined));
  return now() - t0;
}

async function leaderOf(replicas: OrlojdTarget[]): Promise<number> {
  return until(async () => {
    for (const [i, o] of replicas.entries()) if (/^orloj_leader 1/m.test(await (await fetch(`${o.url}/metrics`)).text())) return i;
    return undefined;
  });
}

/**
 * `restart` brings a killed replica back (new process, same database). Each failover sample
 * kills the leader, applies a webhook on the other at once, and times it to Ready.
 */
export async function replicaTimings(replicas: [OrlojdTarget, OrlojdTarget], restart: (i: number) => Promise<void>, samples = 20, failovers = 3): Promise<Timings> {
  const [a, b] = replicas;
  const t: Timings = { applyToDeliveryMs: [], watchMs: [], rotationMs: [], failoverReadyMs: [] };
  for (let i = 0; i < samples; i++) {
    t.applyToDeliveryMs.push(await applyToDelivery(a, b, i));
    t.watchMs.push(await watchDelay(a, b, i));
    t.rotationMs.push(await rotation(a, b, i));
  }
  for (let k = 0; k < failovers; k++) {
    const leader = await leaderOf(replicas);
    const other = replicas[1 - leader]!;
    process.kill(replicas[leader]!.pid, 'SIGKILL');
    await put(other, 'task-webhooks', webhook(`failover-${k}`));
    const t0 = now();
    await until(() => endpointOf(other, `failover-${k}`));
    t.failoverReadyMs.push(now() - t0);
    await restart(leader);
  }
  for (const xs of Object.values(t)) xs.sort((x: number, y: number) => x - y);
  return t;
}
