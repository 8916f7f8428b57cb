import { createHmac, timingSafeEqual } from 'node:crypto';
import { expect } from 'chai';
import { Webhook } from 'standardwebhooks';
import { eventually, Orlojd } from '../helpers/orlojd.js';
import { put, readyWebhook, resource } from '../helpers/fixtures.js';
import { send } from '../helpers/deliveries.js';
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
    await readyTrigger(d, 'echo', { collection: 'incidents', url: `${dest.url}/echo`, skip_inbound_webhook_writes: false });
    await put(d, { apiVersion: 'orloj.dev/v1', kind: 'Secret', metadata: { name: 'in-key' }, spec: { stringData: { key: 'in-key-1' } } } as never);
    const { readyInbound } = await import('../receiver/inbound/helpers.js');
    const st = await readyInbound(d, 'in', { collection: 'incidents', secret_ref: 'in-key', ingest_auth: { type: 'static_header', header: 'X-In-Key' } });
    const { post } = await import('../helpers/deliveries.js');
    const res = await post(d, st.endpointPath, { 'content-type': 'application/json', 'X-In-Key': 'in-key-1' }, '{"id":"i1"}');
    expect(res.status, res.text).to.equal(202);
    await writeDoc(d, 'incidents', { id: 'h1' }, { 'X-Orloj-Source': 'hook' });
    await writeDoc(d, 'incidents', { id: 'a1' });
    const ids = (path: string) => dest.received.filter((r) => r.url === path).map((r) => JSON.parse(r.body.toString()).document.id as string).sort();
    await eventually(async () => ids('/quiet').length === 1 && ids('/loud').length === 2 && ids('/echo').length === 2);
    expect(ids('/quiet')).to.deep.equal(['a1']);
    // Each skip flag lets through its own origin only.
    expect(ids('/loud')).to.deep.equal(['a1', 'h1']);
    expect(ids('/echo')).to.deep.equal(['a1', 'i1']);
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

  it('generates its signing Secret when it names none, and deletes it with itself; a suspended trigger is not Ready and sends nothing', async () => {
    await readyTrigger(d, 'gen', { collection: 'incidents', url: `${dest.url}/gen` });
    expect((await d.api('GET', '/v1/secrets/gen-signing')).status).to.equal(200);
    await put(d, resource('Trigger', 'gen', { collection: 'incidents', url: `${dest.url}/gen`, suspend: true }));
    await eventually(async () => (await triggerStatus(d, 'gen')).conditions?.find((c) => c.type === 'Ready')?.reason === 'Suspended');
    await writeDoc(d, 'incidents', { id: 's1' });
    await d.api('DELETE', '/v1/triggers/gen');
    await eventually(async () => (await d.api('GET', '/v1/secrets/gen-signing')).status === 404);
    expect(dest.received).to.have.length(0);
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

describe('Triggers: destinations, crashes, run tasks and external writes', function () {
  this.timeout(40_000);
  const cleanup: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const c of cleanup.splice(0).reverse()) await c();
  });
  async function started(args: string[] = ALLOW_LOOPBACK): Promise<Orlojd> {
    const d = await Orlojd.start({ args });
    cleanup.push(() => d.destroy());
    return d;
  }
  async function destination(answer?: ConstructorParameters<typeof Destination>[0]): Promise<Destination> {
    const x = await Destination.start(answer);
    cleanup.push(() => x.close());
    return x;
  }

  it('without --allow-destinations: an IP-literal private URL is refused at apply, and a hostname resolving to loopback is a dead letter with nothing sent', async () => {
    const d = await started([]);
    const dest = await destination();
    await put(d, resource('Collection', 'incidents', {}));
    const refused = await d.api('PUT', '/v1/triggers/lit', resource('Trigger', 'lit', { collection: 'incidents', url: `${dest.url}/x` }));
    expect(refused.status).to.equal(422);
    expect(JSON.stringify(refused.body)).to.include('DestinationNotAllowed');
    const port = new URL(dest.url).port;
    await readyTrigger(d, 'named', { collection: 'incidents', url: `http://localhost:${port}/x` });
    await writeDoc(d, 'incidents', { id: 'a' });
    const dead = await eventually(async () => (await attempts(d, 'named', 'dead_letter'))[0]);
    expect(dead.reason).to.equal('DestinationNotAllowed');
    expect(dest.received).to.have.length(0);
  });

  it('a destination that never answers holds back only itself: the other triggers on the collection are all delivered', async () => {
    const d = await started();
    const slow = await destination(() => 'hang');
    const fast = await destination();
    await put(d, resource('Collection', 'incidents', {}));
    await readyTrigger(d, 'stuck', { collection: 'incidents', url: `${slow.url}/s`, timeout_seconds: 30 });
    for (let i = 0; i < 9; i++) await readyTrigger(d, `t${i}`, { collection: 'incidents', url: `${fast.url}/t${i}` });
    for (let n = 0; n < 3; n++) await writeDoc(d, 'incidents', { id: `w${n}` });
    await eventually(async () => fast.received.length === 27, 10_000);
    expect(new Set(fast.received.map((r) => r.url)).size).to.equal(9);
  });

  it('a backlog larger than a destination may hold in memory is all delivered once the destination recovers', async () => {
    const d = await started();
    let up = false;
    const dest = await destination(() => (up ? 200 : 'hang'));
    await put(d, resource('Collection', 'incidents', {}));
    await readyTrigger(d, 'backlog', { collection: 'incidents', url: `${dest.url}/b`, timeout_seconds: 1, retry: { max_attempts: 20, backoff_seconds: [0] } });
    const n = 700;
    for (let i = 0; i < n; i += 50) await Promise.all(Array.from({ length: 50 }, (_, k) => writeDoc(d, 'incidents', { id: `b${i + k}` })));
    up = true;
    await eventually(async () => (await triggerStatus(d, 'backlog')).deliveredCount === n, 30_000);
    const answered = new Set(dest.received.filter((r) => r.answeredOk).map((r) => JSON.parse(r.body.toString()).document.id as string));
    expect(answered.size).to.equal(n);
  });

  it('while its only destination is busy but answering, the change log keeps the backlog: the queue stays near what the engine holds, and all is delivered', async () => {
    const d = await started();
    let slow = true;
    const dest = await destination(() => (slow ? { status: 200, delayMs: 500 } : 200));
    await put(d, resource('Collection', 'incidents', {}));
    await readyTrigger(d, 'paced', { collection: 'incidents', url: `${dest.url}/p` });
    const depth = async () => Number(/^orloj_trigger_queue_depth\{trigger="default\/paced"\} (\d+)/m.exec((await d.api('GET', '/metrics')).text)?.[1] ?? 0);
    const n = 1500;
    let deepest = 0;
    for (let i = 0; i < n; i += 50) {
      await Promise.all(Array.from({ length: 50 }, (_, k) => writeDoc(d, 'incidents', { id: `p${i + k}` })));
      deepest = Math.max(deepest, await depth());
    }
    // Some seconds on (the destination takes ~32/s), the log has been read well past what the engine holds.
    const later = dest.received.length + 64;
    await eventually(async () => {
      deepest = Math.max(deepest, await depth());
      return dest.received.length >= later;
    }, 10_000);
    // Queued as fast as read, the queue would hold nearly all of them by now.
    expect(deepest, 'messages queued at most').to.be.below(1200);
    slow = false;
    await eventually(async () => (await triggerStatus(d, 'paced')).deliveredCount === n, 30_000);
    const sent = new Set(dest.received.filter((r) => r.answeredOk).map((r) => JSON.parse(r.body.toString()).document.id as string));
    expect(sent.size).to.equal(n);
  });

  it('a destination busy but answering, with a backlog, holds back only its own trigger: another trigger on the collection still gets every change', async () => {
    const d = await started();
    let slow = true;
    const paced = await destination(() => (slow ? { status: 200, delayMs: 500 } : 200));
    const fast = await destination();
    await put(d, resource('Collection', 'incidents', {}));
    await readyTrigger(d, 'paced', { collection: 'incidents', url: `${paced.url}/p` });
    await readyTrigger(d, 'quick', { collection: 'incidents', url: `${fast.url}/q` });
    // More than the paced destination may hold (it takes ~32/s): its backlog waits in the store.
    const n = 1000;
    for (let i = 0; i < n; i += 50) await Promise.all(Array.from({ length: 50 }, (_, k) => writeDoc(d, 'incidents', { id: `p${i + k}` })));
    await eventually(async () => fast.received.length === n, 10_000);
    // One change at a time now: between them the fast destination holds nothing at all.
    for (let i = 0; i < 3; i++) {
      await writeDoc(d, 'incidents', { id: `one${i}` });
      await eventually(async () => fast.received.length === n + i + 1, 4_000);
    }
    expect(paced.received.length, 'sent to the paced destination meanwhile').to.be.below(n / 2);
    slow = false;
    await eventually(async () => (await triggerStatus(d, 'paced')).deliveredCount === n + 3, 30_000);
  });

  it('kill -9 with changes not yet sent: after restart each is delivered, an interrupted attempt again with the same webhook-id', async () => {
    const d = await started();
    const dest = await destination(() => 'hang');
    await put(d, resource('Collection', 'incidents', {}));
    await readyTrigger(d, 'k', { collection: 'incidents', url: `${dest.url}/k`, timeout_seconds: 60 });
    for (let i = 0; i < 5; i++) await writeDoc(d, 'incidents', { id: `c${i}` });
    await eventually(async () => dest.received.length === 5);
    const before = new Map(dest.received.map((r) => [JSON.parse(r.body.toString()).document.id as string, r.headers['webhook-id']]));
    await d.kill9();
    dest.answerWith(() => 200);
    await d.restart({ args: ALLOW_LOOPBACK });
    for (let i = 5; i < 8; i++) await writeDoc(d, 'incidents', { id: `c${i}` });
    await eventually(async () => (await attempts(d, 'k', 'delivered')).length === 8, 15_000);
    const after = dest.received.slice(5);
    const ids = after.map((r) => JSON.parse(r.body.toString()).document.id as string).sort();
    expect(ids).to.deep.equal(['c0', 'c1', 'c2', 'c3', 'c4', 'c5', 'c6', 'c7']);
    for (const r of after) {
      const id = JSON.parse(r.body.toString()).document.id as string;
      if (before.has(id)) expect(r.headers['webhook-id']).to.equal(before.get(id));
    }
    // The cut-off attempt counted for nothing: each was delivered on its first counted attempt.
    expect((await attempts(d, 'k', 'delivered')).every((r) => r.attempt === 1)).to.equal(true);
  });

  it('fires on run tasks a TaskWebhook creates, selected by label', async () => {
    const d = await started();
    const dest = await destination();
    await readyTrigger(d, 'tasks', { resource: 'tasks', label_selector: 'orloj.dev/task-webhook=hook', events: ['create'], url: `${dest.url}/tasks` });
    const path = await readyWebhook(d, 'hook', 'sekret');
    const r = await send(d, path, { secret: 'sekret', eventId: 'ev-1', body: '{"x":1}' });
    expect(r.status).to.equal(202);
    await eventually(async () => dest.received.length === 1);
    const m = dest.json(0);
    expect(m.type).to.equal('task.created');
    expect(m.resource).to.equal('tasks');
    expect(m.task.metadata.labels['orloj.dev/task-webhook']).to.equal('hook');
  });

  it('external write: an API-created document reaches the upstream in its external shape, and the upstream\'s inbound delivery updates it without firing again', async () => {
    const d = await started();
    const up = await destination((_, r) => ({ status: 200, body: JSON.stringify({ record: { id: r.url.split('/').pop() } }) }));
    await put(d, resource('Collection', 'incidents', {}));
    await put(d, resource('Source', 'shop', {
      collection: 'incidents', write: { url: `${up.url}/records/{id}`, method: 'PUT', id_path: 'record.id' },
      field_mapping: { to_external: { title: 'summary', severity: 'urgency' }, value_maps: { severity: { p1: 'high', p3: 'low' } } },
    }));
    await readyTrigger(d, 'sync', { target: { source: 'shop' }, events: ['create', 'update'] });
    await writeDoc(d, 'incidents', { id: 'i-1', title: 'disk full', severity: 'p1' });
    await eventually(async () => up.received.length === 1);
    expect(up.received[0]!.method).to.equal('PUT');
    expect(up.received[0]!.url).to.equal('/records/i-1');
    expect(up.json(0)).to.deep.equal({ id: 'i-1', summary: 'disk full', urgency: 'high' });
    expect(up.received[0]!.headers['webhook-signature']).to.match(/^v1,/);
    await eventually(async () => (await d.api('GET', '/v1/collections/incidents/documents/i-1')).body.meta.externalId === 'i-1');

    await put(d, { apiVersion: 'orloj.dev/v1', kind: 'Secret', metadata: { name: 'shop-key' }, spec: { stringData: { key: 'shop-key-1' } } } as never);
    const { readyInbound } = await import('../receiver/inbound/helpers.js');
    const st = await readyInbound(d, 'from-shop', {
      collection: 'incidents', secret_ref: 'shop-key', ingest_auth: { type: 'static_header', header: 'X-Shop-Key' }, source_binding: { collection: 'incidents', source: 'shop' },
    });
    const { post } = await import('../helpers/deliveries.js');
    const res = await post(d, st.endpointPath, { 'content-type': 'application/json', 'X-Shop-Key': 'shop-key-1' }, '{"id":"i-1","summary":"disk full","urgency":"low"}');
    expect(res.status, res.text).to.equal(202);
    const doc = (await d.api('GET', '/v1/collections/incidents/documents/i-1')).body;
    expect(doc.data).to.deep.equal({ id: 'i-1', title: 'disk full', severity: 'p3' });
    // A later API write does fire: the trigger is alive, and the inbound write before it fired nothing.
    await d.api('PUT', '/v1/collections/incidents/documents/i-1', { id: 'i-1', title: 'disk full', severity: 'p1' });
    await eventually(async () => up.received.length === 2);
    expect(up.json(1)).to.deep.equal({ id: 'i-1', summary: 'disk full', urgency: 'high' });
  });
});
