// Hydration jobs retry per spec.hydration.retry on 5xx, 429, timeouts and connection errors,
// then dead-letter; a 404 is final. Every attempt is a delivery record linked to its delivery,
// shown by `orlojctl inbound-webhook deliveries`, and a job that gave up can be redelivered.
import { expect } from 'chai';
import { eventually, type Orlojd } from '../helpers/orlojd.js';
import { put, resource } from '../helpers/fixtures.js';
import { ctl, deadServer } from '../cli/ctl.js';
import {
  attemptsOf, type DeliveryRecord, doc, eventId, hydrationStack, nativeOrder, queued, records, settled, shopOrder, startServers, stopServers, Upstream,
} from './helpers.js';

const steps = (rs: DeliveryRecord[]) => rs.map((r) => [r.attempt, r.outcome, r.httpStatus]);

describe('hydration retries, dead letters and redelivery', function () {
  this.timeout(60_000);
  let d: Orlojd;
  let up: Upstream;
  let ep: string;
  const HOOK = 'orders-reference';

  beforeEach(async () => {
    ({ d, up } = await startServers());
    ep = (await hydrationStack(d, up, { hydration: { id_path: 'record_id', retry: { max_attempts: 3, backoff_seconds: [0] } } })).endpointPath;
  });
  afterEach(() => stopServers(d, up));

  it('503 twice, then 200: the document arrives on attempt 3', async () => {
    up.records.set('flaky', shopOrder('flaky'));
    up.answerWith((f, n, u) => (n < 2 ? { status: 503, body: { error: 'busy' } } : { status: 200, body: u.records.get(f.id!) }));
    const event = eventId('flaky');
    const delivery = await queued(d, ep, { record_id: 'flaky' }, event);
    const end = await settled(d, HOOK, delivery);
    expect(end).to.include({ outcome: 'delivered', attempt: 3, httpStatus: 200 });
    const all = await attemptsOf(d, HOOK, delivery);
    expect(steps(all)).to.deep.equal([[1, 'retry_scheduled', 503], [2, 'retry_scheduled', 503], [3, 'delivered', 200]]);
    expect(all.every((r) => r.eventId === event), 'every attempt carries the delivery\'s event id').to.equal(true);
    expect(up.fetchesOf('flaky')).to.have.length(3);
    const got = await doc(d, 'orders', 'flaky');
    expect(got.body.data).to.deep.equal(nativeOrder(shopOrder('flaky')));
    const metrics = (await d.api('GET', '/metrics')).text;
    const count = (outcome: string) => Number(new RegExp(`^orloj_hydration_attempts_total\\{webhook="default/${HOOK}",outcome="${outcome}"\\} (\\d+)`, 'm').exec(metrics)?.[1]);
    expect([count('retry_scheduled'), count('delivered')], 'the attempts counted by outcome').to.deep.equal([2, 1]);
  });

  it('a source that always fails: dead_letter after max_attempts, shown by inbound-webhook deliveries; redelivered once the source is fixed', async () => {
    up.answerWith(() => ({ status: 503, body: { error: 'down' } }));
    const event = eventId('down');
    const delivery = await queued(d, ep, { record_id: 'down' }, event);
    const dead = await settled(d, HOOK, delivery);
    expect(dead).to.include({ outcome: 'dead_letter', attempt: 3, httpStatus: 503 });
    expect(steps(await attemptsOf(d, HOOK, delivery))).to.deep.equal([[1, 'retry_scheduled', 503], [2, 'retry_scheduled', 503], [3, 'dead_letter', 503]]);
    expect(up.fetchesOf('down')).to.have.length(3);
    expect((await doc(d, 'orders', 'down')).status).to.equal(404);

    const listed = await ctl(d, ['inbound-webhook', 'deliveries', HOOK]);
    expect(listed.code, listed.stderr).to.equal(0);
    const lines = listed.stdout.split('\n').filter((l) => l.includes(event));
    expect(lines.some((l) => /\bdead_letter\b/.test(l) && /\b503\b/.test(l)), listed.stdout).to.equal(true);
    expect(lines.some((l) => /\bretry_scheduled\b/.test(l)), listed.stdout).to.equal(true);
    expect(lines.some((l) => /\bqueued\b/.test(l)), listed.stdout).to.equal(true);
    const json = await ctl(d, ['inbound-webhook', 'deliveries', HOOK, '--outcome', 'dead_letter', '-o', 'json']);
    expect(JSON.parse(json.stdout).items.map((r: DeliveryRecord) => r.id)).to.deep.equal([dead.id]);

    // Fixed: the dead letter is redelivered, and the same delivery ends delivered.
    up.records.set('down', shopOrder('down', { state: 'shipped' }));
    up.answerWith((f, _n, u) => ({ status: 200, body: u.records.get(f.id!) }));
    const re = await d.api('POST', `/v1/deliveries/${dead.id}/redeliver`);
    expect(re.status, re.text).to.equal(202);
    expect(re.body.kind).to.equal('Redelivery');
    expect(String(re.body.redelivers)).to.equal(String(dead.id));
    await eventually(async () => (await attemptsOf(d, HOOK, delivery)).some((r) => r.outcome === 'delivered'), 15_000);
    expect((await doc(d, 'orders', 'down')).body.data).to.deep.equal(nativeOrder(shopOrder('down', { state: 'shipped' })));
    expect(up.fetchesOf('down')).to.have.length(4);
    const again = await d.api('POST', `/v1/deliveries/${dead.id}/redeliver`);
    expect(again.status, 'a delivered job is not parked').to.equal(409);
  });

  it('404 is final: failed NotFound after one fetch, an existing document unchanged; orlojctl inbound-webhook redeliver sends it again', async () => {
    up.records.set('gone', shopOrder('gone'));
    expect((await settled(d, HOOK, await queued(d, ep, { record_id: 'gone' }))).outcome).to.equal('delivered');
    const before = (await doc(d, 'orders', 'gone')).body;

    up.records.delete('gone');
    const delivery = await queued(d, ep, { record_id: 'gone' });
    const failed = await settled(d, HOOK, delivery);
    expect(failed).to.include({ outcome: 'failed', attempt: 1, httpStatus: 404 });
    expect(failed.reason).to.match(/^NotFound\b/);
    // Another job runs to its end after it: a retry of the 404 would have been fetched by then.
    up.records.set('other', shopOrder('other'));
    expect((await settled(d, HOOK, await queued(d, ep, { record_id: 'other' }))).outcome).to.equal('delivered');
    expect(up.fetchesOf('gone'), 'one fetch for the 404').to.have.length(2);
    expect(steps(await attemptsOf(d, HOOK, delivery))).to.deep.equal([[1, 'failed', 404]]);
    const after = (await doc(d, 'orders', 'gone')).body;
    expect(after.data).to.deep.equal(before.data);
    expect(after.meta.version).to.equal(before.meta.version);

    up.records.set('gone', shopOrder('gone', { total: 99 }));
    const re = await ctl(d, ['inbound-webhook', 'redeliver', String(failed.id)]);
    expect(re.code, re.stderr).to.equal(0);
    expect(re.stdout).to.include(`delivery ${failed.id} redelivered`);
    await eventually(async () => (await attemptsOf(d, HOOK, delivery)).some((r) => r.outcome === 'delivered'), 15_000);
    expect((await doc(d, 'orders', 'gone')).body.data).to.deep.equal(nativeOrder(shopOrder('gone', { total: 99 })));
  });

  it('429 honours Retry-After', async () => {
    up.records.set('limited', shopOrder('limited'));
    up.answerWith((f, n, u) => (n === 0 ? { status: 429, body: { error: 'slow down' }, headers: { 'retry-after': '2' } } : { status: 200, body: u.records.get(f.id!) }));
    const delivery = await queued(d, ep, { record_id: 'limited' });
    expect(await settled(d, HOOK, delivery)).to.include({ outcome: 'delivered', attempt: 2 });
    expect(steps(await attemptsOf(d, HOOK, delivery))).to.deep.equal([[1, 'retry_scheduled', 429], [2, 'delivered', 200]]);
    const [first, second] = up.fetchesOf('limited');
    // backoff_seconds is [0]: only Retry-After can have held the second fetch back.
    expect(second!.at - first!.at, 'ms between the fetches').to.be.at.least(1900);
  });

  it('a timeout and a refused connection are retried, then dead-lettered', async () => {
    await put(d, resource('Collection', 'slow', {}));
    const slowHook = await hydrationStack(d, up, {
      reuse: true, collection: 'slow', source: 'slow-api', webhook: 'slow-hook',
      read: { url: `${up.url}/orders/{id}`, timeout_seconds: 1 }, hydration: { id_path: 'record_id', retry: { max_attempts: 3, backoff_seconds: [0] } },
    });
    up.records.set('late', shopOrder('late'));
    up.answerWith((f, n, u) => (f.id === 'late' && n === 0 ? 'hang' : { status: 200, body: u.records.get(f.id!) }));
    const late = await queued(d, slowHook.endpointPath, { record_id: 'late' });
    expect(await settled(d, 'slow-hook', late)).to.include({ outcome: 'delivered', attempt: 2 });
    const lateSteps = await attemptsOf(d, 'slow-hook', late);
    expect(lateSteps.map((r) => [r.attempt, r.outcome])).to.deep.equal([[1, 'retry_scheduled'], [2, 'delivered']]);
    expect((await doc(d, 'slow', 'late')).body.data).to.deep.equal(nativeOrder(shopOrder('late')));

    const dead = await hydrationStack(d, up, {
      reuse: true, collection: 'slow', source: 'dead-api', webhook: 'dead-hook',
      read: { url: `${await deadServer()}/orders/{id}` }, hydration: { id_path: 'record_id', retry: { max_attempts: 2, backoff_seconds: [0] } },
    });
    const refused = await queued(d, dead.endpointPath, { record_id: 'nowhere' });
    expect(await settled(d, 'dead-hook', refused)).to.include({ outcome: 'dead_letter', attempt: 2 });
    expect((await attemptsOf(d, 'dead-hook', refused)).map((r) => r.outcome)).to.deep.equal(['retry_scheduled', 'dead_letter']);
    expect((await records(d, 'dead-hook', 'delivered'))).to.deep.equal([]);
  });
});
