// Seed 000 (inbound webhooks): create with the CLI's flags, list/get/delete, schema
// validation, static_header, field mapping inline or reused from a Source.
import { createHmac } from 'node:crypto';
import { expect } from 'chai';
import { eventually, Orlojd } from '../../helpers/orlojd.js';
import { put, readyOf, resource, secret } from '../../helpers/fixtures.js';
import { post } from '../../helpers/deliveries.js';
import { ctl } from '../../cli/ctl.js';
import { collection, document, readyInbound, type InboundStatus } from './helpers.js';

const HMAC_SECRET = 'pd-hmac-secret';

describe('seed 000: inbound webhooks into a collection', function () {
  let d: Orlojd;
  const json = { 'Content-Type': 'application/json' };
  before(async () => {
    d = await Orlojd.start();
    await collection(d, 'incidents', {
      schema: { type: 'object', required: ['title', 'severity'], properties: { title: { type: 'string' }, severity: { enum: ['p1', 'p2', 'p3'] }, status: { type: 'string' } } },
    });
    await collection(d, 'events');
  });
  after(async () => d.destroy());

  const status = async (name: string): Promise<InboundStatus> =>
    eventually(async () => {
      const w = (await d.api('GET', `/v1/inbound-webhooks/${name}`)).body;
      return readyOf(w)?.status === 'True' ? (w.status as InboundStatus) : undefined;
    });
  const signed = (body: string, id: string) => {
    const ts = String(Math.floor(Date.now() / 1000));
    return { ...json, 'X-Timestamp': ts, 'X-Event-Id': id, 'X-Signature': `sha256=${createHmac('sha256', HMAC_SECRET).update(`${ts}.${body}`).digest('hex')}` };
  };

  it('create inbound-webhook with --secret, then list, get and delete it', async () => {
    const created = await ctl(d, ['create', 'inbound-webhook', 'pagerduty-incidents', '--collection', 'incidents', '--secret', HMAC_SECRET]);
    expect(created.code, created.stderr).to.equal(0);
    expect(created.stdout).to.include('secret/pagerduty-incidents-secret created').and.include('inbound-webhook/pagerduty-incidents created');
    const st = await status('pagerduty-incidents');
    expect(st.ingestURLs.inbound).to.equal(`/inbound/orloj/default/${st.endpointID}/ingest`);
    const list = await ctl(d, ['get', 'inbound-webhooks']);
    expect(list.stdout).to.match(/pagerduty-incidents\s+incidents\s+hmac\s+\/v1\/webhook-deliveries\/\S+\s+True/);
    expect((await ctl(d, ['get', 'iw', 'pagerduty-incidents', '-o', 'json'])).stdout).to.include('"collection": "incidents"');
    const body = '{"title":"API spike","severity":"p1"}';
    const res = await post(d, st.ingestURLs.inbound!, signed(body, 'pd-1'), body);
    expect(res.status).to.equal(202);
    expect(res.body).to.include({ accepted: true, duplicate: false, status: 'accepted', fieldsUpdated: 2, event_id: 'pd-1' });
    expect((await document(d, 'incidents', res.body.itemId as string)).body.data).to.deep.equal({ title: 'API spike', severity: 'p1' });
    expect((await post(d, `/inbound/orloj/other-ns/${st.endpointID}/ingest`, signed(body, 'pd-2'), body)).status).to.equal(404);
    const deliveries = await ctl(d, ['inbound-webhook', 'deliveries', 'pagerduty-incidents']);
    expect(deliveries.stdout).to.match(/InboundWebhook\/default\/pagerduty-incidents\s+pd-1\s+accepted\s+202/);
    const del = await ctl(d, ['delete', 'inbound-webhook', 'pagerduty-incidents']);
    expect(del.code, del.stderr).to.equal(0);
    expect((await post(d, st.endpointPath, signed(body, 'pd-3'), body)).status).to.equal(404);
  });

  it('a payload that violates the schema: 400 to the sender, the field in lastError; nothing stored', async () => {
    await put(d, secret('pd', { key: HMAC_SECRET }));
    const st = await readyInbound(d, 'pd', { collection: 'incidents', secret_ref: 'pd' });
    const body = '{"title":"no severity"}';
    const res = await post(d, st.endpointPath, signed(body, 'bad-1'), body);
    expect(res.status).to.equal(400);
    expect(res.body.message).to.equal('payload does not match the collection schema');
    expect(res.text).not.to.include('severity');
    await eventually(async () => ((await d.api('GET', '/v1/inbound-webhooks/pd')).body.status.lastError ?? '').includes('data.severity'));
    const again = await post(d, st.endpointPath, signed('{"title":"t","severity":"p2"}', 'bad-1'), '{"title":"t","severity":"p2"}');
    expect(again.body.duplicate, 'a refused event was not claimed').to.equal(false);
  });

  it('static_header: the configured header must carry a key of the Secret (constant-time)', async () => {
    await put(d, secret('account', { key: 'acct-key-1' }));
    const st = await readyInbound(d, 'account-events', { collection: 'events', secret_ref: 'account', ingest_auth: { type: 'static_header', header: 'X-Account-Key' } });
    expect((await post(d, st.endpointPath, { ...json, 'X-Account-Key': 'acct-key-1' }, '{"id":"e1"}')).status).to.equal(202);
    expect((await post(d, st.endpointPath, { ...json, 'X-Account-Key': 'acct-key-2' }, '{"id":"e2"}')).status).to.equal(401);
    expect((await post(d, st.endpointPath, json, '{"id":"e3"}')).status).to.equal(401);
  });

  it('field_mapping {to_external: {status: state}} stores the external state as the native status', async () => {
    await put(d, secret('account', { key: 'acct-key-1' }));
    const st = await readyInbound(d, 'mapped', {
      collection: 'incidents', secret_ref: 'account', ingest_auth: { type: 'static_header', header: 'X-Account-Key' }, field_mapping: { to_external: { status: 'state' } },
    });
    const res = await post(d, st.endpointPath, { ...json, 'X-Account-Key': 'acct-key-1' }, '{"id":"i-7","title":"t","severity":"p3","state":"acknowledged"}');
    expect(res.status).to.equal(202);
    expect((await document(d, 'incidents', 'i-7')).body.data).to.deep.equal({ id: 'i-7', title: 't', severity: 'p3', status: 'acknowledged' });
  });

  it("source_binding reuses the Source's mapping; binding and mapping together are refused", async () => {
    await put(d, resource('Source', 'shop-api', { collection: 'incidents', field_mapping: { to_external: { title: 'summary', severity: 'urgency' }, value_maps: { severity: { p1: 'high', p3: 'low' } } } }));
    const st = await readyInbound(d, 'orders', {
      collection: 'incidents', secret_ref: 'account', ingest_auth: { type: 'static_header', header: 'X-Account-Key' }, source_binding: { collection: 'incidents', source: 'shop_api' },
    });
    const res = await post(d, st.endpointPath, { ...json, 'X-Account-Key': 'acct-key-1' }, '{"id":"o-1","summary":"disk full","urgency":"high"}');
    expect(res.status, res.text).to.equal(202);
    expect((await document(d, 'incidents', 'o-1')).body.data).to.deep.equal({ id: 'o-1', title: 'disk full', severity: 'p1' });
    const both = await ctl(d, ['create', 'inbound-webhook', 'both', '--collection', 'incidents', '--source-binding', '{"collection":"incidents","source":"shop-api"}', '--field-mapping', '{"to_external":{"a":"b"}}']);
    expect(both.code).to.not.equal(0);
    expect(both.stderr).to.match(/mutually exclusive/);
    const api = await d.api('PUT', '/v1/inbound-webhooks/both', resource('InboundWebhook', 'both', {
      collection: 'incidents', secret_ref: 'account', source_binding: { collection: 'incidents', source: 'shop-api' }, field_mapping: { to_external: { a: 'b' } },
    }));
    expect(api.status).to.equal(422);
  });
});
