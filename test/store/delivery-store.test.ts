import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Resource, StoredResource, WatchEvent } from '../../pkg/api/types.js';
import { buildRunTask, runTaskTemplate } from '../../pkg/receiver/run-task.js';
import { openDatabase } from '../../pkg/store/sqlite/db.js';
import { SqliteDeliveryStore } from '../../pkg/store/sqlite/delivery-store.js';
import { SqliteResourceStore } from '../../pkg/store/sqlite/resource-store.js';
import type { TaskDeliveryResult } from '../../pkg/store/types.js';
import { eventually } from '../helpers/orlojd.js';

const DAY = 86_400_000;

const obj = (kind: string, name: string, spec: Record<string, unknown>): Resource => ({
  apiVersion: 'orloj.dev/v1',
  kind,
  metadata: { name, namespace: 'default' },
  spec,
});

/** The delivery store in-process: a real database file and the real writer thread. */
describe('SqliteDeliveryStore', function () {
  let dir: string;
  let store: SqliteResourceStore;
  let deliveries: SqliteDeliveryStore;
  let webhook: StoredResource;
  let template: StoredResource;

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'orloj-deliveries-'));
    store = new SqliteResourceStore(openDatabase(dir));
    deliveries = new SqliteDeliveryStore(store, dir);
    template = (await store.apply(obj('Task', 'tpl', { mode: 'template', input: { topic: 't' } }))).object;
    webhook = (await store.apply(obj('TaskWebhook', 'wh', { task_ref: 'tpl', payload: { mode: 'raw', input_key: 'webhook_payload' } }))).object;
  });
  afterEach(async () => {
    await deliveries.close();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  function deliver(eventId: string, nowMs = Date.now(), windowMs = DAY): Promise<TaskDeliveryResult> {
    const receivedAt = new Date(nowMs).toISOString();
    return deliveries.commitTaskDelivery({
      ownerUid: webhook.metadata.uid,
      eventId,
      windowMs,
      nowMs,
      task: buildRunTask(runTaskTemplate(webhook, template), { eventId, profile: 'generic', payload: '{}', receivedAt }),
      record: { ts: receivedAt, owner: 'TaskWebhook/default/wh', eventId, outcome: 'accepted', httpStatus: 202 },
    });
  }

  it('gives one task per event, even for copies committed in the same transaction', async () => {
    const results = await Promise.all(['a', 'b', 'a', 'c', 'a', 'b'].map((e) => deliver(e)));
    const accepted = results.filter((r) => r.outcome === 'accepted');
    expect(accepted).to.have.length(3);
    expect(results.filter((r) => r.outcome === 'duplicate')).to.have.length(3);
    const tasks = (await store.list('Task')).items.filter((t) => t.spec.mode === 'run');
    expect(tasks.map((t) => t.metadata.name).sort()).to.deep.equal(accepted.map((r) => (r as { task: string }).task).sort());
  });

  it('refuses a delivery that cannot be stored alone; the rest of its batch commits', async () => {
    const ok = ['p-1', 'p-2', 'p-3'].map((e) => deliver(e));
    // A record without a time breaks a NOT NULL constraint: the writer cannot store it.
    const bad = deliveries.commitTaskDelivery({
      ownerUid: webhook.metadata.uid, eventId: 'p-bad', windowMs: DAY, nowMs: Date.now(),
      task: buildRunTask(runTaskTemplate(webhook, template), { eventId: 'p-bad', profile: 'generic', payload: '{}', receivedAt: new Date().toISOString() }),
      record: { ts: null as unknown as string, owner: 'TaskWebhook/default/wh', eventId: 'p-bad', outcome: 'accepted' },
    });
    const [good, refused] = await Promise.all([Promise.all(ok), bad.then(() => 'stored', (e: Error) => e.message)]);
    expect(good.map((r) => r.outcome)).to.deep.equal(['accepted', 'accepted', 'accepted']);
    expect(refused).to.match(/NOT NULL/);
    const tasks = (await store.list('Task')).items.filter((t) => t.spec.mode === 'run');
    expect(tasks).to.have.length(3);
  });

  it('publishes every change once, in revision order, while API writes interleave with delivery commits', async () => {
    const seen: WatchEvent[] = [];
    const stop = store.watch({}, undefined, (e) => seen.push(e));
    const from = store.revision();
    const writes: Promise<unknown>[] = [];
    for (let i = 0; i < 300; i++) {
      writes.push(deliver(`e-${i}`));
      if (i % 15 === 0) writes.push(store.apply(obj('Task', `api-${i}`, { mode: 'run' })));
    }
    await Promise.all(writes);
    stop();
    const rvs = seen.map((e) => Number(e.object.metadata.resourceVersion));
    expect(rvs).to.have.length(320);
    expect(rvs.every((rv, i) => i === 0 || rv > rvs[i - 1]!)).to.equal(true);
    expect(String(rvs[rvs.length - 1])).to.equal(store.revision());
    // A watch resumed from before replays exactly what was published live.
    const replayed: number[] = [];
    store.watch({}, from, (e) => replayed.push(Number(e.object.metadata.resourceVersion)))();
    expect(replayed).to.deep.equal(rvs);
  });

  it('remembers a replayed event for the rest of its window; the writer decides the rest', async () => {
    const t0 = Date.now();
    const first = (await deliver('x', t0, 60_000)) as { task: string };
    // A new event is not cached: the first replay is answered by the writer.
    expect(deliveries.recentTask(webhook.metadata.uid, 'x', t0 + 1000)).to.equal(undefined);
    expect(await deliver('x', t0 + 1000, 60_000)).to.deep.equal({ outcome: 'duplicate', task: first.task });
    // The window is the original's, not the replay's.
    expect(deliveries.recentTask(webhook.metadata.uid, 'x', t0 + 59_000)).to.equal(first.task);
    expect(deliveries.recentTask(webhook.metadata.uid, 'x', t0 + 61_000)).to.equal(undefined);
    expect(deliveries.recentTask(webhook.metadata.uid, 'unseen', t0)).to.equal(undefined);
    const later = await deliver('x', t0 + 61_000, 60_000);
    expect(later).to.deep.include({ outcome: 'accepted' });
    expect((later as { task: string }).task).to.equal(`${first.task}-2`);
  });

  it('accepts an event again after its window even when its first task was deleted and its dedup entry pruned', async () => {
    const t0 = Date.now();
    const first = (await deliver('y', t0, 60_000)) as { task: string };
    await store.delete({ kind: 'Task', namespace: 'default', name: first.task });
    expect(await deliveries.prune(t0 + 61_000, 1000, 100)).to.be.above(0);
    // The name is free again, though its tombstone is still stored until compaction.
    const again = await deliver('y', t0 + 61_000, 60_000);
    expect(again).to.deep.equal({ outcome: 'accepted', task: first.task });
    expect((await store.get('Task', 'default', first.task))?.spec.input).to.include({ webhook_event_id: 'y' });
  });

  it('mirrors counters and the last delivery into the receiver status, notes included', async () => {
    await deliver('ok-1');
    await deliver('ok-1');
    const ts = new Date().toISOString();
    deliveries.note(webhook.metadata.uid, { ts, owner: 'TaskWebhook/default/wh', eventId: 'bad', outcome: 'rejected', reason: 'signature mismatch', httpStatus: 401 });
    const status = await eventually(async () => {
      const s = (await store.get('TaskWebhook', 'default', 'wh'))!.status;
      return s.rejectedCount === 1 ? s : undefined;
    });
    expect(status).to.include({ acceptedCount: 1, duplicateCount: 1, rejectedCount: 1, lastError: 'signature mismatch', lastEventID: 'ok-1' });
    expect(status.lastTriggeredTask).to.match(/^wh-[0-9a-f]{16}$/);
    const records = await deliveries.listDeliveries({ owner: 'TaskWebhook/default/wh' });
    expect(records.map((r) => r.outcome)).to.deep.equal(['rejected', 'duplicate', 'accepted']);
  });

  it('keeps the status of other fields: a reconciler and the counters own different parts', async () => {
    await store.updateStatus({ kind: 'TaskWebhook', namespace: 'default', name: 'wh' }, { phase: 'Ready', endpointID: 'abc' });
    await deliver('k');
    const s = await eventually(async () => {
      const st = (await store.get('TaskWebhook', 'default', 'wh'))!.status;
      return st.acceptedCount === 1 ? st : undefined;
    });
    expect(s).to.include({ phase: 'Ready', endpointID: 'abc', acceptedCount: 1 });
  });
});
