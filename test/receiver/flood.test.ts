// A flood of forged deliveries to one receiver: every refusal is counted, but its records
// stay bounded, so the flood leaves nothing lasting (disk, memory) and evicts nothing of
// another receiver's.
import { expect } from 'chai';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { join } from 'node:path';
import { eventually, Orlojd } from '../helpers/orlojd.js';
import { readyWebhook } from '../helpers/fixtures.js';
import { send } from '../helpers/deliveries.js';

const FLOOD = 20_000;
const FIRST = 1_000;
const CONCURRENCY = 32;
const MB = 1024 * 1024;

/** Posts `n` deliveries with a bad signature, `CONCURRENCY` at a time over kept-alive connections. */
async function forge(d: Orlojd, path: string, from: number, n: number): Promise<void> {
  const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY });
  const ts = String(Math.floor(Date.now() / 1000));
  const one = (i: number) =>
    new Promise<number>((resolve, reject) => {
      const body = `{"forged":${i}}`;
      const headers = { 'content-type': 'application/json', 'content-length': String(body.length), 'x-timestamp': ts, 'x-signature': `sha256=${'0'.repeat(64)}`, 'x-event-id': `forged-${i}` };
      const req = request({ host: '127.0.0.1', port: d.port, path, method: 'POST', agent, headers }, (res) => {
        res.resume();
        res.once('end', () => resolve(res.statusCode!));
      });
      req.once('error', reject);
      req.end(body);
    });
  let next = from;
  const refused: number[] = [];
  await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
    while (next < from + n) refused.push(await one(next++));
  }));
  agent.destroy();
  expect(refused.filter((s) => s !== 401), 'answers other than 401').to.deep.equal([]);
}

const rssMb = (pid: number): number => Number(/^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) / 1024;

describe('a flood of forged deliveries', function () {
  this.timeout(300_000);
  let d: Orlojd;
  before(async () => {
    // A global retention the flood alone would exceed, were its records not bounded per receiver.
    d = await Orlojd.start({ args: ['--delivery-retention', '5000'] });
  });
  after(async () => d?.destroy());

  const size = (f: string): number => (existsSync(join(d.dataDir, f)) ? statSync(join(d.dataDir, f)).size : 0);
  const files = () => ({ db: size('orloj.db'), wal: size('orloj.db-wal') });
  const rejectedOf = async (name: string) => (await d.api('GET', `/v1/task-webhooks/${name}`)).body.status.rejectedCount as number;
  const recordsOf = async (query: string) => (await d.api('GET', `/v1/deliveries?${query}&limit=1000`)).body.items as Array<{ id: number; eventId: string; outcome: string }>;

  it('counts every refusal, keeps the newest 1,000 records, and leaves no lasting cost or eviction', async () => {
    const flooded = await readyWebhook(d, 'flooded', 'flood-secret');
    const other = await readyWebhook(d, 'other', 'other-secret');
    for (let i = 0; i < 10; i++) expect((await send(d, other, { secret: 'other-secret', body: `{"i":${i}}`, eventId: `o-${i}` })).status).to.equal(202);
    for (let i = 0; i < 2; i++) expect((await send(d, other, { secret: 'wrong', body: '{}', eventId: `o-bad-${i}` })).status).to.equal(401);
    await eventually(async () => (await rejectedOf('other')) === 2);
    const rss0 = rssMb(d.proc.pid!);

    await forge(d, flooded, 0, FIRST);
    await eventually(async () => (await rejectedOf('flooded')) === FIRST, 20_000);
    const after1 = files();
    await forge(d, flooded, FIRST, FLOOD - FIRST);
    await eventually(async () => (await rejectedOf('flooded')) === FLOOD, 30_000);

    // Nothing lasting, with the daemon left to itself: the WAL is truncated once writes stop,
    // and V8 gives back the young generation the flood grew at its next scavenge, which an idle
    // daemon reaches only after a minute or so (reads now would delay it: V8 shrinks it only
    // while allocation is slow).
    await eventually(async () => {
      const now = files();
      return now.db - after1.db < MB && now.db + now.wal - (after1.db + after1.wal) < MB && rssMb(d.proc.pid!) - rss0 < 20;
    }, 200_000, 1000);

    const others = await recordsOf('owner=task-webhook/other');
    expect(others.map((r) => r.eventId).sort()).to.deep.equal([...Array.from({ length: 10 }, (_, i) => `o-${i}`), 'o-bad-0', 'o-bad-1'].sort());

    const kept = await recordsOf('owner=task-webhook/flooded');
    expect(kept).to.have.length(1000);
    expect(kept.every((r) => r.outcome === 'rejected')).to.equal(true);
    expect(await recordsOf(`owner=task-webhook/flooded&before=${kept[kept.length - 1]!.id}`)).to.deep.equal([]);
    const metrics = (await d.api('GET', '/metrics')).text;
    expect(Number(/orloj_webhook_deliveries_total\{kind="TaskWebhook",outcome="rejected"\} (\d+)/.exec(metrics)?.[1])).to.equal(FLOOD + 2);
    expect(await rejectedOf('other')).to.equal(2);
  });
});
