// Conformance for DocumentStore and the document ops of a unit: every driver runs it.
import { expect } from 'chai';
import { ApiError } from '../../pkg/api/errors.js';
import { DOCUMENT_KIND, type CollectionRef, type DocumentBody, type Op, type Store } from '../../pkg/store/types.js';
import type { Driver } from './conformance.js';

const col: CollectionRef = { uid: 'c-uid-1', namespace: 'default', name: 'incidents' };
const other: CollectionRef = { uid: 'c-uid-2', namespace: 'default', name: 'orders' };
const now = '2026-01-01T00:00:00.000Z';

const put = (id: string, data: Record<string, unknown>, extra: Partial<Extract<Op, { op: 'putDocument' }>> = {}): Op => ({
  op: 'putDocument', collection: col, id, body: { data }, origin: 'api', now, ...extra,
});

const failure = async (p: Promise<unknown>): Promise<ApiError> => {
  try {
    await p;
  } catch (e) {
    expect(e).to.be.instanceOf(ApiError);
    return e as ApiError;
  }
  throw new Error('expected a failure');
};

export function runDocumentConformance(name: string, driver: Driver): void {
  describe(`${name} document store conformance`, function () {
    let store: Store;
    const commit = (...ops: Op[]) => store.commit({ origin: 'api', ops });
    beforeEach(async () => {
      store = await driver.open();
    });
    afterEach(async () => {
      await store.close();
      await driver.cleanup();
    });

    it('creates at version 1, grows the version per write, keeps createdAt, and logs each change with its origin', async () => {
      const first = await commit(put('a', { title: 'x' }, { origin: 'inbound_webhook', externalId: 'ext-a', eventType: 'incident.opened' }));
      expect(first.held).to.equal(false);
      const w = !first.held && first.writes[0];
      expect(w).to.deep.include({ name: 'a', version: 1, type: 'ADDED' });
      await commit(put('a', { title: 'y' }, { now: '2026-01-02T00:00:00.000Z' }));
      const doc = await store.data.getDocument(col.uid, 'a');
      expect(doc?.data).to.deep.equal({ title: 'y' });
      expect(doc?.meta).to.include({ version: 2, origin: 'api', createdAt: now, updatedAt: '2026-01-02T00:00:00.000Z' });
      expect(doc?.meta).not.to.have.property('externalId');
      const changes = await store.control.changes(0, 10);
      expect(changes.map((c) => [c.key.kind, c.key.name, c.item, c.type, c.origin])).to.deep.equal([
        [DOCUMENT_KIND, 'incidents', 'a', 'ADDED', 'inbound_webhook'],
        [DOCUMENT_KIND, 'incidents', 'a', 'MODIFIED', 'api'],
      ]);
      expect(changes[1]!.revision).to.equal(doc!.meta.revision);
    });

    it('refuses ifAbsent on a live id, and a stale expected version with PreconditionFailed', async () => {
      await commit(put('a', { n: 1 }));
      expect((await failure(commit(put('a', { n: 2 }, { ifAbsent: true })))).reason).to.equal('AlreadyExists');
      expect((await failure(commit(put('a', { n: 2 }, { expectVersion: 7 })))).reason).to.equal('PreconditionFailed');
      expect((await failure(commit(put('nope', { n: 2 }, { expectVersion: 1 })))).reason).to.equal('PreconditionFailed');
      await commit(put('a', { n: 3 }, { expectVersion: 1 }));
      expect((await store.data.getDocument(col.uid, 'a'))?.data).to.deep.equal({ n: 3 });
    });

    it('soft-deletes: hidden from lists unless asked, counted out, and a later write brings it back', async () => {
      await commit(put('a', { n: 1 }), put('b', { n: 2 }));
      await commit({ op: 'deleteDocument', collection: col, id: 'a', origin: 'api', now });
      const doc = await store.data.getDocument(col.uid, 'a');
      expect(doc?.meta).to.include({ version: 2, deletedAt: now });
      expect((await store.data.listDocuments(col.uid, { limit: 10 })).items.map((d) => d.id)).to.deep.equal(['b']);
      expect((await store.data.listDocuments(col.uid, { limit: 10, includeDeleted: true })).items.map((d) => d.id)).to.deep.equal(['a', 'b']);
      expect((await store.data.counters([col.uid])).get(col.uid)).to.deep.equal({ documents: 1 });
      expect((await failure(commit({ op: 'deleteDocument', collection: col, id: 'a', origin: 'api', now }))).reason).to.equal('NotFound');
      await commit(put('a', { n: 9 }, { ifAbsent: true }));
      expect((await store.data.getDocument(col.uid, 'a'))?.meta).to.include({ version: 3 }).and.not.have.property('deletedAt');
      expect((await store.data.counters([col.uid])).get(col.uid)).to.deep.equal({ documents: 2 });
      const types = (await store.control.changes(0, 10)).map((c) => c.type);
      expect(types).to.deep.equal(['ADDED', 'ADDED', 'DELETED', 'ADDED']);
    });

    it('filters on top-level fields by string or the scalar it spells, and pages by id', async () => {
      await commit(
        put('1', { status: 'qualified', severity: 'p1', n: 3, ok: true }),
        put('2', { status: 'qualified', severity: 'p2', n: '3' }),
        put('3', { status: 'lost', severity: 'p1', n: 4, ok: false }),
      );
      const ids = async (where: Record<string, string>, limit = 10, after?: string) =>
        (await store.data.listDocuments(col.uid, { where, limit, after })).items.map((d) => d.id);
      expect(await ids({ status: 'qualified' })).to.deep.equal(['1', '2']);
      expect(await ids({ status: 'qualified', severity: 'p1' })).to.deep.equal(['1']);
      expect(await ids({ n: '3' })).to.deep.equal(['1', '2']);
      expect(await ids({ ok: 'false' })).to.deep.equal(['3']);
      expect(await ids({ missing: 'x' })).to.deep.equal([]);
      const page = await store.data.listDocuments(col.uid, { limit: 2 });
      expect(page.more).to.equal(true);
      expect(await ids({}, 2, page.items[1]!.id)).to.deep.equal(['3']);
      expect((await failure(store.data.listDocuments(col.uid, { where: { "a'); DROP": 'x' }, limit: 1 }))).reason).to.equal('BadRequest');
    });

    it('keeps raw bodies byte-exact with their content type', async () => {
      const bytes = Buffer.from([0, 1, 2, 0xff, 0xfe, 0x0a]);
      const body: DocumentBody = { raw: bytes.toString('base64'), contentType: 'application/octet-stream' };
      await commit({ op: 'putDocument', collection: col, id: 'r', body, origin: 'inbound_webhook', now });
      const doc = await store.data.getDocument(col.uid, 'r');
      expect(doc?.data).to.equal(null);
      expect(Buffer.from(doc!.raw!, 'base64').equals(bytes)).to.equal(true);
      expect(doc?.meta.contentType).to.equal('application/octet-stream');
    });

    it('keeps collections apart; noDocuments guards a delete; dropDocuments empties a collection in chunks', async () => {
      await commit(put('a', { n: 1 }), { op: 'putDocument', collection: other, id: 'a', body: { data: { n: 2 } }, origin: 'api', now });
      expect((await store.data.getDocument(other.uid, 'a'))?.data).to.deep.equal({ n: 2 });
      expect((await failure(commit({ op: 'noDocuments', collection: col }))).reason).to.equal('Conflict');
      for (let i = 0; i < 5; i++) await commit(put(`x${i}`, { i }));
      expect(await store.data.documentScopes()).to.have.members([col.uid, other.uid]);
      let dropped = 0;
      for (let pass = 0; pass < 10 && (await store.data.documentScopes()).includes(col.uid); pass++) dropped += await store.maintain({ dropDocuments: [col.uid], chunk: 2 });
      expect(dropped).to.equal(6);
      expect(await store.data.documentScopes()).to.deep.equal([other.uid]);
      expect((await store.data.counters([col.uid])).has(col.uid)).to.equal(false);
      await commit({ op: 'noDocuments', collection: col });
    });

    it('document changes are not shown to resource watches, and survive a reopen', async () => {
      const seen: string[] = [];
      const stop = await store.control.watch({}, '0', (e) => seen.push(e.key.kind));
      await commit(put('a', { n: 1 }));
      stop();
      expect(seen).to.deep.equal([]);
      store = await driver.reopen(store);
      expect((await store.data.getDocument(col.uid, 'a'))?.data).to.deep.equal({ n: 1 });
      const replay: string[] = [];
      (await store.control.watch({}, '0', (e) => replay.push(e.key.kind)))();
      expect(replay).to.deep.equal([]);
    });
  });
}
