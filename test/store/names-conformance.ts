// Conformance for what run-task history needs of a store: owner references kept on every path,
// name-range counts and scans that read no spec, and deletes of many objects in one op.
import { expect } from 'chai';
import type { ObjectKey, StoredResource, WatchEvent } from '../../pkg/api/types.js';
import { draft, Objects } from '../../pkg/store/objects.js';
import type { NameRange, Op, Store, WriteResult } from '../../pkg/store/types.js';
import { eventually } from '../helpers/orlojd.js';
import { has, type Driver } from './conformance.js';

const owners = [{ apiVersion: 'orloj.dev/v1', kind: 'TaskWebhook', name: 'hook', uid: 'owner-uid-1', controller: true }];

/** A task as a delivery makes it: labels, an owner, a spec with a payload. */
function task(name: string, namespace = 'default', labels: Record<string, string> = { hook: 'h' }): StoredResource {
  const o = draft({ apiVersion: 'orloj.dev/v1', kind: 'Task', metadata: { name, labels }, spec: { mode: 'run', input: { payload: 'x'.repeat(200) } } }, namespace);
  return { ...o, metadata: { ...o.metadata, ownerReferences: owners } };
}

const range = (after: string, before: string, namespace = 'default'): NameRange => ({ kind: 'Task', namespace, after, before });
const key = (name: string): ObjectKey => ({ kind: 'Task', namespace: 'default', name });

export function runNamesConformance(name: string, driver: Driver): void {
  const storeRevs = has(driver, 'storeRevisions');
  describe(`${name} store conformance: owner references, name ranges, deleteMany`, function () {
    this.timeout(60_000);
    let store: Store;
    let objects: Objects;
    const commit = (...ops: Op[]) => store.commit({ origin: 'system', ops });
    /** Creates tasks `p-000` .. in one unit each (as deliveries do); returns them. */
    const many = async (prefix: string, n: number, namespace = 'default'): Promise<StoredResource[]> => {
      const drafts = Array.from({ length: n }, (_, i) => task(`${prefix}-${String(i).padStart(3, '0')}`, namespace));
      const results = await Promise.all(drafts.map((o) => store.commit({ origin: 'delivery', ops: [{ op: 'create', object: o, uniqueName: true }] })));
      // As stored: a store may give objects their uids (a Kubernetes API server does).
      return results.map((r, i) => (r.held ? undefined : (r.writes[0] as WriteResult | undefined)?.object) ?? drafts[i]!);
    };
    beforeEach(async () => {
      store = await driver.open();
      objects = new Objects(store);
      await objects.apply({ apiVersion: 'orloj.dev/v1', kind: 'Namespace', metadata: { name: 'other' }, spec: {} });
    });
    afterEach(async () => {
      await store.close();
      await driver.cleanup();
    });

    it('keeps metadata.ownerReferences on create (one and many at once), get, list, status, apply, a replayed watch and a reopen', async () => {
      const first = await commit({ op: 'create', object: task('t0') });
      const since = Number(!first.held && first.writes[0]!.resourceVersion) - 1;
      await many('t', 5);
      expect((await objects.get('Task', 'default', 't0'))!.metadata.ownerReferences).to.deep.equal(owners);
      const listed = await objects.list('Task', { namespace: 'default', labelSelector: [{ key: 'hook', op: 'in', values: ['h'] }] });
      expect(listed.items).to.have.length(6);
      for (const t of listed.items) expect(t.metadata.ownerReferences, t.metadata.name).to.deep.equal(owners);
      const st = await commit({ op: 'status', key: key('t-001'), status: { phase: 'Running' } });
      expect(!st.held && (st.writes[0] as { object: StoredResource }).object.metadata.ownerReferences).to.deep.equal(owners);
      // An apply changes labels and spec; the owners the server set stay.
      const applied = await objects.apply({ apiVersion: 'orloj.dev/v1', kind: 'Task', metadata: { name: 't-002', namespace: 'default', labels: { c: 'd' } }, spec: { mode: 'run' } });
      expect(applied.outcome).to.equal('configured');
      expect((await objects.get('Task', 'default', 't-002'))!.metadata.ownerReferences).to.deep.equal(owners);
      const replayed: WatchEvent[] = [];
      const stop = await store.control.watch({ kind: 'Task' }, String(since), (e) => replayed.push(e));
      await eventually(async () => replayed.length >= 6);
      stop();
      for (const e of replayed) expect(e.object.metadata.ownerReferences, `replayed ${e.key.name}`).to.deep.equal(owners);
      store = await driver.reopen(store);
      objects = new Objects(store);
      expect((await objects.get('Task', 'default', 't-004'))!.metadata.ownerReferences).to.deep.equal(owners);
      // An object without owners has none, not an empty list.
      await objects.apply({ apiVersion: 'orloj.dev/v1', kind: 'Task', metadata: { name: 'plain', namespace: 'default' }, spec: {} });
      expect((await objects.get('Task', 'default', 'plain'))!.metadata).not.to.have.property('ownerReferences');
    });

    it('counts and scans a name range of one kind and namespace in name order, bounds excluded, status only when asked', async () => {
      await many('r', 12);
      await many('r', 3, 'other');
      await many('s', 2);
      await objects.apply({ apiVersion: 'orloj.dev/v1', kind: 'Secret', metadata: { name: 'r-005x', namespace: 'default' }, spec: { data: {} } });
      expect(await store.control.countNames(range('r-', 'r.'))).to.equal(12);
      expect(await store.control.countNames(range('r-003', 'r-008'))).to.equal(4);
      expect(await store.control.countNames(range('r-', 'r.', 'other'))).to.equal(3);
      expect(await store.control.countNames(range('q', 'r'))).to.equal(0);
      const first = await store.control.scanNames(range('r-', 'r.'), 5);
      expect(first.map((t) => t.name)).to.deep.equal(['r-000', 'r-001', 'r-002', 'r-003', 'r-004']);
      expect(first[0]).to.have.all.keys('name', 'uid', 'labels', 'ownerReferences');
      expect(first[0]!.labels).to.deep.equal({ hook: 'h' });
      expect(first[0]!.ownerReferences).to.deep.equal(owners);
      const rest = await store.control.scanNames(range('r-004', 'r.'), 100, { status: true });
      expect(rest.map((t) => t.name)).to.deep.equal(['r-005', 'r-006', 'r-007', 'r-008', 'r-009', 'r-010', 'r-011']);
      expect(rest[0]!.status).to.deep.equal({});
      const uid = (await objects.get('Task', 'default', 'r-005'))!.metadata.uid;
      expect(rest[0]!.uid).to.equal(uid);
    });

    it('deletes many objects in one op: those there with their uid, each at a revision of its own, seen by watchers in order', async () => {
      const made = await many('d', 6);
      const uids = made.map((o) => o.metadata.uid);
      const live: WatchEvent[] = [];
      const stopLive = await store.control.watch({ kind: 'Task' }, undefined, (e) => live.push(e));
      const since = (await store.control.list('Task', { limit: 1 })).resourceVersion;
      const r = await commit(
        {
          op: 'deleteMany', kind: 'Task', namespace: 'default',
          objects: [
            { name: 'd-004', uid: uids[4]! }, { name: 'd-001', uid: uids[1]! },
            { name: 'd-002', uid: 'another-uid' }, { name: 'gone', uid: 'x' }, { name: 'd-001', uid: uids[1]! },
          ],
        },
        { op: 'create', object: task('after-delete') },
      );
      expect(r.held).to.equal(false);
      expect(!r.held && r.deleted).to.deep.equal(['d-004', 'd-001']);
      expect((await objects.list('Task', { namespace: 'default' })).items.map((t) => t.metadata.name)).to.deep.equal(['after-delete', 'd-000', 'd-002', 'd-003', 'd-005']);
      // The label index no longer names them; the names are free again.
      const labelled = await objects.list('Task', { namespace: 'default', labelSelector: [{ key: 'hook', op: 'in', values: ['h'] }] });
      expect(labelled.items.map((t) => t.metadata.name)).to.not.include.members(['d-001', 'd-004']);
      await commit({ op: 'create', object: task('d-001') });
      await eventually(async () => live.length >= 4);
      stopLive();
      expect(live.slice(0, 3).map((e) => `${e.type}:${e.key.name}:${e.origin}`)).to.deep.equal(['DELETED:d-004:system', 'DELETED:d-001:system', 'ADDED:after-delete:system']);
      expect(live.map((e) => e.revision)).to.deep.equal([...live.map((e) => e.revision)].sort((x, y) => x - y));
      if (storeRevs) expect(live[1]!.revision).to.equal(live[0]!.revision + 1);
      // A deletion shows the object's identity and labels, as a replayed one does.
      expect(live[0]!.object.metadata).to.include({ name: 'd-004', namespace: 'default', uid: uids[4] });
      expect(live[0]!.object.metadata.labels).to.deep.equal({ hook: 'h' });
      const replayed: WatchEvent[] = [];
      const stop = await store.control.watch({ kind: 'Task' }, since, (e) => replayed.push(e));
      stop();
      expect(replayed.slice(0, 2).map((e) => `${e.type}:${e.key.name}:${e.object.metadata.uid}`)).to.deep.equal([`DELETED:d-004:${uids[4]}`, `DELETED:d-001:${uids[1]}`]);
      if (storeRevs) {
        const changes = await store.control.changes(Number(since), 10);
        expect(changes.slice(0, 2).map((c) => `${c.type}:${c.key.name}:${c.origin}`)).to.deep.equal(['DELETED:d-004:system', 'DELETED:d-001:system']);
      }
      // Nothing to delete is no error.
      const none = await commit({ op: 'deleteMany', kind: 'Task', namespace: 'default', objects: [] }, { op: 'deleteMany', kind: 'Task', namespace: 'other', objects: [{ name: 'd-000', uid: uids[0]! }] });
      expect(!none.held && none.deleted).to.equal(undefined);
      expect(await objects.get('Task', 'default', 'd-000')).to.not.equal(undefined);
    });

    it('deletes hundreds of objects in one unit', async () => {
      const made = await many('b', 600);
      const r = await commit({ op: 'deleteMany', kind: 'Task', namespace: 'default', objects: made.slice(0, 550).map((o) => ({ name: o.metadata.name, uid: o.metadata.uid })) });
      expect(!r.held && r.deleted).to.have.length(550);
      expect(await store.control.countNames(range('b-', 'b.'))).to.equal(50);
      expect((await store.control.scanNames(range('b-', 'b.'), 1))[0]!.name).to.equal('b-550');
    });
  });
}
