// Conformance for jobs: added, leased (one holder at a time, one job per key), renewed and
// settled under their lease; every driver runs it.
import { expect } from 'chai';
import type { CollectionRef, Job, Op, Store } from '../../pkg/store/types.js';
import type { Driver } from './conformance.js';

const col: CollectionRef = { uid: 'c-uid-j', namespace: 'default', name: 'orders' };
const now = '2026-01-01T00:00:00.000Z';

const job = (key: string, dueAt: number | null): Omit<Job, 'id' | 'attempt'> => ({
  queue: 'hydration', key, owner: 'InboundWebhook/default/w', ownerUid: 'w-uid', body: `{"key":"${key}"}`, dueAt,
});

export function runJobConformance(name: string, driver: Driver): void {
  describe(`${name} job conformance`, function () {
    let store: Store;
    const commit = (...ops: Op[]) => store.commit({ origin: 'api', ops });
    const lease = async (holder: string, nowMs: number, limit = 10, untilMs = nowMs + 1000) => {
      const r = await commit({ op: 'leaseJobs', queue: 'hydration', holder, nowMs, untilMs, limit });
      return !r.held ? (r.leased ?? []) : [];
    };
    beforeEach(async () => {
      store = await driver.open();
    });
    afterEach(async () => {
      await store.close();
      await driver.cleanup();
    });

    it('adds jobs with ids that claims and records remember, and leases the due ones oldest first, one per key', async () => {
      const r = await commit(
        { op: 'claim', scope: 'w-uid', key: 'evt-1', expiresAt: 10_000, nowMs: 0 },
        { op: 'addJob', job: job('a', 200) },
        { op: 'record', record: { ts: now, owner: 'InboundWebhook/default/w', eventId: 'evt-1', outcome: 'queued' } },
      );
      expect(r.held).to.equal(false);
      const id = !r.held ? r.jobs![0]! : 0;
      expect(id).to.be.greaterThan(0);
      expect((await store.data.getDelivery(!r.held ? r.records![0]! : 0))?.result).to.equal(String(id));
      const again = await commit({ op: 'claim', scope: 'w-uid', key: 'evt-1', expiresAt: 10_000, nowMs: 1 }, { op: 'addJob', job: job('a', 200) });
      expect(again).to.deep.include({ held: true, result: String(id) });
      await commit({ op: 'addJob', job: job('b', 100) }, { op: 'addJob', job: job('a', 150) }, { op: 'addJob', job: job('c', 5000) }, { op: 'addJob', job: job('d', null) });
      expect(await store.data.nextJobDue('hydration', 0)).to.equal(100);
      expect(await store.data.nextJobDue('other', 0)).to.equal(undefined);
      const leased = await lease('h1', 1000);
      // b (due 100), then a's older-due job (150); a's other job waits for its key; c is not due, d is parked.
      expect(leased.map((j) => [j.key, j.dueAt])).to.deep.equal([['b', 100], ['a', 150]]);
      expect(leased[0]).to.deep.include({ queue: 'hydration', owner: 'InboundWebhook/default/w', ownerUid: 'w-uid', body: '{"key":"b"}', attempt: 0 });
      expect(await lease('h2', 1001), 'every due key is held').to.deep.equal([]);
      expect(await store.data.nextJobDue('hydration', 1001), 'a leased job is not due').to.equal(200);
      expect((await store.data.job(id))?.key).to.equal('a');
    });

    it('counts the jobs of a queue not parked, leased ones included, by owner', async () => {
      expect(await store.data.jobDepths('hydration')).to.deep.equal([]);
      await commit(
        { op: 'addJob', job: job('a', 100) }, { op: 'addJob', job: job('b', 99_999) }, { op: 'addJob', job: job('c', null) },
        { op: 'addJob', job: { ...job('d', 100), owner: 'InboundWebhook/default/v', ownerUid: 'v-uid' } }, { op: 'addJob', job: { ...job('e', 100), queue: 'other' } },
      );
      await lease('h1', 1000, 1);
      const depths = (await store.data.jobDepths('hydration')).sort((x, y) => x.owner.localeCompare(y.owner));
      expect(depths).to.deep.equal([
        { owner: 'InboundWebhook/default/v', ownerUid: 'v-uid', count: 1 },
        { owner: 'InboundWebhook/default/w', ownerUid: 'w-uid', count: 2 },
      ]);
    });

    it('settles under the lease only: a holder whose lease lapsed and was taken cannot write', async () => {
      await commit({ op: 'addJob', job: job('k', 100) });
      const [first] = await lease('h1', 1000, 1, 2000);
      expect(first).to.not.equal(undefined);
      await commit({ op: 'renewJobs', ids: [first!.id], holder: 'h1', untilMs: 3000 });
      expect(await lease('h2', 2500), 'renewed: still held').to.deep.equal([]);
      const [taken] = await lease('h2', 3000, 1, 9000);
      expect(taken?.id, 'lapsed: due again for another holder').to.equal(first!.id);
      await commit({ op: 'renewJobs', ids: [first!.id], holder: 'h1', untilMs: 99_000 });
      const stale = await commit(
        { op: 'putDocument', collection: col, id: 'k', body: { data: { v: 1 } }, origin: 'inbound_webhook', now },
        { op: 'settleJob', id: first!.id, holder: 'h1', done: true },
      ).then(() => 'committed', (e: { reason?: string }) => e.reason);
      expect(stale).to.equal('Conflict');
      expect(await store.data.getDocument(col.uid, 'k'), 'the stale unit wrote nothing').to.equal(undefined);
      expect(await store.data.job(first!.id)).to.deep.include({ id: first!.id });
      await commit({ op: 'settleJob', id: first!.id, holder: 'h2', attempt: 1, dueAt: 4000 });
      expect(await store.data.job(first!.id)).to.deep.include({ attempt: 1, dueAt: 4000 });
      expect((await lease('h3', 4000)).map((j) => j.id), 'settled: its lease is gone').to.deep.equal([first!.id]);
      await commit({ op: 'settleJob', id: first!.id, holder: 'h3', done: true });
      expect(await store.data.job(first!.id)).to.equal(undefined);
    }).timeout(30_000);

    it('parks a job (due null) and takes it back without a holder (redelivery)', async () => {
      await commit({ op: 'addJob', job: job('p', 100) });
      const [j] = await lease('h1', 1000);
      await commit({ op: 'settleJob', id: j!.id, holder: 'h1', attempt: 5, dueAt: null });
      expect(await lease('h1', 99_999)).to.deep.equal([]);
      expect(await store.data.nextJobDue('hydration', 99_999)).to.equal(undefined);
      await commit({ op: 'settleJob', id: j!.id, attempt: 0, dueAt: 200 });
      expect((await lease('h2', 1000)).map((x) => [x.id, x.attempt])).to.deep.equal([[j!.id, 0]]);
    });

    it('keeps the fields a sync wrote on the document (meta.syncedFields)', async () => {
      await commit({ op: 'putDocument', collection: col, id: 's', body: { data: { a: 1, b: 2 } }, origin: 'inbound_webhook', externalId: 's', now, syncedFields: ['a', 'b'] });
      expect((await store.data.getDocument(col.uid, 's'))?.meta).to.deep.include({ syncedFields: ['a', 'b'], externalId: 's', version: 1 });
      await commit({ op: 'putDocument', collection: col, id: 's', body: { data: { a: 1, b: 2, note: 'x' } }, origin: 'api', now });
      expect((await store.data.getDocument(col.uid, 's'))?.meta.syncedFields, 'a write without them keeps the last sync\'s').to.deep.equal(['a', 'b']);
      await commit({ op: 'putDocument', collection: col, id: 's', body: { data: { a: 1, note: 'x' } }, origin: 'inbound_webhook', now, syncedFields: ['a'] });
      expect((await store.data.getDocument(col.uid, 's'))?.meta.syncedFields).to.deep.equal(['a']);
    });
  });
}
