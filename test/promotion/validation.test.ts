// Issue 14, acceptance 4: every object is validated again against the target before anything
// is written. A mapping that no longer fits the collection as it will be, or a Secret missing
// in production, fails the whole promotion with that reason, and production does not change.
import { expect } from 'chai';
import { Orlojd } from '../helpers/orlojd.js';
import { actions, del, manifest, namespace, namespaceEvents, promote, promotion, put, secret, snapshot, get } from './helpers.js';

const INCIDENTS = {
  id_field: 'id',
  schema: {
    type: 'object',
    required: ['title', 'severity'],
    properties: { id: { type: 'string' }, title: { type: 'string' }, severity: { enum: ['p1', 'p2', 'p3'] }, status: { type: 'string' } },
  },
};
const MAPPING = { to_external: { status: 'state' }, value_maps: { severity: { p1: 'high', p2: 'medium', p3: 'low' } } };
const HOOK = { collection: 'incidents', secret_ref: 'pd-key', field_mapping: MAPPING };

describe('promotion: validated against the target before anything is written', function () {
  this.timeout(90_000);
  let d: Orlojd;
  before(async () => {
    d = await Orlojd.start();
    await namespace(d, 'pre', 'preview');
    await namespace(d, 'prod', 'production');
    await put(d, manifest('Collection', 'pre', 'incidents', INCIDENTS));
    await put(d, secret('pre', 'pd-key', { key: 'preview-pd-key' }));
    await put(d, manifest('InboundWebhook', 'pre', 'pd-incidents', HOOK));
    await put(d, manifest('Trigger', 'pre', 'notify', { collection: 'incidents', url: 'https://hooks.example.com/notify' }));
    await put(d, secret('prod', 'pd-key', { key: 'prod-pd-key' }));
    const first = await promote(d, ['--from', 'pre', '--to', 'prod']);
    expect(first.code, first.stderr).to.equal(0);
    expect(actions(first.stdout)).to.include({ 'inbound-webhook/pd-incidents': 'create', 'trigger/notify': 'create' });
    // Changes that are fine on their own wait in preview: a failed promotion must not bring them either.
    await put(d, manifest('Trigger', 'pre', 'fresh', { collection: 'incidents', url: 'https://hooks.example.com/fresh' }));
    await put(d, manifest('Trigger', 'pre', 'notify', { collection: 'incidents', events: ['create'], url: 'https://hooks.example.com/notify' }));
  });
  after(async () => d?.destroy());

  const promotedEvents = async (): Promise<number> =>
    (await namespaceEvents(d, 'prod')).filter((e) => e.reason === 'Promoted').reduce((n, e) => n + e.count, 0);

  /** Runs the promotion (dry run, API, real) and checks it fails with a problem matching `line`, writing nothing. */
  async function refused(line: RegExp, problem: { kind: string; name: string }): Promise<string> {
    const before = await snapshot(d, 'prod');
    const events = await promotedEvents();
    const dry = await promote(d, ['--from', 'pre', '--to', 'prod', '--dry-run']);
    expect(dry.code, dry.stdout + dry.stderr).to.equal(1);
    expect(dry.stderr).to.match(line);
    const api = await promotion(d, { from: 'pre', to: 'prod' });
    expect(api.status, api.text).to.equal(200);
    expect(api.body.problems.map((p) => `${p.kind}/${p.name}`), api.text).to.include(`${problem.kind}/${problem.name}`);
    const real = await promote(d, ['--from', 'pre', '--to', 'prod']);
    expect(real.code, real.stdout + real.stderr).to.equal(1);
    expect(real.stderr).to.match(line);
    // Every problem line is `error: KIND/NAME: ...`.
    for (const l of real.stderr.split('\n').filter((x) => x.startsWith('error: '))) expect(l).to.match(/^error: [a-z-]+\/\S+: \S/);
    expect(await snapshot(d, 'prod')).to.deep.equal(before);
    expect(await get(d, 'Trigger', 'prod', 'fresh')).to.equal(undefined);
    expect((await get(d, 'Trigger', 'prod', 'notify'))!.spec.events).to.deep.equal(['create', 'update', 'delete']);
    expect(await promotedEvents()).to.equal(events);
    return real.stderr;
  }

  it("a mapping that writes a field the collection's schema (as promoted) no longer allows fails the promotion", async () => {
    // Preview's collection now forbids `status`, which the webhook's rename of `state` writes.
    const strict = { ...INCIDENTS, schema: { ...INCIDENTS.schema, additionalProperties: false, properties: { id: { type: 'string' }, title: { type: 'string' }, severity: { enum: ['p1', 'p2', 'p3'] } } } };
    await put(d, manifest('Collection', 'pre', 'incidents', strict));
    const stderr = await refused(/^error: inbound-webhook\/pd-incidents: .*status/m, { kind: 'InboundWebhook', name: 'pd-incidents' });
    expect(stderr).to.include('nothing was written to namespace "prod"');
    await put(d, manifest('Collection', 'pre', 'incidents', INCIDENTS));
  });

  it("a value-map value outside the field's enum fails the promotion", async () => {
    await put(d, manifest('InboundWebhook', 'pre', 'pd-incidents', { ...HOOK, field_mapping: { ...MAPPING, value_maps: { severity: { p1: 'high', p4: 'urgent' } } } }));
    await refused(/^error: inbound-webhook\/pd-incidents: .*severity/m, { kind: 'InboundWebhook', name: 'pd-incidents' });
    await put(d, manifest('InboundWebhook', 'pre', 'pd-incidents', HOOK));
  });

  it('a required field that the mapping no longer produces, and that has no default, fails the promotion', async () => {
    await put(d, manifest('InboundWebhook', 'pre', 'pd-incidents', { ...HOOK, field_mapping: { to_external: { status: 'state' }, unmapped: 'drop' } }));
    await refused(/^error: inbound-webhook\/pd-incidents: .*(title|severity)/m, { kind: 'InboundWebhook', name: 'pd-incidents' });
    await put(d, manifest('InboundWebhook', 'pre', 'pd-incidents', HOOK));
  });

  it('a Secret a receiver references that production lacks fails the promotion, naming it', async () => {
    await put(d, secret('pre', 'audit-key', { key: 'preview-only' }));
    await put(d, manifest('InboundWebhook', 'pre', 'audit-in', { collection: 'incidents', secret_ref: 'audit-key', ingest_auth: { type: 'static_header', header: 'X-Audit-Key' } }));
    await refused(/^error: inbound-webhook\/audit-in: .*secret "audit-key" not found in namespace "prod"/m, { kind: 'InboundWebhook', name: 'audit-in' });
    // A bearer signing key is a referenced Secret too.
    await put(d, secret('pre', 'sign-key', { key: 'preview-only' }));
    await put(d, manifest('InboundWebhook', 'pre', 'audit-in', { collection: 'incidents', ingest_auth: { type: 'bearer', signing_secret_ref: 'sign-key' } }));
    await refused(/^error: inbound-webhook\/audit-in: .*secret "sign-key" not found in namespace "prod"/m, { kind: 'InboundWebhook', name: 'audit-in' });
    await del(d, 'InboundWebhook', 'pre', 'audit-in');
  });

  it('lists every problem at once', async () => {
    await put(d, manifest('InboundWebhook', 'pre', 'pd-incidents', { ...HOOK, field_mapping: { ...MAPPING, value_maps: { severity: { p1: 'high', p4: 'urgent' } } } }));
    await put(d, manifest('InboundWebhook', 'pre', 'audit-in', { collection: 'incidents', secret_ref: 'audit-key', ingest_auth: { type: 'static_header', header: 'X-Audit-Key' } }));
    const stderr = await refused(/^error: inbound-webhook\/audit-in: .*secret "audit-key" not found/m, { kind: 'InboundWebhook', name: 'audit-in' });
    expect(stderr).to.match(/^error: inbound-webhook\/pd-incidents: .*severity/m);
    await put(d, manifest('InboundWebhook', 'pre', 'pd-incidents', HOOK));
    await del(d, 'InboundWebhook', 'pre', 'audit-in');
  });

  it('once preview is fixed, the same promotion goes through with every change that waited', async () => {
    const r = await promote(d, ['--from', 'pre', '--to', 'prod']);
    expect(r.code, r.stderr).to.equal(0);
    expect(actions(r.stdout)).to.include({ 'trigger/fresh': 'create', 'trigger/notify': 'update', 'inbound-webhook/pd-incidents': 'unchanged' });
    expect((await get(d, 'Trigger', 'prod', 'notify'))!.spec.events).to.deep.equal(['create']);
    expect(await get(d, 'Trigger', 'prod', 'fresh')).not.to.equal(undefined);
  });
});
