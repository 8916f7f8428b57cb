import { expect } from 'chai';
import { eventually, Orlojd } from '../../helpers/orlojd.js';
import { put, readyOf, resource, secret } from '../../helpers/fixtures.js';

describe('InboundWebhook reconciler', function () {
  let d: Orlojd;
  before(async () => {
    d = await Orlojd.start();
  });
  after(async () => d.destroy());

  const get = async (name: string) => (await d.api('GET', `/v1/inbound-webhooks/${name}`)).body;
  const waitReason = (name: string, status: string, reason: string) =>
    eventually(async () => {
      const w = await get(name);
      const c = readyOf(w);
      return c?.status === status && c.reason === reason ? w : undefined;
    }, 5000);

  it('bearer without a secret_ref: generates an ingest key Secret and shows every ingest URL', async () => {
    await put(d, resource('Collection', 'sales', {}));
    await put(d, resource('InboundWebhook', 'sales', { collection: 'sales', ingest_auth: { type: 'bearer' } }));
    const w = await waitReason('sales', 'True', 'Ready');
    expect(w.status.secretRef).to.equal('sales-ingest-key');
    const id = w.status.endpointID as string;
    expect(id).to.match(/^[A-Za-z0-9_-]{32}$/);
    expect(w.status.ingestURLs).to.deep.equal({
      native: `/v1/webhook-deliveries/${id}`,
      ingest: `/ingest/src_${id}`,
      inbound: `/inbound/orloj/default/${id}/ingest`,
      webhook: '/api/webhook/sales?namespace=default',
    });
    const s = (await d.api('GET', '/v1/secrets/sales-ingest-key?reveal=true')).body;
    const key = Buffer.from(s.spec.data.key1, 'base64').toString();
    expect(key).to.match(/^ik_[0-9a-f]{12}_[A-Za-z0-9_-]{40}$/);
    expect(d.logs).not.to.include(key);
  });

  it('waits for its collection, source and secret, then recovers by itself', async () => {
    await put(d, resource('InboundWebhook', 'orders', {
      collection: 'orders', secret_ref: 'orders-key', ingest_auth: { type: 'static_header', header: 'X-Account-Key' },
      source_binding: { collection: 'orders', source: 'shop_api' },
    }));
    const broken = await waitReason('orders', 'False', 'CollectionNotFound');
    expect(broken.status.lastError).to.include('orders');
    await put(d, resource('Collection', 'orders', {}));
    await waitReason('orders', 'False', 'SourceNotFound');
    await put(d, resource('Source', 'shop-api', { collection: 'orders', field_mapping: { to_external: { status: 'state' } } }));
    await waitReason('orders', 'False', 'SecretNotFound');
    await put(d, secret('orders-key', { k: 'account-key-1' }));
    await waitReason('orders', 'True', 'Ready');
  });

  it('refuses at apply: binding and mapping together, a missing secret_ref, fields of another scheme', async () => {
    const bad = async (spec: Record<string, unknown>) => {
      const res = await d.api('PUT', '/v1/inbound-webhooks/bad', resource('InboundWebhook', 'bad', spec));
      expect(res.status, JSON.stringify(spec)).to.equal(422);
      return (res.body.details.causes as Array<{ field: string }>).map((c) => c.field);
    };
    expect(await bad({ collection: 'c', secret_ref: 's', source_binding: { collection: 'c', source: 'x' }, field_mapping: { to_external: { a: 'b' } } })).to.include('spec.field_mapping');
    expect(await bad({ collection: 'c' })).to.include('spec.secret_ref');
    expect(await bad({ collection: 'c', ingest_auth: { type: 'path_token', header: 'X' } })).to.include('spec.ingest_auth.header');
    expect(await bad({ collection: 'c', ingest_auth: { type: 'static_header' }, secret_ref: 's' })).to.include('spec.ingest_auth.header');
    expect(await bad({ collection: 'c', ingest_auth: { type: 'path_token' }, field_mapping: { to_external: { a: 'x', b: 'x' } } })).to.include('spec.field_mapping.to_external.b');
  });
});
