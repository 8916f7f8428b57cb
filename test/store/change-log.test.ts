import { expect } from 'chai';
import { openStore } from '../../pkg/store/factory.js';
import { loadKeys } from '../../pkg/store/keys.js';
import type { ChangeEntry } from '../../pkg/store/types.js';
import { send } from '../helpers/deliveries.js';
import { eventually, Orlojd } from '../helpers/orlojd.js';
import { put, readyWebhook, templateTask } from '../helpers/fixtures.js';

interface Line {
  type: string;
  object: { kind: string; metadata: { name: string; resourceVersion: string } };
}

/** Follows a watch over HTTP, collecting its events. */
async function follow(d: Orlojd, plural: string, rv: string) {
  const ctl = new AbortController();
  const res = await fetch(`${d.url}/v1/${plural}?watch=true&resourceVersion=${rv}`, { headers: { authorization: `Bearer ${d.token}` }, signal: ctl.signal });
  const lines: Line[] = [];
  void (async () => {
    let buf = '';
    try {
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        buf += Buffer.from(chunk).toString();
        for (let i; (i = buf.indexOf('\n')) >= 0; buf = buf.slice(i + 1)) if (buf.slice(0, i).trim()) lines.push(JSON.parse(buf.slice(0, i)) as Line);
      }
    } catch {
      // aborted
    }
  })();
  return { lines, close: () => ctl.abort() };
}

describe('store: the change log after kill -9', function () {
  this.timeout(60_000);
  let d: Orlojd;
  before(async () => {
    d = await Orlojd.start();
  });
  after(async () => d.destroy());

  it('holds every mutation, gapless and in revision order, as watchers saw them live', async () => {
    const start = (await d.api('GET', '/v1/tasks')).body.metadata.resourceVersion as string;
    const tasks = await follow(d, 'tasks', start);
    const hooks = await follow(d, 'task-webhooks', start);
    const ep = await readyWebhook(d, 'logged', 'log-secret');
    const sent = await Promise.all(Array.from({ length: 30 }, (_, i) => send(d, ep, { secret: 'log-secret', body: `{"i":${i}}`, eventId: `l-${i}` })));
    expect(sent.every((r) => r.status === 202)).to.equal(true);
    await put(d, templateTask('short-lived'));
    expect((await d.api('DELETE', '/v1/tasks/short-lived')).status).to.equal(200);
    await put(d, templateTask('short-lived'));
    await eventually(async () => hooks.lines.some((l) => (l.object as { status?: { acceptedCount?: number } } & Line['object']).status?.acceptedCount === 30));
    await eventually(async () => tasks.lines.length >= 30 + 3);
    tasks.close();
    hooks.close();
    await d.kill9();

    const store = await openStore({ storage: 'sqlite', dataDir: d.dataDir, keys: loadKeys(d.dataDir).keys });
    let log: ChangeEntry[];
    try {
      log = await store.control.changes(Number(start), 100_000);
    } finally {
      await store.close();
    }
    const revs = log.map((c) => c.revision);
    expect(revs[0]).to.equal(Number(start) + 1);
    expect(revs.every((r, i) => i === 0 || r === revs[i - 1]! + 1)).to.equal(true);
    expect(new Set(log.map((c) => c.origin))).to.deep.equal(new Set(['api', 'reconciler', 'delivery']));
    // Every change a watcher was shown live is in the log, with its revision, key and type.
    const byRev = new Map(log.map((c) => [c.revision, c]));
    for (const l of [...tasks.lines, ...hooks.lines]) {
      const c = byRev.get(Number(l.object.metadata.resourceVersion));
      expect(c, `revision ${l.object.metadata.resourceVersion}`).to.not.equal(undefined);
      expect(`${c!.type}:${c!.key.kind}/${c!.key.name}`).to.equal(`${l.type}:${l.object.kind}/${l.object.metadata.name}`);
    }
    expect(log.filter((c) => c.key.name === 'short-lived').map((c) => c.type)).to.deep.equal(['ADDED', 'MODIFIED', 'DELETED', 'ADDED', 'MODIFIED']);

    // After the restart, a watch resumed from the start replays the same tasks in the same order.
    await d.restart();
    const replay = await follow(d, 'tasks', start);
    await eventually(async () => replay.lines.length >= 31);
    replay.close();
    const live = tasks.lines.filter((l) => l.object.metadata.name !== 'short-lived' && l.type === 'ADDED').map((l) => l.object.metadata.name);
    const again = replay.lines.filter((l) => l.object.metadata.name !== 'short-lived').map((l) => l.object.metadata.name);
    expect(again.slice(0, live.length)).to.include.members(live);
  });
});
