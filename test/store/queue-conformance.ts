// Conformance for queued messages, cursors and change-log images: every driver runs it.
import { expect } from 'chai';
import type { StoredResource } from '../../pkg/api/types.js';
import type { CollectionRef, DueQuery, Op, QueuedMessage, Store, StoredDocument } from '../../pkg/store/types.js';
import { itIf, type Driver } from './conformance.js';

const col: CollectionRef = { uid: 'c-uid-q', namespace: 'default', name: 'incidents' };
const now = '2026-01-01T00:00:00.000Z';

const message = (messageId: string, dueAt: number | null): Omit<QueuedMessage, 'id' | 'attempt'> => ({
  owner: 'Trigger/default/t', ownerUid: 't-uid', messageId, body: `{"id":"${messageId}"}`, meta: '{}', dueAt,
});

function task(name: string, n: number): StoredResource {
  return {
    apiVersion: 'orloj.dev/v1', kind: 'Task', spec: { n }, status: {},
    metadata: { name, namespace: 'default', uid: `uid-${name}`, resourceVersion: '', generation: 1, creationTimestamp: now, labels: { app: 'x' } },
  };
}

export function runQueueConformance(name: string, driver: Driver): void {
  const itLog = itIf(driver, 'storeRevisions');
  describe(`${name} queue, cursor and image conformance`, function () {
    let store: Store;
    const commit = (...ops: Op[]) => store.commit({ origin: 'api', ops });
    beforeEach(async () => {
      store = await driver.open();
    });
    afterEach(async () => {
      await store.close();
      await driver.cleanup();
    });

    it('enqueues messages with ids, lists the due ones by due time, settles and removes them', async () => {
      const r = await commit({ op: 'enqueue', message: message('m1', 2000) }, { op: 'enqueue', message: message('m2', 1000) }, { op: 'enqueue', message: message('m3', null) });
      expect(r.held).to.equal(false);
      const ids = !r.held ? r.queued! : [];
      expect(ids).to.have.length(3);
      expect((await store.data.dueMessages(1500, 10)).map((m) => m.messageId)).to.deep.equal(['m2']);
      expect((await store.data.dueMessages(5000, 10)).map((m) => m.messageId)).to.deep.equal(['m2', 'm1']);
      const first = (await store.data.dueMessages(5000, 1))[0]!;
      expect((await store.data.dueMessages(5000, 10, { after: { dueAt: first.dueAt!, id: first.id } })).map((m) => m.messageId)).to.deep.equal(['m1']);
      await commit({ op: 'settle', id: ids[1]!, attempt: 1, dueAt: 3000 }, { op: 'settle', id: ids[0]!, done: true }, { op: 'settle', id: 999_999, done: true });
      expect(await store.data.message(ids[0]!)).to.equal(undefined);
      expect(await store.data.message(ids[1]!)).to.deep.include({ attempt: 1, dueAt: 3000, body: '{"id":"m2"}', owner: 'Trigger/default/t', ownerUid: 't-uid' });
      expect((await store.data.dueMessages(2500, 10)).length).to.equal(0);
      await commit({ op: 'settle', id: ids[2]!, attempt: 0, dueAt: 100 });
      expect((await store.data.dueMessages(200, 10)).map((m) => m.messageId)).to.deep.equal(['m3']);
    });

    it('never gives a settled message\'s id to a new one', async () => {
      const first = await commit({ op: 'enqueue', message: message('n1', 100) });
      const id = !first.held ? first.queued![0]! : 0;
      await commit({ op: 'settle', id, done: true });
      const next = await commit({ op: 'enqueue', message: message('n2', 100) });
      expect(!next.held && next.queued![0]!).to.be.greaterThan(id);
      expect(await store.data.message(id)).to.equal(undefined);
    });

    it("lists only some owners' messages, or all but some owners'", async () => {
      await commit({ op: 'enqueue', message: message('a1', 100) }, { op: 'enqueue', message: { ...message('b1', 200), ownerUid: 'b-uid' } }, { op: 'enqueue', message: message('a2', 300) });
      const ids = async (q: DueQuery) => (await store.data.dueMessages(1000, 10, q)).map((m) => m.messageId);
      expect(await ids({ skipOwners: ['t-uid'] })).to.deep.equal(['b1']);
      expect(await ids({ skipOwners: ['b-uid', 'x'] })).to.deep.equal(['a1', 'a2']);
      expect(await ids({ skipOwners: [] })).to.deep.equal(['a1', 'b1', 'a2']);
      expect(await ids({ owners: ['t-uid'] })).to.deep.equal(['a1', 'a2']);
      expect(await ids({ owners: ['b-uid'], after: { dueAt: 100, id: 0 } })).to.deep.equal(['b1']);
      expect(await ids({ owners: [] })).to.deep.equal([]);
    });

    it('counts the messages not parked, by owner', async () => {
      expect(await store.data.queueDepths()).to.deep.equal(new Map());
      const r = await commit(
        { op: 'enqueue', message: message('d1', 100) }, { op: 'enqueue', message: message('d2', 99_999) }, { op: 'enqueue', message: message('d3', null) },
        { op: 'enqueue', message: { ...message('d4', 100), ownerUid: 'b-uid' } },
      );
      expect(await store.data.queueDepths()).to.deep.equal(new Map([['t-uid', 2], ['b-uid', 1]]));
      await commit({ op: 'settle', id: !r.held ? r.queued![0]! : 0, done: true }, { op: 'settle', id: !r.held ? r.queued![3]! : 0, attempt: 1, dueAt: null });
      expect(await store.data.queueDepths()).to.deep.equal(new Map([['t-uid', 1]]));
    });

    it('keeps cursors, and compaction keeps the history after the lowest cursor', async () => {
      expect(await store.data.cursor('reader')).to.equal(undefined);
      for (let i = 0; i < 5; i++) await commit({ op: 'create', object: task(`t${i}`, i) });
      await commit({ op: 'cursor', name: 'reader', value: 2 });
      expect(await store.data.cursor('reader')).to.equal(2);
      await store.maintain({ compactTo: 4, chunk: 100 });
      expect((await store.control.changes(2, 10)).map((c) => c.revision)).to.deep.equal([3, 4, 5]);
    });

    itLog('keeps images of the ops that ask: resources after and before, documents after and before', async () => {
      await commit({ op: 'create', object: task('plain', 1) });
      const created = await commit({ op: 'create', object: task('img', 1), image: true });
      const rv = !created.held ? created.writes[0]!.resourceVersion : '';
      await commit({ op: 'update', object: { ...task('img', 2), metadata: { ...task('img', 2).metadata, generation: 2 } }, expect: rv, image: true });
      await commit({ op: 'delete', key: { kind: 'Task', namespace: 'default', name: 'img' }, image: true });
      await commit({ op: 'putDocument', collection: col, id: 'd', body: { data: { v: 1 } }, origin: 'api', now, image: true });
      await commit({ op: 'putDocument', collection: col, id: 'd', body: { data: { v: 2 } }, origin: 'hook', now, image: true });
      await commit({ op: 'deleteDocument', collection: col, id: 'd', origin: 'api', now, image: true });
      const changes = await store.control.changes(0, 20);
      expect(changes[0]).not.to.have.any.keys('after', 'before');
      const obj = (s: string | undefined) => JSON.parse(s!) as StoredResource;
      const doc = (s: string | undefined) => JSON.parse(s!) as StoredDocument;
      expect(obj(changes[1]!.after).spec).to.deep.equal({ n: 1 });
      expect(changes[1]).not.to.have.property('before');
      expect([obj(changes[2]!.before).spec, obj(changes[2]!.after).spec]).to.deep.equal([{ n: 1 }, { n: 2 }]);
      expect(obj(changes[2]!.after).metadata.resourceVersion).to.equal(String(changes[2]!.revision));
      expect(obj(changes[3]!.before).spec).to.deep.equal({ n: 2 });
      expect(changes[3]).not.to.have.property('after');
      expect(doc(changes[4]!.after)).to.deep.include({ id: 'd', data: { v: 1 } });
      expect(changes[4]).not.to.have.property('before');
      expect([doc(changes[5]!.before).data, doc(changes[5]!.after).data, doc(changes[5]!.after).meta.origin]).to.deep.equal([{ v: 1 }, { v: 2 }, 'hook']);
      expect(doc(changes[6]!.before).meta).not.to.have.property('deletedAt');
      expect(doc(changes[6]!.after).meta.deletedAt).to.equal(now);
    });

    it("keeps a document's images as a reader gets it before and after each change, through a delete and back", async () => {
      const later = '2026-01-02T00:00:00.000Z';
      const read = () => store.data.getDocument(col.uid, 'e');
      const ops: Op[] = [
        { op: 'putDocument', collection: col, id: 'e', body: { data: { n: 1e21, s: 'é "q"', deep: { a: [1, null, -0] } } }, origin: 'api', now, image: true },
        { op: 'putDocument', collection: col, id: 'e', body: { data: { n: 2 } }, origin: 'hook', now: later, externalId: 'x-1', eventType: 'a.b', image: true },
        { op: 'putDocument', collection: col, id: 'e', body: { raw: Buffer.from('<a/>').toString('base64'), contentType: 'text/xml' }, origin: 'api', now: later, image: true },
        { op: 'deleteDocument', collection: col, id: 'e', origin: 'api', now: later, image: true },
        { op: 'putDocument', collection: col, id: 'e', body: { data: { back: true } }, origin: 'api', now: later, image: true },
      ];
      let previous: StoredDocument | undefined;
      const versions: Array<StoredDocument | undefined> = [];
      let first = 0;
      for (const op of ops) {
        const r = await commit(op);
        const rv = !r.held ? Number(r.writes[0]!.resourceVersion) : 0;
        first ||= rv;
        const change = (await store.control.changes(rv - 1, 1))[0]!;
        const current = await read();
        versions.push(current);
        expect(JSON.parse(change.after!)).to.deep.equal(current);
        if (previous && !previous.meta.deletedAt) expect(JSON.parse(change.before!)).to.deep.equal(previous);
        else expect(change).not.to.have.property('before');
        previous = current;
      }
      expect(previous!.meta).to.deep.include({ version: 5, createdAt: now, updatedAt: later });
      // Read once all are written: each change still shows the version it wrote, not the last.
      const all = await store.control.changes(first - 1, ops.length);
      expect(all.map((c) => JSON.parse(c.after!) as StoredDocument)).to.deep.equal(versions);
    });

    it('tells revision listeners of every commit, a document-only one included', async () => {
      const seen: number[] = [];
      const off = store.control.onRevision((rev) => seen.push(rev));
      await commit({ op: 'putDocument', collection: col, id: 'x', body: { data: {} }, origin: 'api', now });
      await commit({ op: 'create', object: task('r', 1) });
      off();
      await commit({ op: 'create', object: task('s', 1) });
      expect(seen).to.deep.equal([1, 2]);
    });

    it('records an attempt number and the start of an answer, and reads a record by id', async () => {
      const r = await commit({ op: 'record', record: { ts: now, owner: 'Trigger/default/t', eventId: 'msg_1', outcome: 'retry_scheduled', httpStatus: 503, attempt: 2, response: 'busy', result: '7' } });
      const id = !r.held ? r.records![0]! : 0;
      expect(await store.data.getDelivery(id)).to.deep.include({ id, outcome: 'retry_scheduled', attempt: 2, response: 'busy', result: '7', eventId: 'msg_1' });
      expect(await store.data.getDelivery(id + 100)).to.equal(undefined);
      await commit({ op: 'recordUpdate', id, set: { outcome: 'delivered', httpStatus: 200, durationMs: 3, response: 'ok' } });
      expect(await store.data.getDelivery(id)).to.deep.include({ outcome: 'delivered', httpStatus: 200, response: 'ok', attempt: 2 });
    });
  });
}
