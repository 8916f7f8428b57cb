// Hydrating inbound webhooks (seed 000, "notification + fetch"): a thin delivery is answered
// 202 at once, then the full record is fetched from the bound Source's read URL, canonicalised
// through its mapping and upserted; a delete event removes the document without a fetch.
// Only the Source's URL is ever fetched, with the id as one path segment.
import { expect } from 'chai';
import { eventually, type Orlojd } from '../helpers/orlojd.js';
import { put, resource, secret } from '../helpers/fixtures.js';
import { ctl } from '../cli/ctl.js';
import {
  ACCOUNT_HEADER, ACCOUNT_KEY, attemptsOf, doc, eventId, hydrationStack, Listener, nativeOrder, notify, ORDERS_SCHEMA, queued, readyHydrating, records, settled, SHOP_TOKEN, shopOrder, startServers, stopServers, Upstream, webhookStatus,
} from './helpers.js';

describe('hydrating inbound webhooks: notification, then fetch', function () {
  this.timeout(60_000);
  let d: Orlojd;
  let up: Upstream;

  beforeEach(async () => {
    ({ d, up } = await startServers());
  });
  afterEach(() => stopServers(d, up));

  it("seed 000's example through orlojctl: 202 queued at once, then the full record in canonical form; ResourceDeleted removes it without a fetch", async () => {
    await put(d, resource('Collection', 'orders', { schema: ORDERS_SCHEMA }));
    await put(d, secret('shop-token', { token: SHOP_TOKEN }));
    await put(d, resource('Source', 'shop-api', {
      collection: 'orders',
      read: { url: up.readUrl, headers: { Authorization: { secret_ref: 'shop-token', key: 'token', prefix: 'Bearer ' } } },
      field_mapping: { to_external: { status: 'state' } },
    }));
    const created = await ctl(d, [
      'create', 'inbound-webhook', 'orders-reference', '--secret', ACCOUNT_KEY, '--collection', 'orders',
      '--source-binding', '{"collection":"orders","source":"shop_api"}',
      '--ingest-auth', `{"type":"static_header","header":"${ACCOUNT_HEADER}"}`,
      '--hydration', '{"id_path":"record_id","event_path":"event","event_map":{"ResourceDeleted":"delete"}}',
    ]);
    expect(created.code, created.stderr).to.equal(0);
    expect(created.stdout).to.include('inbound-webhook/orders-reference created');
    expect(created.stderr, 'the CLI says which Source shop_api names').to.include('shop-api');
    const st = await eventually(async () => {
      const w = (await d.api('GET', '/v1/inbound-webhooks/orders-reference')).body;
      const ready = w.status?.conditions?.find((c: { type: string }) => c.type === 'Ready');
      return ready?.status === 'True' ? w.status : undefined;
    }, 10_000);
    expect((await d.api('GET', '/v1/inbound-webhooks/orders-reference')).body.spec.hydration).to.deep.include({ id_path: 'record_id', event_path: 'event' });

    const order = shopOrder('o-1001', { lines: [{ sku: 'A-1', qty: 2 }] });
    up.records.set('o-1001', order);
    // The shop answers nothing until released: the 202 cannot have waited for the fetch.
    up.hold();
    const res = await notify(d, st.endpointPath, { record_id: 'o-1001', event: 'ResourceUpdated', callback_url: 'https://example.invalid/ignored' }, 'evt-1');
    expect(res.status, res.text).to.equal(202);
    expect(res.body).to.include({ accepted: true, duplicate: false, status: 'queued', event_id: 'evt-1' });
    const delivery = res.body.delivery as string;
    expect(delivery).to.match(/^[1-9]\d*$/);
    await eventually(async () => up.fetchesOf('o-1001').length === 1, 10_000);
    expect((await doc(d, 'orders', 'o-1001')).status, 'nothing is written before the fetch answers').to.equal(404);
    const inFlight = (await attemptsOf(d, 'orders-reference', delivery)).map((r) => r.outcome);
    expect(inFlight, 'the attempt is recorded while it fetches').to.deep.equal(['delivering']);

    const dup = await notify(d, st.endpointPath, { record_id: 'o-1001', event: 'ResourceUpdated' }, 'evt-1');
    expect(dup.status).to.equal(202);
    expect(dup.body).to.include({ accepted: true, duplicate: true, status: 'queued', delivery, event_id: 'evt-1' });

    up.release();
    const got = await eventually(async () => {
      const r = await doc(d, 'orders', 'o-1001');
      return r.status === 200 ? r : undefined;
    }, 15_000);
    expect(got.body.data).to.deep.equal(nativeOrder(order));
    expect(got.body.data).to.deep.equal({ id: 'o-1001', total: 42.5, status: 'paid', customer: { email: 'o-1001@example.com' }, lines: [{ sku: 'A-1', qty: 2 }] });
    expect(got.body.meta).to.include({ origin: 'inbound_webhook', externalId: 'o-1001' });
    expect(got.body.meta.syncedFields).to.deep.equal(['customer', 'id', 'lines', 'status', 'total']);
    expect(got.headers.get('x-orloj-source')).to.equal('inbound_webhook');

    const fetch = up.fetchesOf('o-1001')[0]!;
    expect(fetch.method).to.equal('GET');
    expect(fetch.url).to.equal('/orders/o-1001');
    expect(fetch.headers.authorization, 'the Source header, from its Secret').to.equal(`Bearer ${SHOP_TOKEN}`);
    expect(fetch.headers[ACCOUNT_HEADER.toLowerCase()], "the sender's key is not passed on").to.equal(undefined);

    const done = await settled(d, 'orders-reference', delivery);
    expect(done).to.include({ outcome: 'delivered', attempt: 1, httpStatus: 200, eventId: 'evt-1' });
    expect(done.durationMs).to.be.a('number');
    const q = (await records(d, 'orders-reference', 'queued')).find((r) => r.eventId === 'evt-1');
    expect(q, 'the delivery itself is a queued record').to.not.equal(undefined);
    expect(String(q!.result)).to.equal(delivery);

    const del = await queued(d, st.endpointPath, { record_id: 'o-1001', event: 'ResourceDeleted' }, 'evt-2');
    expect((await settled(d, 'orders-reference', del)).outcome).to.equal('delivered');
    expect((await doc(d, 'orders', 'o-1001')).status).to.equal(404);
    const gone = await doc(d, 'orders', 'o-1001', true);
    expect(gone.status).to.equal(200);
    expect(gone.body.meta.deletedAt).to.be.a('string');
    expect(up.fetchesOf('o-1001'), 'neither the duplicate nor the delete fetched').to.have.length(1);

    const listed = await ctl(d, ['inbound-webhook', 'deliveries', 'orders-reference']);
    expect(listed.code, listed.stderr).to.equal(0);
    expect(listed.stdout).to.match(/evt-1\s.*delivered/).and.match(/evt-2\s.*delivered/).and.match(/evt-1\s.*queued/);
  });

  it('answers in each route\'s shape: /ingest/src_… {data: {id, status: queued}}, /inbound/… natively; a number id is its decimal string', async () => {
    const st = await hydrationStack(d, up);
    up.records.set('1042', shopOrder('1042', { state: 'shipped' }));
    up.records.set('o-7', shopOrder('o-7'));

    const ingest = await notify(d, st.ingestURLs.ingest!, { record_id: 1042 });
    expect(ingest.status, ingest.text).to.equal(202);
    const data = ingest.body.data as { id: string; status: string };
    expect(data.status).to.equal('queued');
    expect(data.id).to.match(/^[1-9]\d*$/);
    expect((await settled(d, 'orders-reference', data.id)).outcome).to.equal('delivered');
    expect(up.fetchesOf('1042').map((f) => f.url)).to.deep.equal(['/orders/1042']);
    const num = await doc(d, 'orders', '1042');
    expect(num.body.data).to.deep.equal(nativeOrder(shopOrder('1042', { state: 'shipped' })));
    expect(num.body.meta.externalId).to.equal('1042');

    const inbound = await notify(d, st.ingestURLs.inbound!, { record_id: 'o-7', event: 'SomethingElse' }, 'evt-in-1');
    expect(inbound.status).to.equal(202);
    expect(inbound.body).to.include({ accepted: true, duplicate: false, status: 'queued', event_id: 'evt-in-1' });
    expect((await settled(d, 'orders-reference', inbound.body.delivery as string)).outcome, 'an event the map does not name is an upsert').to.equal('delivered');
    expect((await doc(d, 'orders', 'o-7')).body.data).to.deep.equal(nativeOrder(shopOrder('o-7')));
  });

  it('a delivery without the record id: 400 "missing record id", the detail in lastError, nothing fetched', async () => {
    const st = await hydrationStack(d, up);
    const res = await notify(d, st.endpointPath, { event: 'ResourceUpdated', id: 'o-1' });
    expect(res.status).to.equal(400);
    expect(res.text).to.include('missing record id');
    await eventually(async () => ((await webhookStatus(d, 'orders-reference')).lastError ?? '').includes('record_id'), 10_000);
    expect((await webhookStatus(d, 'orders-reference')).lastError).to.match(/missing/);
    const nested = await notify(d, st.endpointPath, { record_id: { id: 'x' } });
    expect(nested.status, 'an object is no record id').to.equal(400);
    // A good delivery afterwards is fetched: the refused ones were not queued before it.
    up.records.set('o-9', shopOrder('o-9'));
    expect((await settled(d, 'orders-reference', await queued(d, st.endpointPath, { record_id: 'o-9' }))).outcome).to.equal('delivered');
    expect(up.fetches.map((f) => f.url)).to.deep.equal(['/orders/o-9']);
    expect((await records(d, 'orders-reference', 'queued')).map((r) => String(r.result))).to.have.length(1);
  });

  it('dotted id_path and event_path; a delete of a record never mirrored is delivered with nothing to do', async () => {
    const st = await hydrationStack(d, up, { hydration: { id_path: 'data.object.id', event_path: 'data.type', event_map: { 'order.removed': 'delete', 'order.changed': 'upsert' } } });
    up.records.set('o-31', shopOrder('o-31'));
    const a = await queued(d, st.endpointPath, { data: { type: 'order.changed', object: { id: 'o-31', state: 'cancelled' } } });
    expect((await settled(d, 'orders-reference', a)).outcome).to.equal('delivered');
    expect((await doc(d, 'orders', 'o-31')).body.data, 'the fetched record, not the payload').to.deep.equal(nativeOrder(shopOrder('o-31')));
    const b = await queued(d, st.endpointPath, { data: { type: 'order.removed', object: { id: 'never-seen' } } });
    expect((await settled(d, 'orders-reference', b)).outcome).to.equal('delivered');
    expect((await doc(d, 'orders', 'never-seen', true)).status).to.equal(404);
    expect(up.fetchesOf('never-seen')).to.have.length(0);
    const c = await queued(d, st.endpointPath, { data: { type: 'order.removed', object: { id: 'o-31' } } });
    expect((await settled(d, 'orders-reference', c)).outcome).to.equal('delivered');
    expect((await doc(d, 'orders', 'o-31')).status).to.equal(404);
    expect(up.fetchesOf('o-31')).to.have.length(1);
  });

  describe('only the Source URL is fetched', () => {
    let listener: Listener;
    beforeEach(async () => {
      listener = await Listener.start();
    });
    afterEach(async () => listener.close());

    it('callback_url, url, href and links in the payload are never followed; the id ../admin?x=1 stays one path segment', async () => {
      const st = await hydrationStack(d, up);
      const id = '../admin?x=1';
      up.records.set(id, shopOrder(id));
      const at = (p: string) => `${listener.url}${p}`;
      const payload = {
        record_id: id,
        event: 'ResourceUpdated',
        callback_url: at('/callback'),
        url: at('/url'),
        href: at('/href'),
        links: { self: { href: at('/links/self') }, related: [at('/links/related')], next: at('/links/next') },
        _links: { self: { href: at('/hal') } },
        resource_url: at('/resource'),
        host: new URL(listener.url).host,
        path: '/admin',
      };
      const delivery = await queued(d, st.endpointPath, payload);
      const done = await settled(d, 'orders-reference', delivery);
      expect(done.outcome).to.equal('delivered');
      expect(up.fetches.map((f) => f.url), 'one fetch, of the Source URL with the id as one segment').to.deep.equal(['/orders/%2E%2E%2Fadmin%3Fx%3D1']);
      expect(listener.received).to.deep.equal([]);
      const stored = await doc(d, 'orders', id);
      expect(stored.status).to.equal(200);
      expect(stored.body.data).to.deep.equal(nativeOrder(shopOrder(id)));
      expect(stored.body.data).to.not.have.property('callback_url');
    });

    it('an id of . or .. or with / and % stays one segment under the read URL', async () => {
      const st = await hydrationStack(d, up);
      const ids = ['..', '.', 'a/b', '50%', '%2E%2E'];
      const expected: Record<string, string> = { '..': '/orders/%2E%2E', '.': '/orders/%2E', 'a/b': '/orders/a%2Fb', '50%': '/orders/50%25', '%2E%2E': '/orders/%252E%252E' };
      for (const id of ids) {
        up.records.set(id, shopOrder(id));
        const end = await settled(d, 'orders-reference', await queued(d, st.endpointPath, { record_id: id }));
        expect(up.fetches.at(-1)!.url, `the request target for id ${id}`).to.equal(expected[id]);
        expect(end.outcome, id).to.equal('delivered');
      }
      expect(up.fetches).to.have.length(ids.length);
      // A URL parser resolves . and .. (also as %2E) in a path: these documents are read from the list.
      const listed = (await d.api('GET', '/v1/collections/orders/documents?limit=1000')).body.items as Array<{ id: string; data: Record<string, unknown> }>;
      for (const id of ids) expect(listed.find((x) => x.id === id)?.data, id).to.deep.equal(nativeOrder(shopOrder(id)));
      expect(listener.received).to.deep.equal([]);
    });
  });

  it('a second webhook on the same Source reads the same records; each keeps its own records', async () => {
    await hydrationStack(d, up);
    const other = await readyHydrating(d, 'orders-other', {
      collection: 'orders', secret_ref: 'account', ingest_auth: { type: 'static_header', header: ACCOUNT_HEADER },
      source_binding: { collection: 'orders', source: 'shop-api' }, hydration: { id_path: 'order' },
    });
    up.records.set('o-2', shopOrder('o-2', { total: 7 }));
    const delivery = await queued(d, other.endpointPath, { order: 'o-2' }, eventId('other'));
    expect((await settled(d, 'orders-other', delivery)).outcome).to.equal('delivered');
    expect((await doc(d, 'orders', 'o-2')).body.data).to.deep.equal(nativeOrder(shopOrder('o-2', { total: 7 })));
    expect(await records(d, 'orders-reference')).to.deep.equal([]);
  });
});
