// Seed 002 (webhook ingestion): bearer ingest keys, ?idField=, flattening, the sha256= signature.
import { createHmac } from 'node:crypto';
import { expect } from 'chai';
import { eventually, Orlojd } from '../../helpers/orlojd.js';
import { put, secret } from '../../helpers/fixtures.js';
import { post } from '../../helpers/deliveries.js';
import { collection, document, documents, readyInbound } from './helpers.js';

const KEY = 'ik_5f8d4c2a91be_pULjS4J8VbD2WXQYjM4f9m1i3p4lQ7mN1k2sT6uR';
const SIGNING_KEY = 'whsk_your_signing_key_here';

describe('seed 002: webhook ingestion with bearer keys', function () {
  let d: Orlojd;
  const bearer = { Authorization: `Bearer ${KEY}`, 'Content-Type': 'application/json' };
  before(async () => {
    d = await Orlojd.start();
    await collection(d, 'sales');
    await collection(d, 'app-metrics');
    await put(d, secret('sales-keys', { first: KEY, older: 'ik_000000000000_previousKeyStillAccepted' }));
    await put(d, secret('signing', { key: SIGNING_KEY }));
    await readyInbound(d, 'sales', { collection: 'sales', secret_ref: 'sales-keys', ingest_auth: { type: 'bearer' }, flatten: true });
    await readyInbound(d, 'app-metrics', { collection: 'app-metrics', secret_ref: 'sales-keys', ingest_auth: { type: 'bearer' } });
    await readyInbound(d, 'signed', { collection: 'sales', secret_ref: 'sales-keys', ingest_auth: { type: 'bearer', signing_secret_ref: 'signing' } });
  });
  after(async () => d.destroy());

  it('accepts a JSON object with the ingest key: 202 {status, itemId, fieldsUpdated}, the id generated', async () => {
    const res = await post(d, '/api/webhook/sales', bearer, '{ "region": "North", "sales": 142000, "target": 130000 }');
    expect(res.status).to.equal(202);
    expect(res.body).to.have.keys(['status', 'itemId', 'fieldsUpdated']);
    expect(res.body).to.include({ status: 'accepted', fieldsUpdated: 3 });
    const doc = (await document(d, 'sales', res.body.itemId as string)).body;
    expect(doc.data).to.deep.equal({ region: 'North', sales: 142000, target: 130000 });
    expect(doc.meta.origin).to.equal('inbound_webhook');
  });

  it('?idField=region upserts the item keyed by region; a repeat updates the same item', async () => {
    const first = await post(d, '/api/webhook/sales?idField=region', bearer, '{ "region": "North", "sales": 142000 }');
    expect(first.status).to.equal(202);
    expect(first.body).to.deep.equal({ status: 'accepted', itemId: 'North', fieldsUpdated: 2 });
    const again = await post(d, '/api/webhook/sales?idField=region', bearer, '{ "region": "North", "sales": 150000 }');
    expect(again.body).to.deep.equal({ status: 'accepted', itemId: 'North', fieldsUpdated: 2 });
    const doc = (await document(d, 'sales', 'North')).body;
    expect(doc.data.sales).to.equal(150000);
    expect(doc.meta.version).to.equal(2);
  });

  it('the id property is the default item id, and nested values are stored as JSON strings with flatten', async () => {
    const res = await post(d, '/api/webhook/sales', bearer, JSON.stringify({ id: 'q1', region: 'South', owners: ['a', 'b'], detail: { q: 1 }, updated: '2026-04-09T10:30:00Z', ok: true, none: null }));
    expect(res.body).to.include({ itemId: 'q1', fieldsUpdated: 7 });
    const doc = (await document(d, 'sales', 'q1')).body;
    expect(doc.data).to.deep.equal({ id: 'q1', region: 'South', owners: '["a","b"]', detail: '{"q":1}', updated: '2026-04-09T10:30:00Z', ok: true, none: null });
  });

  it('the CI/CD and Node.js examples: ?idField=build and ?idField=service', async () => {
    const ci = await post(d, '/api/webhook/sales?idField=build', bearer, '{ "build": "1234", "status": "deployed", "durationSeconds": 87 }');
    expect(ci.body).to.deep.equal({ status: 'accepted', itemId: '1234', fieldsUpdated: 3 });
    const node = await post(d, '/api/webhook/app-metrics?idField=service', bearer, JSON.stringify({ service: 'api-gateway', requestsPerMinute: 340, errorRate: 0.02 }));
    expect(node.body).to.deep.equal({ status: 'accepted', itemId: 'api-gateway', fieldsUpdated: 3 });
    expect((await documents(d, 'app-metrics')).map((x) => x.id)).to.deep.equal(['api-gateway']);
  });

  it('400 for a missing or invalid JSON body, 401 for a missing or invalid key; every key of the Secret works', async () => {
    for (const body of ['', 'not json', '[1,2]', 'null', '"text"']) {
      const res = await post(d, '/api/webhook/sales', bearer, body);
      expect(res.status, body).to.equal(400);
    }
    expect((await post(d, '/api/webhook/sales', { 'Content-Type': 'application/json' }, '{"a":1}')).status).to.equal(401);
    expect((await post(d, '/api/webhook/sales', { ...bearer, Authorization: 'Bearer ik_wrong_key' }, '{"a":1}')).status).to.equal(401);
    expect((await post(d, '/api/webhook/sales', { ...bearer, Authorization: `Basic ${KEY}` }, '{"a":1}')).status).to.equal(401);
    expect((await post(d, '/api/webhook/sales', { ...bearer, Authorization: 'Bearer ik_000000000000_previousKeyStillAccepted' }, '{"a":1}')).status).to.equal(202);
    expect((await post(d, '/api/webhook/nope', bearer, '{"a":1}')).status).to.equal(404);
    const w = (await d.api('GET', '/v1/inbound-webhooks/sales')).body;
    await eventually(async () => ((await d.api('GET', '/v1/inbound-webhooks/sales')).body.status.rejectedCount ?? 0) >= 8);
    expect(JSON.stringify(w.status)).not.to.include(KEY);
  });

  it('with a signing key: X-Webhook-Signature over timestamp.body within 5 minutes is required too', async () => {
    const body = '{"region":"North","sales":142000}';
    const sign = (ts: number, b = body) => `sha256=${createHmac('sha256', SIGNING_KEY).update(`${ts}.${b}`).digest('hex')}`;
    const now = Math.floor(Date.now() / 1000);
    const ok = await post(d, '/api/webhook/signed?idField=region', { ...bearer, 'X-Webhook-Signature': sign(now), 'X-Webhook-Timestamp': String(now) }, body);
    expect(ok.status).to.equal(202);
    expect(ok.body).to.deep.equal({ status: 'accepted', itemId: 'North', fieldsUpdated: 2 });
    expect((await post(d, '/api/webhook/signed', bearer, body)).status, 'unsigned').to.equal(401);
    const old = now - 301;
    expect((await post(d, '/api/webhook/signed', { ...bearer, 'X-Webhook-Signature': sign(old), 'X-Webhook-Timestamp': String(old) }, body)).status, 'stale').to.equal(401);
    expect((await post(d, '/api/webhook/signed', { ...bearer, 'X-Webhook-Signature': sign(now, '{}'), 'X-Webhook-Timestamp': String(now) }, body)).status, 'other body').to.equal(401);
    // Without a signing key those headers are ignored.
    expect((await post(d, '/api/webhook/sales', { ...bearer, 'X-Webhook-Signature': 'sha256=00', 'X-Webhook-Timestamp': '1' }, body)).status).to.equal(202);
  });

  it('a generated ingest key (no secret_ref) authenticates, named in status.secretRef', async () => {
    const st = await readyInbound(d, 'generated', { collection: 'sales', ingest_auth: { type: 'bearer' } });
    const s = (await d.api('GET', `/v1/secrets/${st.secretRef}?reveal=true`)).body;
    const key = Buffer.from(s.spec.data.key1, 'base64').toString();
    const res = await post(d, '/api/webhook/generated', { 'Content-Type': 'application/json', Authorization: `Bearer ${key}` }, '{"id":"g1"}');
    expect(res.status).to.equal(202);
    expect(res.body.itemId).to.equal('g1');
  });
});
