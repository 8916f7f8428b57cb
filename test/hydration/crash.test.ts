// Hydration jobs are durable: orlojd killed with -9 while jobs are in flight (their fetches
// hanging at the source) and others queued behind them, then restarted on the same data:
// every accepted delivery ends delivered and each document matches the source's last answer.
import { expect } from 'chai';
import { eventually, type Orlojd } from '../helpers/orlojd.js';
import {
  ALLOW_LOOPBACK, attemptsOf, doc, eventId, hydrationStack, nativeOrder, queued, shopOrder, startServers, stopServers, Upstream,
} from './helpers.js';

describe('hydration: kill -9 with jobs queued and in flight', function () {
  this.timeout(120_000);
  let d: Orlojd;
  let up: Upstream;
  const HOOK = 'orders-reference';

  beforeEach(async () => {
    ({ d, up } = await startServers());
  });
  afterEach(() => stopServers(d, up));

  it('after a restart on the same data every accepted delivery is hydrated, each document as the source last answered', async () => {
    const st = await hydrationStack(d, up, {
      read: { url: up.readUrl, timeout_seconds: 60 },
      hydration: { id_path: 'record_id', event_path: 'event', event_map: { ResourceDeleted: 'delete' }, retry: { max_attempts: 20, backoff_seconds: [0] } },
    });
    const ids = Array.from({ length: 24 }, (_, i) => `k-${i}`);
    for (const id of ids) up.records.set(id, shopOrder(id, { rev: 1, state: 'pending' }));
    up.records.set('k-del', shopOrder('k-del', { rev: 1 }));
    const first = await queued(d, st.endpointPath, { record_id: 'k-del' });
    await eventually(async () => (await attemptsOf(d, HOOK, first)).some((r) => r.outcome === 'delivered'), 15_000);
    expect((await doc(d, 'orders', 'k-del')).status).to.equal(200);
    up.hold();
    const heldFrom = up.fetches.length;

    // Every record once, then the first eight again (queued behind their first job), and a delete.
    const deliveries = new Map<string, string[]>();
    const accept = async (id: string, payload: Record<string, unknown>) => {
      const delivery = await queued(d, st.endpointPath, payload, eventId(id));
      deliveries.set(id, [...(deliveries.get(id) ?? []), delivery]);
    };
    await Promise.all(ids.map((id) => accept(id, { record_id: id, event: 'ResourceUpdated' })));
    await Promise.all(ids.slice(0, 8).map((id) => accept(id, { record_id: id, event: 'ResourceUpdated' })));
    await accept('k-del', { record_id: 'k-del', event: 'ResourceDeleted' });
    await eventually(async () => up.pending >= 1, 15_000);
    const inFlightAtKill = up.fetches.slice(heldFrom).map((f) => f.id!);
    expect(inFlightAtKill.length).to.be.at.least(1);

    // The answers change while orlojd is down: the documents must end as they are now.
    for (const id of ids) up.records.set(id, shopOrder(id, { rev: 2, state: 'shipped' }));
    await d.kill9();
    up.release();
    await d.restart({ args: ALLOW_LOOPBACK });

    const all = [...deliveries.values()].flat();
    expect(all).to.have.length(ids.length + 9);
    await eventually(async () => {
      for (const id of ids) {
        const r = await doc(d, 'orders', id);
        if (r.status !== 200 || r.body.data.rev !== 2) return false;
      }
      return true;
    }, 60_000, 200);
    for (const [id, list] of deliveries) {
      for (const delivery of list) {
        const ended = await eventually(async () => (await attemptsOf(d, HOOK, delivery)).find((r) => r.outcome === 'delivered'), 30_000, 100);
        expect(ended, `${id}: delivery ${delivery}`).to.not.equal(undefined);
      }
    }
    for (const id of ids) {
      const r = await doc(d, 'orders', id);
      expect(r.body.data, id).to.deep.equal(nativeOrder(shopOrder(id, { rev: 2, state: 'shipped' })));
      expect(r.body.meta.externalId, id).to.equal(id);
      const lastServed = up.served.filter((s) => s.id === id && s.status === 200).at(-1);
      expect(lastServed?.body, `${id}: the last answer served`).to.deep.equal(shopOrder(id, { rev: 2, state: 'shipped' }));
    }
    expect((await doc(d, 'orders', 'k-del')).status).to.equal(404);
    expect(up.fetchesOf('k-del'), 'a delete never fetches').to.have.length(1);
    // The records in flight at the kill were fetched again after the restart.
    for (const id of new Set(inFlightAtKill)) expect(up.fetchesOf(id).length, id).to.be.at.least(2);
  });

  it('a graceful stop gives a fetch under way back uncounted: after the restart it is attempt 1 again, and delivered', async () => {
    const st = await hydrationStack(d, up, { hydration: { id_path: 'record_id', retry: { max_attempts: 1, backoff_seconds: [0] } } });
    up.records.set('g-1', shopOrder('g-1'));
    up.hold();
    const delivery = await queued(d, st.endpointPath, { record_id: 'g-1' });
    await eventually(async () => up.pending >= 1, 15_000);
    await d.stop();
    up.release();
    await d.restart({ args: ALLOW_LOOPBACK });
    const steps = await eventually(async () => {
      const rs = await attemptsOf(d, HOOK, delivery);
      return rs.some((r) => r.outcome === 'delivered') ? rs : undefined;
    }, 30_000);
    // With max_attempts 1, a counted interruption would have been the job's last attempt: a dead letter.
    expect(steps.map((r) => [r.attempt, r.outcome])).to.deep.equal([[1, 'retry_scheduled'], [1, 'delivered']]);
    expect(steps[0]!.reason).to.match(/^Interrupted\b/);
    expect((await doc(d, 'orders', 'g-1')).body.data).to.deep.equal(nativeOrder(shopOrder('g-1')));
  });
});
