// What hydration needs, checked at apply (422 naming the field) and again by the reconciler,
// and the SSRF guard on the Source's read URL.
import { expect } from 'chai';
import { eventually, Orlojd } from '../helpers/orlojd.js';
import { put, readyOf, resource, secret } from '../helpers/fixtures.js';
import {
  ACCOUNT_HEADER, ACCOUNT_KEY, ALLOW_LOOPBACK, doc, hydrationStack, ORDERS_SCHEMA, queued, readyHydrating, settled, shopOrder, Upstream,
} from './helpers.js';

interface Cause { field: string; message: string }
const causesOf = (body: { details?: { causes?: Cause[] } }): Cause[] => body.details?.causes ?? [];

describe('hydration: what it needs, refused at apply and re-checked', function () {
  this.timeout(60_000);
  let d: Orlojd;
  let up: Upstream;
  const base = { collection: 'orders', secret_ref: 'account', ingest_auth: { type: 'static_header', header: ACCOUNT_HEADER } };
  const hydration = { id_path: 'record_id' };
  const apply = (name: string, spec: Record<string, unknown>) => d.api('PUT', `/v1/inbound-webhooks/${name}`, resource('InboundWebhook', name, spec));

  before(async () => {
    up = await Upstream.start('/orders/');
    d = await Orlojd.start({ args: ALLOW_LOOPBACK });
    await put(d, resource('Collection', 'orders', { schema: ORDERS_SCHEMA }));
    await put(d, resource('Collection', 'invoices', {}));
    await put(d, secret('account', { key: ACCOUNT_KEY }));
    await put(d, resource('Source', 'shop-api', { collection: 'orders', read: { url: up.readUrl }, field_mapping: { to_external: { status: 'state' } } }));
    await put(d, resource('Source', 'write-only', { collection: 'orders', write: { url: `${up.url}/orders` } }));
    await put(d, resource('Source', 'invoices-api', { collection: 'invoices', read: { url: `${up.url}/invoices/{id}` } }));
  });
  after(async () => {
    await d.destroy();
    await up.close();
  });

  it('accepts hydration with a binding to a Source that reads, filling in the defaults', async () => {
    const ok = await apply('good', { ...base, source_binding: { collection: 'orders', source: 'shop_api' }, hydration });
    expect(ok.status, ok.text).to.be.oneOf([200, 201]);
    expect(ok.body.spec.hydration).to.deep.include({ id_path: 'record_id', merge: false });
    expect(ok.body.spec.hydration.retry).to.deep.equal({ max_attempts: 5, backoff_seconds: [1, 5, 30, 120] });
    await readyHydrating(d, 'good', { ...base, source_binding: { collection: 'orders', source: 'shop_api' }, hydration });
  });

  it('without a source_binding: 422 naming spec.hydration, the message saying it needs source_binding', async () => {
    const res = await apply('unbound', { ...base, hydration });
    expect(res.status).to.equal(422);
    const c = causesOf(res.body).find((x) => x.field === 'spec.hydration');
    expect(c, res.text).to.not.equal(undefined);
    expect(c!.message).to.include('source_binding');
    expect((await d.api('GET', '/v1/inbound-webhooks/unbound')).status).to.equal(404);
  });

  it('bound to a Source without read: 422 naming spec.hydration, the Source and "read"', async () => {
    const res = await apply('no-read', { ...base, source_binding: { collection: 'orders', source: 'write-only' }, hydration });
    expect(res.status).to.equal(422);
    const c = causesOf(res.body).find((x) => x.field === 'spec.hydration');
    expect(c, res.text).to.not.equal(undefined);
    expect(c!.message).to.include('write-only').and.include('read');
  });

  it('with payload.mode raw: 422 naming spec.payload.mode', async () => {
    const withBinding = await apply('raw', { ...base, source_binding: { collection: 'orders', source: 'shop-api' }, payload: { mode: 'raw' }, hydration });
    expect(withBinding.status).to.equal(422);
    expect(causesOf(withBinding.body).map((c) => c.field), withBinding.text).to.include('spec.payload.mode');
    const without = await apply('raw-unbound', { ...base, payload: { mode: 'raw' }, hydration });
    expect(without.status).to.equal(422);
    expect(causesOf(without.body).map((c) => c.field), without.text).to.include.members(['spec.payload.mode', 'spec.hydration']);
  });

  it('refuses a missing id_path, an event_map value other than upsert or delete, and retry out of range', async () => {
    const bound = { ...base, source_binding: { collection: 'orders', source: 'shop-api' } };
    for (const [h, field] of [
      [{ event_path: 'event' }, 'spec.hydration.id_path'],
      [{ id_path: 'record_id', event_map: { X: 'archive' } }, 'spec.hydration.event_map'],
      [{ id_path: 'record_id', retry: { max_attempts: 0 } }, 'spec.hydration.retry.max_attempts'],
      [{ id_path: 'record_id', retry: { max_attempts: 101 } }, 'spec.hydration.retry.max_attempts'],
      [{ id_path: 'record_id', retry: { backoff_seconds: [-1] } }, 'spec.hydration.retry.backoff_seconds'],
    ] as const) {
      const res = await apply('bad-hydration', { ...bound, hydration: h });
      expect(res.status, JSON.stringify(h)).to.equal(422);
      expect(causesOf(res.body).some((c) => c.field.startsWith(field)), `${JSON.stringify(h)}: ${res.text}`).to.equal(true);
    }
  });

  it("refuses a binding whose Source serves another collection than the webhook's", async () => {
    const res = await apply('cross', { ...base, collection: 'invoices', source_binding: { collection: 'invoices', source: 'shop-api' }, hydration });
    expect(res.status, res.text).to.equal(422);
    expect(causesOf(res.body).some((c) => c.field.startsWith('spec.')), res.text).to.equal(true);
  });

  it('re-checked by the reconciler: Ready=False SourceNotReadable once the Source loses read, Ready again when it has it back', async () => {
    await put(d, resource('Source', 'flip', { collection: 'orders', read: { url: up.readUrl } }));
    await readyHydrating(d, 'flipping', { ...base, source_binding: { collection: 'orders', source: 'flip' }, hydration });
    await put(d, resource('Source', 'flip', { collection: 'orders', write: { url: `${up.url}/orders` } }));
    const cond = await eventually(async () => {
      const w = (await d.api('GET', '/v1/inbound-webhooks/flipping')).body;
      const r = readyOf(w);
      return r?.status === 'False' ? r : undefined;
    }, 10_000);
    expect(cond.reason).to.equal('SourceNotReadable');
    await put(d, resource('Source', 'flip', { collection: 'orders', read: { url: up.readUrl } }));
    await eventually(async () => readyOf((await d.api('GET', '/v1/inbound-webhooks/flipping')).body)?.status === 'True', 10_000);
  });
});

describe('hydration: the SSRF guard on the Source read URL', function () {
  this.timeout(60_000);
  let d: Orlojd;
  let up: Upstream;
  before(async () => {
    up = await Upstream.start('/orders/');
    d = await Orlojd.start();
  });
  after(async () => {
    await d.destroy();
    await up.close();
  });

  it('without --allow-destinations: a loopback IP literal is refused at apply; a hostname resolving to loopback is a dead letter with nothing fetched', async () => {
    await put(d, resource('Collection', 'orders', { schema: ORDERS_SCHEMA }));
    const refused = await d.api('PUT', '/v1/sources/literal', resource('Source', 'literal', { collection: 'orders', read: { url: up.readUrl } }));
    expect(refused.status).to.equal(422);
    expect(causesOf(refused.body).map((c) => c.field), refused.text).to.include('spec.read.url');

    const port = new URL(up.url).port;
    const st = await hydrationStack(d, up, { read: { url: `http://localhost:${port}/orders/{id}` }, hydration: { id_path: 'record_id', retry: { max_attempts: 3, backoff_seconds: [0] } } });
    up.records.set('o-1', shopOrder('o-1'));
    const delivery = await queued(d, st.endpointPath, { record_id: 'o-1' });
    const end = await settled(d, 'orders-reference', delivery);
    expect(end.outcome).to.equal('dead_letter');
    expect(end.reason).to.match(/^DestinationNotAllowed\b/);
    expect(up.fetches).to.deep.equal([]);
    expect((await doc(d, 'orders', 'o-1')).status).to.equal(404);
  });
});
