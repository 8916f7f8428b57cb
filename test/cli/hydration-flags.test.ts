// orlojctl create inbound-webhook --hydration and inbound-webhook redeliver, against a real
// orlojd and a real source on loopback.
import { expect } from 'chai';
import { eventually, Orlojd } from '../helpers/orlojd.js';
import { put, readyOf, resource } from '../helpers/fixtures.js';
import { post } from '../helpers/deliveries.js';
import { ALLOW_LOOPBACK, Destination } from '../trigger/helpers.js';
import { ctl } from './ctl.js';

interface DeliveryRecord {
  id: number;
  outcome: string;
  attempt?: number;
  reason?: string;
}

const SEED_HYDRATION = '{"id_path":"record_id","event_path":"event","event_map":{"ResourceDeleted":"delete"}}';
const STATIC_HEADER = '{"type":"static_header","header":"X-Account-Key"}';

describe('orlojctl create inbound-webhook --hydration, inbound-webhook redeliver', function () {
  this.timeout(60_000);
  let d: Orlojd;
  let shop: Destination;
  // The shop answers 503 while `down`, then the order in its external shape.
  let down = false;
  before(async () => {
    d = await Orlojd.start({ args: ALLOW_LOOPBACK });
    shop = await Destination.start((_n, r) =>
      down ? 503 : { status: 200, body: JSON.stringify({ order_number: decodeURIComponent(r.url.split('/').pop()!), state: 'paid' }) },
    );
    await put(d, resource('Collection', 'orders', { schema: { type: 'object', properties: { id: { type: 'string' }, status: { type: 'string' } } } }));
    await put(d, resource('Source', 'shop-api', {
      collection: 'orders',
      read: { url: `${shop.url}/orders/{id}` },
      field_mapping: { to_external: { id: 'order_number', status: 'state' } },
    }));
  });
  after(async () => {
    await shop?.close();
    await d?.destroy();
  });

  const spec = async (name: string) => (await d.api('GET', `/v1/inbound-webhooks/${name}`)).body.spec;
  const exists = async (path: string) => (await d.api('GET', path)).status === 200;

  it('--hydration that is not a JSON object is a usage error naming the flag; nothing is created', async () => {
    for (const bad of ['{"id_path":', '["record_id"]', 'null']) {
      const r = await ctl(d, ['create', 'inbound-webhook', 'bad-json', '--collection', 'orders', '--secret', 'k', '--hydration', bad]);
      expect(r.code, bad).to.equal(2);
      expect(r.stderr).to.include('error: --hydration must be a JSON object, e.g. --hydration \'{"id_path":"record_id"');
      expect(r.stderr).to.include("See 'orlojctl create --help' for usage.");
      expect(r.stdout).to.equal('');
    }
    expect(await exists('/v1/secrets/bad-json-secret'), 'the Secret is not created before the flags are checked').to.equal(false);
    expect(await exists('/v1/inbound-webhooks/bad-json')).to.equal(false);
    const help = await ctl(d, ['create', '--help']);
    expect(help.stdout).to.include('[--hydration JSON]').and.match(/--hydration JSON\s+inbound-webhook:/);
  });

  it('a source name with underscores: a note names the hyphenated Source, the value is sent as given', async () => {
    const r = await ctl(d, ['create', 'inbound-webhook', 'orders-mapped', '--collection', 'orders', '--secret', 'acct-key',
      '--source-binding', '{"collection":"orders","source":"shop_api"}', '--ingest-auth', STATIC_HEADER]);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stderr).to.equal('note: source "shop_api" is named "shop-api" (names use hyphens)\n');
    expect(r.stdout).to.include('inbound-webhook/orders-mapped created');
    expect((await spec('orders-mapped')).source_binding).to.deep.equal({ collection: 'orders', source: 'shop_api' });
    // The server finds shop-api for it: the webhook turns Ready.
    await eventually(async () => readyOf((await d.api('GET', '/v1/inbound-webhooks/orders-mapped')).body)?.status === 'True', 10_000);

    const plain = await ctl(d, ['create', 'inbound-webhook', 'orders-plain', '--collection', 'orders', '--secret', 'acct-key',
      '--source-binding', '{"collection":"orders","source":"shop-api"}', '--ingest-auth', STATIC_HEADER, '--dry-run']);
    expect(plain.code, plain.stderr).to.equal(0);
    expect(plain.stderr, 'no note for a hyphenated name').to.equal('');
  });

  // Needs the server to accept spec.hydration.
  it("seed 000's flags put --hydration into spec.hydration; a thin delivery is hydrated", async () => {
    const r = await ctl(d, ['create', 'inbound-webhook', 'orders-reference', '--collection', 'orders', '--secret', 'acct-key',
      '--source-binding', '{"collection":"orders","source":"shop_api"}', '--ingest-auth', STATIC_HEADER, '--hydration', SEED_HYDRATION]);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stderr).to.include('note: source "shop_api" is named "shop-api"');
    expect((await spec('orders-reference')).hydration).to.deep.include({ id_path: 'record_id', event_path: 'event', event_map: { ResourceDeleted: 'delete' } });
    const ready = await ctl(d, ['wait', 'iw', 'orders-reference', '--for=condition=Ready', '--timeout=10s']);
    expect(ready.code, ready.stderr).to.equal(0);
    const path = (await d.api('GET', '/v1/inbound-webhooks/orders-reference')).body.status.endpointPath as string;
    const res = await post(d, path, { 'Content-Type': 'application/json', 'X-Account-Key': 'acct-key', 'X-Event-Id': 'ref-1' }, '{"event":"ResourceUpdated","record_id":"1001"}');
    expect(res.status, res.text).to.equal(202);
    expect(res.body).to.include({ accepted: true, duplicate: false, status: 'queued', event_id: 'ref-1' });
    const doc = await eventually(async () => {
      const g = await d.api('GET', '/v1/collections/orders/documents/1001');
      return g.status === 200 ? g.body : undefined;
    }, 10_000);
    expect(doc.data).to.deep.equal({ id: '1001', status: 'paid' });
  });

  // Needs the server to accept spec.hydration.
  it('--hydration without --source-binding is refused by the server, naming spec.hydration', async () => {
    const r = await ctl(d, ['create', 'inbound-webhook', 'no-binding', '--collection', 'orders', '--secret', 'acct-key', '--hydration', '{"id_path":"record_id"}']);
    expect(r.code).to.equal(1);
    expect(r.stderr).to.include('Error from server').and.include('spec.hydration').and.include('source_binding');
  });

  it('inbound-webhook redeliver takes one positive number', async () => {
    for (const args of [['redeliver'], ['redeliver', 'abc'], ['redeliver', '0'], ['redeliver', '1', '2']]) {
      const r = await ctl(d, ['inbound-webhook', ...args]);
      expect(r.code, args.join(' ')).to.equal(2);
      expect(r.stderr).to.match(/expected: inbound-webhook deliveries NAME, or inbound-webhook redeliver DELIVERY_ID|delivery ID must be a positive number/);
    }
    const help = await ctl(d, ['inbound-webhook', '--help']);
    expect(help.stdout).to.include('orlojctl inbound-webhook redeliver DELIVERY_ID').and.include('dead_letter');
  });

  // Needs the server's hydration jobs and their redelivery.
  it('a dead-lettered hydration is listed by inbound-webhook deliveries and sent again by inbound-webhook redeliver', async () => {
    const r = await ctl(d, ['create', 'inbound-webhook', 'orders-once', '--collection', 'orders', '--secret', 'acct-key',
      '--source-binding', '{"collection":"orders","source":"shop-api"}', '--ingest-auth', STATIC_HEADER,
      '--hydration', '{"id_path":"record_id","retry":{"max_attempts":1,"backoff_seconds":[0]}}']);
    expect(r.code, r.stderr).to.equal(0);
    expect((await ctl(d, ['wait', 'iw', 'orders-once', '--for=condition=Ready', '--timeout=10s'])).code).to.equal(0);
    const path = (await d.api('GET', '/v1/inbound-webhooks/orders-once')).body.status.endpointPath as string;
    down = true;
    const res = await post(d, path, { 'Content-Type': 'application/json', 'X-Account-Key': 'acct-key', 'X-Event-Id': 'once-1' }, '{"record_id":"2002"}');
    expect(res.status, res.text).to.equal(202);
    const records = async (): Promise<DeliveryRecord[]> => {
      const l = await ctl(d, ['inbound-webhook', 'deliveries', 'orders-once', '-o', 'json']);
      return (JSON.parse(l.stdout) as { items: DeliveryRecord[] }).items;
    };
    const dead = await eventually(async () => (await records()).find((x) => x.outcome === 'dead_letter'), 15_000);
    const table = await ctl(d, ['inbound-webhook', 'deliveries', 'orders-once', '--outcome', 'dead_letter']);
    // Attempts are listed by the record ID that redeliver takes, with their number.
    expect(table.stdout).to.match(new RegExp(`^${dead.id}\\s+\\S+\\s+InboundWebhook/default/orders-once\\s+once-1\\s+dead_letter\\s+1\\s+503`, 'm'));

    down = false;
    const again = await ctl(d, ['inbound-webhook', 'redeliver', String(dead.id)]);
    expect(again.code, again.stderr).to.equal(0);
    expect(again.stdout).to.match(new RegExp(`^delivery ${dead.id} redelivered as \\d+\\n$`));
    const doc = await eventually(async () => {
      const g = await d.api('GET', '/v1/collections/orders/documents/2002');
      return g.status === 200 ? g.body : undefined;
    }, 15_000);
    expect(doc.data).to.deep.equal({ id: '2002', status: 'paid' });
    await eventually(async () => (await records()).some((x) => x.outcome === 'delivered'), 10_000);

    const twice = await ctl(d, ['inbound-webhook', 'redeliver', String(dead.id)]);
    expect(twice.code, 'a delivered job is not parked').to.equal(1);
    expect(twice.stderr).to.include('Error from server (Conflict)');
  });
});
