import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { openStore } from '../../pkg/store/factory.js';
import { loadKeys } from '../../pkg/store/keys.js';
import { Objects } from '../../pkg/store/objects.js';
import { KeySet } from '../../pkg/store/sealing.js';
import type { Store } from '../../pkg/store/types.js';
import type { StoredResource, WatchEvent } from '../../pkg/api/types.js';
import { eventually, Orlojd } from '../helpers/orlojd.js';
import { put, readyOf, secret, taskWebhook, templateTask } from '../helpers/fixtures.js';
import { send } from '../helpers/deliveries.js';
import { dropDatabase, freshDatabase } from '../helpers/postgres.js';

const SECRET = 'history-secret';
const BODY = { event: 'report.trigger' };

type Task = { metadata: { name: string; uid: string; ownerReferences?: unknown[] }; status: Record<string, unknown> };

describe('run task history: owner references, history_limit, ttl_seconds_after_finished, ?cascade', function () {
  this.timeout(60_000);
  let d: Orlojd;
  before(async () => {
    d = await Orlojd.start();
    await put(d, secret('shared', { value: SECRET }));
    await put(d, templateTask('tpl'));
  });
  after(async () => d?.destroy());

  /** Applies a webhook and waits until it is Ready; returns it. */
  async function webhook(name: string, spec: Record<string, unknown> = {}) {
    await put(d, taskWebhook(name, { task_ref: 'tpl', auth: { secret_ref: 'shared' }, ...spec }));
    return eventually(async () => {
      const o = (await d.api('GET', `/v1/task-webhooks/${name}`)).body;
      return o.status?.endpointPath && readyOf(o)?.status === 'True' ? o : undefined;
    });
  }
  /** Sends `n` signed deliveries with new event ids, one after another; returns the tasks they made, oldest first. */
  async function deliver(ep: string, n: number, prefix: string): Promise<string[]> {
    const names: string[] = [];
    for (let i = 0; i < n; i++) {
      // A distinct body each: the same body signed in the same second is the same delivery.
      const res = await send(d, ep, { secret: SECRET, body: JSON.stringify({ ...BODY, n: `${prefix}-${i}` }), eventId: `${prefix}-${i}` });
      expect(res.status, res.text).to.equal(202);
      expect(res.body.duplicate, res.text).to.equal(false);
      names.push(res.body.task as string);
    }
    return names;
  }
  const tasksOf = async (name: string): Promise<Task[]> => {
    const r = await d.api('GET', `/v1/tasks?labelSelector=${encodeURIComponent(`orloj.dev/task-webhook=${name}`)}`);
    expect(r.status, r.text).to.equal(200);
    return r.body.items as Task[];
  };
  const namesOf = async (name: string): Promise<string[]> => (await tasksOf(name)).map((t) => t.metadata.name).sort();
  const taskStatus = async (name: string) => (await d.api('GET', `/v1/tasks/${name}`)).status;
  const finish = async (task: string, status: Record<string, unknown>) => {
    const r = await d.api('PUT', `/v1/tasks/${task}/status`, { status });
    expect(r.status, r.text).to.equal(200);
  };

  it('a run task names its webhook as its owner, and keeps it through an apply and a status write', async () => {
    const w = await webhook('owned');
    const [task] = await deliver(w.status.endpointPath, 1, 'own');
    const want = [{ apiVersion: 'orloj.dev/v1', kind: 'TaskWebhook', name: 'owned', uid: w.metadata.uid, controller: true }];
    const created = (await d.api('GET', `/v1/tasks/${task}`)).body as Task & { spec: Record<string, unknown>; metadata: { labels: Record<string, string> } };
    expect(created.metadata.ownerReferences).to.deep.equal(want);
    // An apply cannot drop or change what the server set.
    const applied = await d.api('PUT', `/v1/tasks/${task}`, { kind: 'Task', metadata: { name: task, labels: { ...created.metadata.labels, extra: 'yes' }, ownerReferences: [] }, spec: created.spec });
    expect(applied.status, applied.text).to.equal(200);
    expect(applied.body.metadata.ownerReferences).to.deep.equal(want);
    await finish(task!, { phase: 'Running' });
    expect((await d.api('GET', `/v1/tasks/${task}`)).body.metadata.ownerReferences).to.deep.equal(want);
    expect((await d.api('GET', '/v1/task-webhooks/owned')).body.spec.history_limit).to.equal(1000);
  });

  it('history_limit: 5 keeps exactly the newest 5 of 20 run tasks (acceptance 6), and goes on keeping the newest', async () => {
    const w = await webhook('bounded', { history_limit: 5 });
    const made = await deliver(w.status.endpointPath, 20, 'b');
    expect(new Set(made).size).to.equal(20);
    const newest = made.slice(-5).sort();
    await eventually(async () => JSON.stringify(await namesOf('bounded')) === JSON.stringify(newest), 10_000);
    const [next] = await deliver(w.status.endpointPath, 1, 'b-more');
    const after = [...made.slice(-4), next!].sort();
    await eventually(async () => JSON.stringify(await namesOf('bounded')) === JSON.stringify(after), 10_000);
    // The tasks that went were deleted by name, not the webhook: it still accepts.
    expect((await d.api('GET', '/v1/task-webhooks/bounded')).status).to.equal(200);
  });

  it('a lowered history_limit trims at once, without a delivery', async () => {
    const w = await webhook('lowered', { history_limit: 10 });
    const made = await deliver(w.status.endpointPath, 4, 'l');
    await webhook('lowered', { history_limit: 2 });
    const newest = made.slice(-2).sort();
    await eventually(async () => JSON.stringify(await namesOf('lowered')) === JSON.stringify(newest), 10_000);
  });

  it('ttl_seconds_after_finished deletes a finished run task that long after completedAt and keeps the unfinished ones', async () => {
    const TTL_MS = 2000;
    const w = await webhook('ttl', { ttl_seconds_after_finished: TTL_MS / 1000 });
    const [done, failedLongAgo, running, noCompletion, pending] = await deliver(w.status.endpointPath, 5, 't');
    const finishedAt = Date.now();
    await finish(done!, { phase: 'Succeeded', completedAt: new Date(finishedAt).toISOString() });
    await finish(failedLongAgo!, { phase: 'Failed', completedAt: new Date(finishedAt - 3600_000).toISOString() });
    await finish(running!, { phase: 'Running', startedAt: new Date(finishedAt).toISOString() });
    await finish(noCompletion!, { phase: 'Succeeded' });
    // Past its TTL already: it goes first.
    await eventually(async () => (await taskStatus(failedLongAgo!)) === 404, 10_000);
    const early = await taskStatus(done!);
    if (Date.now() < finishedAt + TTL_MS) expect(early, 'deleted before its TTL ran out').to.equal(200);
    await eventually(async () => (await taskStatus(done!)) === 404, 10_000);
    expect(await namesOf('ttl')).to.deep.equal([running!, noCompletion!, pending!].sort());
  });

  it('DELETE ?cascade=true deletes the webhook\'s run tasks; without it they stay; an earlier webhook\'s stay too', async () => {
    const kept = await webhook('keeps');
    const left = await deliver(kept.status.endpointPath, 3, 'k');
    const plain = await d.api('DELETE', '/v1/task-webhooks/keeps');
    expect(plain.status, plain.text).to.equal(200);
    expect(await namesOf('keeps')).to.deep.equal([...left].sort());

    // The same name again: its own tasks go with it, those of the one before (another uid) stay.
    const again = await webhook('keeps');
    expect(again.metadata.uid).not.to.equal(kept.metadata.uid);
    const own = await deliver(again.status.endpointPath, 2, 'k2');
    expect(await namesOf('keeps')).to.have.length(5);
    const cascaded = await d.api('DELETE', '/v1/task-webhooks/keeps?cascade=true');
    expect(cascaded.status, cascaded.text).to.equal(200);
    expect(cascaded.body.metadata.uid).to.equal(again.metadata.uid);
    expect(await namesOf('keeps')).to.deep.equal([...left].sort());
    for (const t of own) expect(await taskStatus(t)).to.equal(404);
  });

  it('DELETE ?cascade=true goes through many run tasks in pages', async () => {
    const w = await webhook('many', { history_limit: 1000 });
    await Promise.all(Array.from({ length: 5 }, (_, i) => deliver(w.status.endpointPath, 50, `m${i}`)));
    expect(await tasksOf('many')).to.have.length(250);
    const r = await d.api('DELETE', '/v1/task-webhooks/many?cascade=true');
    expect(r.status, r.text).to.equal(200);
    expect(await tasksOf('many')).to.have.length(0);
  });

  it('refuses a negative history_limit and ttl_seconds_after_finished', async () => {
    for (const spec of [{ history_limit: -1 }, { ttl_seconds_after_finished: -1 }, { history_limit: 1.5 }]) {
      const r = await d.api('PUT', '/v1/task-webhooks/bad', taskWebhook('bad', { task_ref: 'tpl', auth: { secret_ref: 'shared' }, ...spec }));
      expect(r.status, JSON.stringify(spec)).to.equal(422);
    }
  });
});

interface Driver {
  open(): Promise<Store>;
  reopen(old: Store): Promise<Store>;
  cleanup(): Promise<void>;
}

/** metadata.ownerReferences through every write and read path of a driver. */
function ownerRoundTrip(name: string, driver: Driver) {
  describe(`store (${name}): metadata.ownerReferences round-trips`, function () {
    this.timeout(60_000);
    let store: Store | undefined;
    before(async () => {
      store = await driver.open();
    });
    after(async () => {
      await store?.close();
      await driver.cleanup();
    });

    const owners = [{ apiVersion: 'orloj.dev/v1', kind: 'TaskWebhook', name: 'hook', uid: 'owner-uid-1', controller: true }];
    const task = (n: string): StoredResource => ({
      apiVersion: 'orloj.dev/v1',
      kind: 'Task',
      metadata: { name: n, namespace: 'default', uid: `uid-${n}`, resourceVersion: '0', generation: 1, creationTimestamp: '2024-01-01T00:00:00Z', labels: { a: 'b' }, ownerReferences: owners },
      spec: { mode: 'run' },
      status: {},
    });

    it('on create (one and many at once), get, list, status, apply, delete, a replayed watch and a reopen', async () => {
      const s = store!;
      const objects = new Objects(s);
      const seen: WatchEvent[] = [];
      const off = await s.control.watch({ kind: 'Task' }, undefined, (e) => seen.push(e));
      const first = await s.commit({ origin: 'delivery', ops: [{ op: 'create', object: task('t0') }] });
      const since = Number(!first.held && first.writes[0]!.resourceVersion) - 1;
      // Concurrent units of free-name creates (as deliveries make them): a driver may insert them in one statement.
      await Promise.all(Array.from({ length: 5 }, (_, i) => s.commit({ origin: 'delivery', ops: [{ op: 'create', object: task(`t${i + 1}`), uniqueName: true }] })));
      expect((await objects.get('Task', 'default', 't0'))!.metadata.ownerReferences).to.deep.equal(owners);
      const listed = await objects.list('Task', { namespace: 'default', labelSelector: [{ key: 'a', op: 'in', values: ['b'] }] });
      expect(listed.items).to.have.length(6);
      for (const t of listed.items) expect(t.metadata.ownerReferences, t.metadata.name).to.deep.equal(owners);
      const st = await s.commit({ origin: 'api', ops: [{ op: 'status', key: { kind: 'Task', namespace: 'default', name: 't1' }, status: { phase: 'Running' } }] });
      expect(!st.held && (st.writes[0] as { object: StoredResource }).object.metadata.ownerReferences).to.deep.equal(owners);
      const applied = await objects.apply({ apiVersion: 'orloj.dev/v1', kind: 'Task', metadata: { name: 't2', namespace: 'default', labels: { a: 'b', c: 'd' } }, spec: { mode: 'run', x: 1 } });
      expect(applied.outcome).to.equal('configured');
      expect((await objects.get('Task', 'default', 't2'))!.metadata.ownerReferences).to.deep.equal(owners);
      const gone = await objects.delete({ kind: 'Task', namespace: 'default', name: 't3' });
      expect(gone.metadata.ownerReferences).to.deep.equal(owners);
      await eventually(async () => seen.length >= 9);
      off();
      for (const e of seen.filter((x) => x.type !== 'DELETED')) expect(e.object.metadata.ownerReferences, `${e.type} ${e.key.name}`).to.deep.equal(owners);
      const replayed: WatchEvent[] = [];
      const stop = await s.control.watch({ kind: 'Task' }, String(since), (e) => replayed.push(e));
      await eventually(async () => replayed.length >= 5);
      stop();
      for (const e of replayed.filter((x) => x.type !== 'DELETED')) expect(e.object.metadata.ownerReferences, `replayed ${e.key.name}`).to.deep.equal(owners);
      store = await driver.reopen(s);
      const again = new Objects(store);
      expect((await again.get('Task', 'default', 't4'))!.metadata.ownerReferences).to.deep.equal(owners);
      // An object without owners has none, not an empty list.
      await again.apply({ apiVersion: 'orloj.dev/v1', kind: 'Task', metadata: { name: 'plain', namespace: 'default' }, spec: {} });
      expect((await again.get('Task', 'default', 'plain'))!.metadata).not.to.have.property('ownerReferences');
    });
  });
}

let sqliteDir = '';
ownerRoundTrip('sqlite', {
  async open() {
    sqliteDir = mkdtempSync(join(tmpdir(), 'orloj-owners-'));
    return openStore({ storage: 'sqlite', dataDir: sqliteDir, keys: loadKeys(sqliteDir).keys });
  },
  async reopen(old) {
    await old.close();
    return openStore({ storage: 'sqlite', dataDir: sqliteDir, keys: loadKeys(sqliteDir).keys });
  },
  async cleanup() {
    rmSync(sqliteDir, { recursive: true, force: true });
  },
});

let pgUrl = '';
const pgKeys = new KeySet([{ id: 'test', key: randomBytes(32) }]);
ownerRoundTrip('postgres', {
  async open() {
    pgUrl = await freshDatabase('owners');
    return openStore({ storage: 'postgres', dataDir: '', postgresUrl: pgUrl, keys: pgKeys });
  },
  async reopen(old) {
    await old.close();
    return openStore({ storage: 'postgres', dataDir: '', postgresUrl: pgUrl, keys: pgKeys });
  },
  async cleanup() {
    if (pgUrl) await dropDatabase(pgUrl);
  },
});
