// Jobs for the same record never run at once, and an older job never overwrites a newer fetch:
// with ten deliveries for one record at once and the source answering a higher version on
// every fetch, the document ends at the newest version served. Other records run meanwhile.
import { expect } from 'chai';
import { eventually, type Orlojd } from '../helpers/orlojd.js';
import {
  doc, eventId, hydrationStack, nativeOrder, notify, queued, settled, shopOrder, startServers, stopServers, Upstream,
} from './helpers.js';

describe('hydration: concurrent deliveries for one record', function () {
  this.timeout(90_000);
  let d: Orlojd;
  let up: Upstream;
  let ep: string;
  const HOOK = 'orders-reference';

  beforeEach(async () => {
    ({ d, up } = await startServers());
    ep = (await hydrationStack(d, up, { hydration: { id_path: 'record_id', retry: { max_attempts: 5, backoff_seconds: [0] } } })).endpointPath;
  });
  afterEach(() => stopServers(d, up));

  it('10 deliveries at once, each fetch answering a newer version after a random delay: one fetch at a time, the newest version wins', async () => {
    let version = 0;
    up.answerWith(async (f) => {
      if (f.id !== 'hot') return { status: 404 };
      const rev = ++version;
      await new Promise((r) => setTimeout(r, Math.floor(Math.random() * 40)));
      return { status: 200, body: shopOrder('hot', { rev, total: rev * 10 }) };
    });
    const answers = await Promise.all(Array.from({ length: 10 }, () => notify(d, ep, { record_id: 'hot', event: 'ResourceUpdated' }, eventId('hot'))));
    expect(answers.map((a) => a.status)).to.deep.equal(Array(10).fill(202));
    const deliveries = answers.map((a) => a.body.delivery as string);
    expect(new Set(deliveries).size, 'ten deliveries').to.equal(10);
    for (const delivery of deliveries) expect((await settled(d, HOOK, delivery, 30_000)).outcome).to.equal('delivered');

    expect(up.fetchesOf('hot').length, 'fetched at least once').to.be.at.least(1);
    expect(up.maxInFlight.get('hot'), 'two fetches of the record in flight at once').to.equal(1);
    const last = up.served.filter((s) => s.id === 'hot').at(-1)!.body as Record<string, unknown>;
    expect(last.rev).to.equal(version);
    const got = await doc(d, 'orders', 'hot');
    expect(got.body.data).to.deep.equal(nativeOrder(shopOrder('hot', { rev: version, total: version * 10 })));
  });

  it('three rounds of deliveries for five records, interleaved: each document at its newest version, never two fetches of one record at once', async () => {
    const versions = new Map<string, number>();
    up.answerWith(async (f) => {
      if (!f.id) return { status: 404 };
      const rev = (versions.get(f.id) ?? 0) + 1;
      versions.set(f.id, rev);
      await new Promise((r) => setTimeout(r, Math.floor(Math.random() * 25)));
      return { status: 200, body: shopOrder(f.id, { rev }) };
    });
    const ids = ['r-1', 'r-2', 'r-3', 'r-4', 'r-5'];
    const sends = [];
    for (let round = 0; round < 3; round++) for (const id of ids) sends.push(queued(d, ep, { record_id: id }, eventId(id)));
    const deliveries = await Promise.all(sends);
    for (const delivery of deliveries) expect((await settled(d, HOOK, delivery, 30_000)).outcome).to.equal('delivered');
    for (const id of ids) {
      expect(up.maxInFlight.get(id), id).to.equal(1);
      expect((await doc(d, 'orders', id)).body.data, id).to.deep.equal(nativeOrder(shopOrder(id, { rev: versions.get(id) })));
    }
  });

  it('a record whose fetch hangs does not hold up the jobs of other records', async () => {
    let unblock!: () => void;
    const blocked = new Promise<void>((r) => (unblock = r));
    up.records.set('stuck', shopOrder('stuck'));
    for (let i = 0; i < 5; i++) up.records.set(`free-${i}`, shopOrder(`free-${i}`));
    up.answerWith(async (f, _n, u) => {
      if (f.id === 'stuck') await blocked;
      return { status: 200, body: u.records.get(f.id!) };
    });
    const stuck = await queued(d, ep, { record_id: 'stuck' });
    await eventually(async () => up.fetchesOf('stuck').length === 1, 10_000);
    const free = await Promise.all(Array.from({ length: 5 }, (_, i) => queued(d, ep, { record_id: `free-${i}` })));
    for (const delivery of free) expect((await settled(d, HOOK, delivery)).outcome).to.equal('delivered');
    expect(up.inFlight.get('stuck'), 'the stuck fetch is still waiting').to.equal(1);
    unblock();
    expect((await settled(d, HOOK, stuck)).outcome).to.equal('delivered');
    expect((await doc(d, 'orders', 'stuck')).body.data).to.deep.equal(nativeOrder(shopOrder('stuck')));
  });
});
