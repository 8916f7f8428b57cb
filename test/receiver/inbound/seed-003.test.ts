// Seed 003 (GetHook ingest): path tokens, raw bodies of any type, idempotency headers,
// sensitive headers never stored, the 5 MB limit, Stripe signatures when configured.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { request } from 'node:http';
import { expect } from 'chai';
import Stripe from 'stripe';
import { eventually, Orlojd } from '../../helpers/orlojd.js';
import { put, resource, secret } from '../../helpers/fixtures.js';
import { post } from '../../helpers/deliveries.js';
import { collection, document, documents, readyInbound, type InboundStatus } from './helpers.js';

const STRIPE_SECRET = 'whsec_your_stripe_signing_secret';

describe('seed 003: ingest by path token', function () {
  let d: Orlojd;
  let relay: InboundStatus;
  let stripe: InboundStatus;
  const json = { 'Content-Type': 'application/json' };
  before(async () => {
    d = await Orlojd.start();
    await collection(d, 'events');
    await collection(d, 'payments');
    await put(d, secret('stripe', { key: STRIPE_SECRET }));
    relay = await readyInbound(d, 'relay', { collection: 'events', ingest_auth: { type: 'path_token' }, payload: { mode: 'raw' } });
    stripe = await readyInbound(d, 'stripe', { collection: 'payments', secret_ref: 'stripe', ingest_auth: { type: 'hmac', profile: 'stripe' } });
  });
  after(async () => d.destroy());

  it('the basic example: the token alone authenticates; 202 {data: {id, status: "queued"}}', async () => {
    expect(relay.ingestURLs.ingest).to.equal(`/ingest/src_${relay.endpointID}`);
    expect(relay.ingestURLs).not.to.have.property('webhook');
    const res = await post(d, relay.ingestURLs.ingest!, json, '{"type": "payment.succeeded", "amount": 2000}');
    expect(res.status).to.equal(202);
    expect(res.body).to.have.keys(['data']);
    expect(res.body.data).to.have.keys(['id', 'status']);
    expect((res.body.data as { status: string }).status).to.equal('queued');
    const doc = (await document(d, 'events', (res.body.data as { id: string }).id)).body;
    expect(Buffer.from(doc.raw, 'base64').toString()).to.equal('{"type": "payment.succeeded", "amount": 2000}');
    expect(doc.meta).to.include({ contentType: 'application/json', origin: 'inbound_webhook' });
  });

  it('keeps X-Event-Type on the document, and answers reads of it with X-Orloj-Source', async () => {
    const res = await post(d, relay.ingestURLs.ingest!, { ...json, 'X-Event-Type': 'payment.succeeded' }, '{"id": "evt_abc123", "amount": 2000}');
    const read = await document(d, 'events', (res.body.data as { id: string }).id);
    expect(read.body.meta.eventType).to.equal('payment.succeeded');
    expect(read.headers.get('x-orloj-source')).to.equal('inbound_webhook');
  });

  it('each idempotency header deduplicates: the repeat is {data: {status: "accepted", note: "duplicate"}}', async () => {
    for (const h of ['X-Webhook-Id', 'X-Event-Id', 'Idempotency-Key', 'X-Request-Id']) {
      const id = `evt_stripe_${h}`;
      const first = await post(d, relay.ingestURLs.ingest!, { ...json, [h]: id }, `{"id": "${id}", "type": "charge.succeeded"}`);
      expect(first.status, h).to.equal(202);
      const again = await post(d, relay.ingestURLs.ingest!, { ...json, [h]: id }, `{"id": "${id}", "type": "charge.succeeded"}`);
      expect(again.status, h).to.equal(202);
      expect(again.body, h).to.deep.equal({ data: { status: 'accepted', note: 'duplicate' } });
    }
  });

  it('stores any raw body byte-exact with its content type (form, XML, text, binary)', async () => {
    const bodies: Array<[string, Buffer]> = [
      ['application/x-www-form-urlencoded', Buffer.from('a=1&b=%C3%A9')],
      ['application/xml', Buffer.from('<event><id>1</id></event>')],
      ['text/plain; charset=utf-8', Buffer.from('plain text, ünïcode')],
      ['application/octet-stream', Buffer.from([0, 255, 10, 13, 0x80, 0xfe])],
    ];
    for (const [type, bytes] of bodies) {
      const res = await fetch(d.url + relay.ingestURLs.ingest!, { method: 'POST', headers: { 'content-type': type }, body: new Uint8Array(bytes) });
      expect(res.status, type).to.equal(202);
      const { data } = (await res.json()) as { data: { id: string } };
      const doc = (await document(d, 'events', data.id)).body;
      expect(Buffer.from(doc.raw, 'base64').equals(bytes), type).to.equal(true);
      expect(doc.meta.contentType).to.equal(type);
    }
  });

  it('never stores Authorization or Cookie', async () => {
    const marker = 'Sensitive-9f3c1e7a';
    await post(d, relay.ingestURLs.ingest!, { ...json, Authorization: `Bearer ${marker}-auth`, Cookie: `session=${marker}-cookie` }, '{"n":1}');
    const docs = await documents(d, 'events');
    expect(JSON.stringify(docs)).not.to.include(marker);
    const records = (await d.api('GET', '/v1/deliveries?owner=inbound-webhook/relay&limit=1000')).body;
    expect(JSON.stringify(records)).not.to.include(marker);
    await d.stop();
    for (const f of readdirSync(d.dataDir)) expect(readFileSync(join(d.dataDir, f)).includes(marker), f).to.equal(false);
    await d.restart();
  });

  it('5 MiB + 1 byte answers 413 from the declared length, before the body is read', async () => {
    const size = 5 * 1024 * 1024 + 1;
    const answer = await new Promise<{ status: number; sent: number }>((resolve, reject) => {
      const req = request(d.url + relay.ingestURLs.ingest!, { method: 'POST', headers: { 'content-type': 'application/octet-stream', 'content-length': size } });
      let sent = 0;
      req.on('response', (res) => {
        res.resume();
        resolve({ status: res.statusCode!, sent });
      });
      req.on('error', reject);
      // Only the first 64 KiB: the answer must not wait for the rest.
      const chunk = Buffer.alloc(64 * 1024);
      sent += chunk.length;
      req.write(chunk);
    });
    expect(answer.status).to.equal(413);
    expect(answer.sent).to.be.below(size);
    const exact = await post(d, relay.ingestURLs.ingest!, { 'content-type': 'application/octet-stream' }, 'x'.repeat(5 * 1024 * 1024));
    expect(exact.status).to.equal(202);
  });

  it('404 for an unknown token, a token of another route shape, or a suspended source', async () => {
    expect((await post(d, '/ingest/src_a1b2c3d4e5f6', json, '{}')).status).to.equal(404);
    expect((await post(d, `/ingest/${relay.endpointID}`, json, '{}')).status).to.equal(404);
    await put(d, resource('InboundWebhook', 'paused', { collection: 'events', ingest_auth: { type: 'path_token' }, suspend: true }));
    const paused = await eventually(async () => {
      const w = (await d.api('GET', '/v1/inbound-webhooks/paused')).body;
      return w.status?.phase === 'Suspended' ? (w.status as InboundStatus) : undefined;
    });
    expect((await post(d, paused.ingestURLs.ingest!, json, '{}')).status).to.equal(404);
    expect((await post(d, paused.endpointPath, json, '{}')).status, 'native route says suspended').to.equal(409);
  });

  it('the Stripe example: Stripe-Signature is checked when the source is configured for it', async () => {
    const payload = '{"id":"evt_test","type":"payment_intent.succeeded"}';
    const header = Stripe.webhooks.generateTestHeaderString({ payload, secret: STRIPE_SECRET });
    const ok = await post(d, stripe.ingestURLs.ingest!, { ...json, 'Stripe-Signature': header }, payload);
    expect(ok.status).to.equal(202);
    expect((ok.body.data as { status: string }).status).to.equal('queued');
    const dup = await post(d, stripe.ingestURLs.ingest!, { ...json, 'Stripe-Signature': header }, payload);
    expect(dup.body).to.deep.equal({ data: { status: 'accepted', note: 'duplicate' } });
    const forged = Stripe.webhooks.generateTestHeaderString({ payload, secret: 'whsec_other' });
    expect((await post(d, stripe.ingestURLs.ingest!, { ...json, 'Stripe-Signature': forged }, payload)).status).to.equal(401);
    expect((await post(d, stripe.ingestURLs.ingest!, json, payload)).status).to.equal(401);
    expect((await document(d, 'payments', 'evt_test')).body.data).to.deep.equal({ id: 'evt_test', type: 'payment_intent.succeeded' });
  });
});
