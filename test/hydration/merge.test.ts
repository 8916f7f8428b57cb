// merge: true: a re-sync refreshes the fields the sync owns (meta.syncedFields) and keeps local
// enrichment; a field the upstream clears is removed; the merged document is schema-validated
// and a refused one leaves the old document. Without merge a re-sync replaces the document.
import { expect } from 'chai';
import { Orlojd } from '../helpers/orlojd.js';
import { put, resource, secret } from '../helpers/fixtures.js';
import { ACCOUNT_HEADER, ACCOUNT_KEY, ALLOW_LOOPBACK, doc, queued, readyHydrating, settled, Upstream } from './helpers.js';

/** Leads: `status`, `tags` and `note` are ours; the CRM owns name (its full_name), email, phone and company. A status needs an email. */
const LEADS_SCHEMA = {
  type: 'object',
  required: ['id', 'name'],
  properties: {
    id: { type: 'string' },
    name: { type: 'string' },
    email: { type: 'string' },
    phone: { type: 'string' },
    company: { type: 'string' },
    status: { enum: ['new', 'qualified', 'lost'] },
    tags: { type: 'array', items: { type: 'string' } },
    note: { type: 'string' },
  },
  dependencies: { status: ['email'] },
};

describe('hydration merge: local enrichment survives re-syncs', function () {
  this.timeout(60_000);
  let d: Orlojd;
  let crm: Upstream;
  let mergeEp: string;
  let replaceEp: string;

  before(async () => {
    crm = await Upstream.start('/contacts/');
    d = await Orlojd.start({ args: ALLOW_LOOPBACK });
    await put(d, resource('Collection', 'leads', { schema: LEADS_SCHEMA }));
    await put(d, secret('account', { key: ACCOUNT_KEY }));
    await put(d, resource('Source', 'crm', { collection: 'leads', read: { url: crm.readUrl }, field_mapping: { to_external: { name: 'full_name' } } }));
    const auth = { secret_ref: 'account', ingest_auth: { type: 'static_header', header: ACCOUNT_HEADER }, source_binding: { collection: 'leads', source: 'crm' } };
    mergeEp = (await readyHydrating(d, 'leads-merge', { collection: 'leads', ...auth, hydration: { id_path: 'contact.id', merge: true } })).endpointPath;
    replaceEp = (await readyHydrating(d, 'leads-replace', { collection: 'leads', ...auth, hydration: { id_path: 'contact.id' } })).endpointPath;
  });
  after(async () => {
    await d.destroy();
    await crm.close();
  });

  /** Notifies the webhook of `id` and waits until its job has ended; returns that attempt. */
  async function resync(webhook: 'leads-merge' | 'leads-replace', id: string) {
    const delivery = await queued(d, webhook === 'leads-merge' ? mergeEp : replaceEp, { contact: { id }, changed: ['whatever'] });
    return settled(d, webhook, delivery);
  }
  const data = async (id: string) => {
    const r = await doc(d, 'leads', id);
    expect(r.status, r.text).to.equal(200);
    return r.body as { data: Record<string, unknown>; meta: Record<string, unknown> & { version: number } };
  };
  const patch = async (id: string, body: Record<string, unknown>) => {
    const r = await d.api('PATCH', `/v1/collections/leads/documents/${id}`, body, { 'content-type': 'application/merge-patch+json' });
    expect(r.status, r.text).to.equal(200);
  };
  const qualified = async () => (await d.api('GET', '/v1/collections/leads/documents?status=qualified')).body.items.map((x: { id: string }) => x.id);

  it('keeps status: qualified, tags and a note across re-syncs; a field the upstream drops or nulls is cleared; ?status=qualified still finds it', async () => {
    crm.records.set('L-1', { id: 'L-1', full_name: 'Ada Lovelace', email: 'ada@example.com', phone: '+44 1', company: 'Analytical Engines' });
    expect((await resync('leads-merge', 'L-1')).outcome).to.equal('delivered');
    const first = await data('L-1');
    expect(first.data, 'the first sync creates the document from the mapped fields').to.deep.equal({ id: 'L-1', name: 'Ada Lovelace', email: 'ada@example.com', phone: '+44 1', company: 'Analytical Engines' });
    expect(first.meta.syncedFields).to.deep.equal(['company', 'email', 'id', 'name', 'phone']);
    expect(first.meta.origin).to.equal('inbound_webhook');

    await patch('L-1', { status: 'qualified', tags: ['vip', 'q3'] });
    await patch('L-1', { note: 'met at the expo' });
    expect(await qualified()).to.deep.equal(['L-1']);

    // Upstream: a new name, the phone gone, the company null.
    crm.records.set('L-1', { id: 'L-1', full_name: 'Ada King', email: 'ada@example.com', company: null });
    expect((await resync('leads-merge', 'L-1')).outcome).to.equal('delivered');
    const second = await data('L-1');
    expect(second.data).to.deep.equal({ id: 'L-1', name: 'Ada King', email: 'ada@example.com', status: 'qualified', tags: ['vip', 'q3'], note: 'met at the expo' });
    expect(second.meta.syncedFields).to.deep.equal(['email', 'id', 'name']);
    expect(second.meta.origin).to.equal('inbound_webhook');
    expect(await qualified(), '?status=qualified after a re-sync').to.deep.equal(['L-1']);

    // The phone comes back: owned by the sync again, and enrichment stays.
    crm.records.set('L-1', { id: 'L-1', full_name: 'Ada King', email: 'ada@example.com', phone: '+44 2' });
    expect((await resync('leads-merge', 'L-1')).outcome).to.equal('delivered');
    expect((await data('L-1')).data).to.deep.equal({ id: 'L-1', name: 'Ada King', email: 'ada@example.com', phone: '+44 2', status: 'qualified', tags: ['vip', 'q3'], note: 'met at the expo' });
    expect(await qualified()).to.deep.equal(['L-1']);
  });

  it('a fetched record breaking the schema is failed (SchemaViolation, the field named) and the old document stays', async () => {
    crm.records.set('L-2', { id: 'L-2', full_name: 'Grace Hopper', email: 'grace@example.com' });
    expect((await resync('leads-merge', 'L-2')).outcome).to.equal('delivered');
    await patch('L-2', { status: 'qualified', tags: ['navy'] });
    const before = await data('L-2');

    crm.records.set('L-2', { id: 'L-2', full_name: 'Grace Hopper', email: 42 });
    const bad = await resync('leads-merge', 'L-2');
    expect(bad.outcome).to.equal('failed');
    expect(bad.reason).to.match(/^SchemaViolation\b/);
    expect(JSON.stringify(bad) + ((await d.api('GET', '/v1/inbound-webhooks/leads-merge')).body.status.lastError ?? ''), 'names the field').to.include('email');
    const after = await data('L-2');
    expect(after.data).to.deep.equal(before.data);
    expect(after.meta.version).to.equal(before.meta.version);
    expect(crm.fetchesOf('L-2'), 'a schema violation is final: not retried').to.have.length(2);
  });

  it('the merged document is what is validated: upstream dropping the email a local status needs is refused, the old document stays', async () => {
    crm.records.set('L-3', { id: 'L-3', full_name: 'Katherine Johnson', email: 'kj@example.com' });
    expect((await resync('leads-merge', 'L-3')).outcome).to.equal('delivered');
    await patch('L-3', { status: 'qualified' });
    const before = await data('L-3');

    // The record alone is valid (no status); merged with the local status it lacks the email.
    crm.records.set('L-3', { id: 'L-3', full_name: 'Katherine Johnson' });
    const bad = await resync('leads-merge', 'L-3');
    expect(bad.outcome).to.equal('failed');
    expect(bad.reason).to.match(/^SchemaViolation\b/);
    const after = await data('L-3');
    expect(after.data).to.deep.equal({ id: 'L-3', name: 'Katherine Johnson', email: 'kj@example.com', status: 'qualified' });
    expect(after.meta.version).to.equal(before.meta.version);

    // Without merge the same answer replaces the document, which is then valid.
    expect((await resync('leads-replace', 'L-3')).outcome).to.equal('delivered');
    expect((await data('L-3')).data).to.deep.equal({ id: 'L-3', name: 'Katherine Johnson' });

    crm.records.set('L-3', { id: 'L-3', full_name: 'Katherine Johnson', email: 'kj@nasa.example' });
    expect((await resync('leads-merge', 'L-3')).outcome).to.equal('delivered');
    expect((await data('L-3')).data).to.deep.equal({ id: 'L-3', name: 'Katherine Johnson', email: 'kj@nasa.example' });
  });

  it('without merge a re-sync replaces the document: the enrichment is gone', async () => {
    crm.records.set('L-4', { id: 'L-4', full_name: 'Alan Turing', email: 'alan@example.com', phone: '+44 3' });
    expect((await resync('leads-replace', 'L-4')).outcome).to.equal('delivered');
    await patch('L-4', { status: 'qualified', tags: ['enigma'], note: 'call back' });
    expect(await qualified()).to.include('L-4');
    crm.records.set('L-4', { id: 'L-4', full_name: 'Alan M. Turing', email: 'alan@example.com', phone: '+44 3' });
    expect((await resync('leads-replace', 'L-4')).outcome).to.equal('delivered');
    const replaced = await data('L-4');
    expect(replaced.data).to.deep.equal({ id: 'L-4', name: 'Alan M. Turing', email: 'alan@example.com', phone: '+44 3' });
    expect(replaced.meta.origin).to.equal('inbound_webhook');
    expect(await qualified()).to.not.include('L-4');
  });

  it('a local PUT of the whole document keeps its own fields across a merge re-sync', async () => {
    crm.records.set('L-5', { id: 'L-5', full_name: 'Hedy Lamarr', email: 'hedy@example.com' });
    expect((await resync('leads-merge', 'L-5')).outcome).to.equal('delivered');
    const put = await d.api('PUT', '/v1/collections/leads/documents/L-5', { id: 'L-5', name: 'Hedy Lamarr', email: 'hedy@example.com', status: 'qualified', tags: ['radio'] });
    expect(put.status, put.text).to.equal(200);
    crm.records.set('L-5', { id: 'L-5', full_name: 'Hedy Lamarr', email: 'hedy@film.example' });
    expect((await resync('leads-merge', 'L-5')).outcome).to.equal('delivered');
    expect((await data('L-5')).data).to.deep.equal({ id: 'L-5', name: 'Hedy Lamarr', email: 'hedy@film.example', status: 'qualified', tags: ['radio'] });
    expect(await qualified()).to.include('L-5');
  });
});
