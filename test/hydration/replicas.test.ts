// Two orlojd replicas on one PostgreSQL database: hydration jobs are leased, so a replica
// killed with -9 while its fetches are in flight has its jobs taken over by the other within
// 30 seconds, and every accepted delivery ends hydrated as the source last answered.
import { expect } from 'chai';
import { eventually, Orlojd } from '../helpers/orlojd.js';
import { dropDatabase, freshDatabase } from '../helpers/postgres.js';
import { ALLOW_LOOPBACK, attemptsOf, doc, eventId, hydrationStack, nativeOrder, queued, shopOrder, Upstream } from './helpers.js';

describe('hydration on PostgreSQL replicas: one killed with -9 mid-fetch', function () {
  this.timeout(180_000);
  let url: string;
  let replicas: Orlojd[] = [];
  let up: Upstream;
  const HOOK = 'orders-reference';

  beforeEach(async () => {
    url = await freshDatabase('hydration_replicas');
    up = await Upstream.start('/orders/');
    replicas = [await Orlojd.start({ postgresUrl: url, args: ALLOW_LOOPBACK })];
  });
  afterEach(async () => {
    await Promise.all(replicas.map((d) => d.destroy()));
    await up.close();
    await dropDatabase(url);
  });

  it("the survivor finishes the killed replica's jobs within 30 s of the kill", async () => {
    const a = replicas[0]!;
    const st = await hydrationStack(a, up, {
      read: { url: up.readUrl, timeout_seconds: 60 },
      hydration: { id_path: 'record_id', retry: { max_attempts: 20, backoff_seconds: [0] } },
    });
    const ids = Array.from({ length: 16 }, (_, i) => `p-${i}`);
    for (const id of ids) up.records.set(id, shopOrder(id, { rev: 1 }));
    up.hold();
    const deliveries: Array<[string, string]> = [];
    for (const id of ids) deliveries.push([id, await queued(a, st.endpointPath, { record_id: id }, eventId(id))]);
    for (const id of ids.slice(0, 4)) deliveries.push([id, await queued(a, st.endpointPath, { record_id: id }, eventId(id))]);
    // Only replica a runs yet: the fetches waiting at the source are its jobs.
    await eventually(async () => up.pending >= 1, 15_000);
    const killedMidFetch = new Set(up.fetches.map((f) => f.id!));

    const b = await Orlojd.start({ postgresUrl: url, args: ALLOW_LOOPBACK });
    b.token = a.token;
    replicas.push(b);
    await eventually(async () => (await b.api('GET', `/v1/inbound-webhooks/${HOOK}`)).status === 200);

    for (const id of ids) up.records.set(id, shopOrder(id, { rev: 2, state: 'shipped' }));
    // While both ran, no record had two fetches at once (one job per record, on one replica).
    const beforeKill = new Map(up.maxInFlight);
    await a.kill9();
    up.release();

    // From the kill: everything hydrated by b, within the lease takeover bound.
    await eventually(async () => {
      for (const id of ids) {
        const r = await doc(b, 'orders', id);
        if (r.status !== 200 || r.body.data.rev !== 2) return false;
      }
      return true;
    }, 30_000, 200);

    for (const [id, delivery] of deliveries) {
      const ended = await eventually(async () => (await attemptsOf(b, HOOK, delivery)).find((r) => r.outcome === 'delivered'), 15_000, 100);
      expect(ended, `${id}: delivery ${delivery}`).to.not.equal(undefined);
    }
    for (const id of ids) {
      expect((await doc(b, 'orders', id)).body.data, id).to.deep.equal(nativeOrder(shopOrder(id, { rev: 2, state: 'shipped' })));
      expect(beforeKill.get(id) ?? 0, `${id}: two fetches at once`).to.be.at.most(1);
    }
    for (const id of killedMidFetch) expect(up.fetchesOf(id).length, `${id} was fetched again after the kill`).to.be.at.least(2);
  });
});
