import { createHmac, timingSafeEqual } from 'node:crypto';
import { expect } from 'chai';
import { Webhook } from 'standardwebhooks';
import { eventually, Orlojd } from '../helpers/orlojd.js';
import { put, resource } from '../helpers/fixtures.js';
import { ALLOW_LOOPBACK, attempts, Destination, readyTrigger, triggerStatus, writeDoc } from './helpers.js';

describe('Triggers: signed outbound webhooks on document changes', function () {
  this.timeout(30_000);
  let d: Orlojd;
  let dest: Destination;

  beforeEach(async () => {
    d = await Orlojd.start({ args: ALLOW_LOOPBACK });
    dest = await Destination.start();
    await put(d, resource('Collection', 'incidents', {}));
  });
  afterEach(async () => {
    await dest.close();
    await d.destroy();
  });

  async function signingSecret(name: string): Promise<string> {
    const s = (await d.api('GET', `/v1/secrets/${name}?reveal=true`)).body;
    const data = s.spec.data as Record<string, string>;
    return Buffer.from(Object.values(data)[0]!, 'base64').toString('utf8');
  }

  it('POSTs each create and update signed with the generated whsec_ key (standardwebhooks verifies it, and X-Orloj-Signature by hand); a delete does not fire it', async () => {
    const st = await readyTrigger(d, 'p1', { collection: 'incidents', events: ['create', 'update'], url: `${dest.url}/hook` });
    expect(st.secretRef).to.equal('p1-signing');
    const doc = await writeDoc(d, 'incidents', { id: 'inc-1', severity: 'P1' });
    await eventually(async () => dest.received.length >= 1);
    await d.api('PUT', `/v1/collections/incidents/documents/inc-1`, { id: 'inc-1', severity: 'P2' });
    await eventually(async () => dest.received.length >= 2);
    await d.api('DELETE', `/v1/collections/incidents/documents/inc-1`);
    await writeDoc(d, 'incidents', { id: 'inc-2', severity: 'P3' });
    await eventually(async () => dest.received.length >= 3);
    expect(dest.received.map((r) => dest.json(dest.received.indexOf(r)).type)).to.deep.equal(['document.created', 'document.updated', 'document.created']);

    const secret = await signingSecret('p1-signing');
    expect(secret).to.match(/^whsec_/);
    const wh = new Webhook(secret);
    for (const r of dest.received) {
      const headers = Object.fromEntries(Object.entries(r.headers).map(([k, v]) => [k, String(v)]));
      expect(() => wh.verify(r.body.toString('utf8'), headers)).not.to.throw();
      const ts = String(r.headers['x-orloj-timestamp']);
      expect(ts).to.equal(String(r.headers['webhook-timestamp']));
      const key = Buffer.from(secret.slice('whsec_'.length), 'base64');
      const mac = createHmac('sha256', key).update(`${ts}.`).update(r.body).digest();
      const given = Buffer.from(String(r.headers['x-orloj-signature']).replace(/^sha256=/, ''), 'hex');
      expect(given.length === mac.length && timingSafeEqual(given, mac)).to.equal(true);
      expect(r.method).to.equal('POST');
      expect(r.url).to.equal('/hook');
    }
    const first = dest.json(0);
    expect(first).to.include({ namespace: 'default', collection: 'incidents' });
    expect(first.id).to.equal(dest.received[0]!.headers['webhook-id']);
    expect(first.document).to.deep.include({ id: 'inc-1', data: { id: 'inc-1', severity: 'P1' } });
    expect(first).not.to.have.property('previous');
    const second = dest.json(1);
    expect(second.previous.data).to.deep.equal({ id: 'inc-1', severity: 'P1' });
    expect(second.document.data).to.deep.equal({ id: 'inc-1', severity: 'P2' });
    expect(second.id).not.to.equal(first.id);
    expect(dest.received[0]!.headers['x-orloj-event']).to.equal('document.created');
    expect(String(dest.received[0]!.headers['x-orloj-delivery'])).to.match(/^\d+$/);
    expect(doc.id).to.equal('inc-1');
    await eventually(async () => (await triggerStatus(d, 'p1')).deliveredCount === 3);
    const recs = await attempts(d, 'p1', 'delivered');
    expect(recs).to.have.length(3);
    expect(recs[0]).to.include({ owner: 'Trigger/default/p1', attempt: 1, httpStatus: 200 });
  });

  it('fires nothing for writes by an InboundWebhook or marked X-Orloj-Source: hook, unless its skip flag is off', async () => {
    await readyTrigger(d, 'quiet', { collection: 'incidents', url: `${dest.url}/quiet` });
    await readyTrigger(d, 'loud', { collection: 'incidents', url: `${dest.url}/loud`, skip_hook_writes: false });
    await writeDoc(d, 'incidents', { id: 'h1' }, { 'X-Orloj-Source': 'hook' });
    await writeDoc(d, 'incidents', { id: 'a1' });
    await eventually(async () => dest.received.filter((r) => r.url === '/quiet').length === 1 && dest.received.filter((r) => r.url === '/loud').length === 2);
    expect(dest.received.filter((r) => r.url === '/quiet').map((r) => JSON.parse(r.body.toString()).document.id)).to.deep.equal(['a1']);
  });

  it('retries with backoff until delivered, dead-letters after max_attempts, and a redelivery succeeds once the destination is fixed', async () => {
    dest.answerWith((n, r) => (r.url === '/flaky' ? (n < 2 ? 503 : 200) : r.url === '/down' ? 500 : 200));
    await readyTrigger(d, 'flaky', { collection: 'incidents', url: `${dest.url}/flaky`, retry: { max_attempts: 5, backoff_seconds: [0] } });
    await writeDoc(d, 'incidents', { id: 'r1' });
    await eventually(async () => (await attempts(d, 'flaky', 'delivered')).length === 1, 10_000);
    const flaky = await attempts(d, 'flaky');
    expect(flaky.map((r) => [r.attempt, r.outcome])).to.deep.equal([[3, 'delivered'], [2, 'retry_scheduled'], [1, 'retry_scheduled']]);
    expect(new Set(dest.received.map((r) => r.headers['webhook-id'])).size).to.equal(1);

    await d.api('DELETE', '/v1/triggers/flaky');
    await readyTrigger(d, 'down', { collection: 'incidents', url: `${dest.url}/down`, retry: { max_attempts: 5, backoff_seconds: [0] } });
    await writeDoc(d, 'incidents', { id: 'r2' });
    const dead = await eventually(async () => (await attempts(d, 'down', 'dead_letter'))[0], 10_000);
    expect(dead.attempt).to.equal(5);
    expect(dest.received.filter((r) => r.url === '/down')).to.have.length(5);
    dest.answerWith(() => 200);
    const re = await d.api('POST', `/v1/deliveries/${dead.id}/redeliver`);
    expect(re.status).to.equal(202);
    expect(re.body.id).to.be.a('number');
    await eventually(async () => (await attempts(d, 'down', 'delivered')).length === 1, 10_000);
    const down = dest.received.filter((r) => r.url === '/down');
    expect(down).to.have.length(6);
    expect(new Set(down.map((r) => r.headers['webhook-id'])).size).to.equal(1);
  });

  it('with max_attempts 1 (the default) tries once', async () => {
    dest.answerWith(() => 503);
    await readyTrigger(d, 'once', { collection: 'incidents', url: `${dest.url}/once` });
    await writeDoc(d, 'incidents', { id: 'o1' });
    const dead = await eventually(async () => (await attempts(d, 'once', 'dead_letter'))[0]);
    expect(dead).to.include({ attempt: 1, httpStatus: 503 });
    expect(dest.received).to.have.length(1);
    await eventually(async () => (await triggerStatus(d, 'once')).deadLetterCount === 1);
  });
});
