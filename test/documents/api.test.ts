import { expect } from 'chai';
import { eventually, Orlojd } from '../helpers/orlojd.js';
import { put, resource } from '../helpers/fixtures.js';

describe('documents API', function () {
  let d: Orlojd;
  const base = '/v1/collections/leads/documents';
  const as = (token: string) => ({ authorization: `Bearer ${token}` });
  const admin = as('admin-token-1');
  const call = (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) => d.api(method, path, body, { ...admin, ...headers });

  before(async () => {
    d = await Orlojd.start({ args: ['--api-tokens', 'reader-token-1:reader,admin-token-1:admin'] });
    d.token = 'admin-token-1';
    await put(d, resource('Collection', 'leads', {
      schema: { type: 'object', required: ['name'], properties: { name: { type: 'string' }, score: { type: 'integer', minimum: 0 }, status: { enum: ['new', 'qualified', 'lost'] } } },
    }));
  });
  after(async () => d.destroy());

  it('creates with the id from id_field or a generated one, and refuses an id taken', async () => {
    const a = await call('POST', base, { id: 'lead-1', name: 'Ada', status: 'new' });
    expect(a.status).to.equal(201);
    expect(a.body).to.deep.include({ id: 'lead-1', data: { id: 'lead-1', name: 'Ada', status: 'new' } });
    expect(a.body.meta).to.include({ origin: 'api', version: 1 });
    expect(a.body.meta.createdAt).to.equal(a.body.meta.updatedAt);
    const gen = await call('POST', base, { name: 'Grace' });
    expect(gen.status).to.equal(201);
    expect(gen.body.id).to.match(/^[0-9a-f-]{36}$/);
    const again = await call('POST', base, { id: 'lead-1', name: 'Other' });
    expect(again.status).to.equal(409);
    expect(again.body).to.include({ kind: 'Status', reason: 'AlreadyExists' });
  });

  it('validates every write against the schema, naming the fields', async () => {
    const bad = await call('POST', base, { id: 'x', score: -1, status: 'maybe' });
    expect(bad.status).to.equal(422);
    expect(bad.body.details.causes.map((c: { field: string }) => c.field)).to.include.members(['data.name', 'data.score', 'data.status']);
    const patch = await call('PATCH', `${base}/lead-1`, { score: 'high' });
    expect(patch.status).to.equal(422);
    expect(patch.body.details.causes[0].field).to.equal('data.score');
    expect((await call('GET', `${base}/x`)).status).to.equal(404);
  });

  it('upserts with PUT, merge-patches with PATCH, and grows the version per write', async () => {
    const created = await call('PUT', `${base}/lead-2`, { name: 'Linus', score: 3 });
    expect(created.status).to.equal(200);
    expect(created.body.meta.version).to.equal(1);
    const replaced = await call('PUT', `${base}/lead-2`, { name: 'Linus', status: 'qualified' });
    expect(replaced.body.data).to.deep.equal({ name: 'Linus', status: 'qualified' });
    expect(replaced.body.meta.version).to.equal(2);
    const patched = await call('PATCH', `${base}/lead-2`, { score: 9, status: null }, { 'content-type': 'application/merge-patch+json' });
    expect(patched.status).to.equal(200);
    expect(patched.body.data).to.deep.equal({ name: 'Linus', score: 9 });
    expect(patched.body.meta).to.include({ version: 3, createdAt: created.body.meta.createdAt });
    const mismatch = await call('PUT', `${base}/lead-2`, { id: 'other', name: 'L' });
    expect(mismatch.status).to.equal(400);
  });

  it('answers 412 for a stale If-Match and writes with a current one', async () => {
    const cur = await call('GET', `${base}/lead-2`);
    expect(cur.headers.get('etag')).to.equal(`"${cur.body.meta.version}"`);
    const stale = await call('PATCH', `${base}/lead-2`, { score: 1 }, { 'if-match': String(cur.body.meta.version - 1) });
    expect(stale.status).to.equal(412);
    expect(stale.body).to.include({ kind: 'Status', reason: 'PreconditionFailed' });
    expect((await call('PUT', `${base}/lead-2`, { name: 'L' }, { 'if-match': '"99"' })).status).to.equal(412);
    expect((await call('DELETE', `${base}/lead-2`, undefined, { 'if-match': '1' })).status).to.equal(412);
    const ok = await call('PATCH', `${base}/lead-2`, { score: 1 }, { 'if-match': `"${cur.body.meta.version}"` });
    expect(ok.status).to.equal(200);
    expect((await call('GET', `${base}/lead-2`, undefined, { 'if-match': 'abc' })).status).to.equal(200);
    expect((await call('PATCH', `${base}/lead-2`, { score: 2 }, { 'if-match': 'abc' })).status).to.equal(400);
  });

  it('lists with equality filters and pages with continue', async () => {
    for (let i = 0; i < 5; i++) await call('PUT', `${base}/page-${i}`, { name: `n${i}`, status: i % 2 ? 'qualified' : 'lost', score: i });
    const q = await call('GET', `${base}?status=qualified`);
    expect(q.body.kind).to.equal('DocumentList');
    expect(q.body.items.map((x: { id: string }) => x.id)).to.deep.equal(['page-1', 'page-3']);
    expect((await call('GET', `${base}?status=lost&score=4`)).body.items.map((x: { id: string }) => x.id)).to.deep.equal(['page-4']);
    const seen: string[] = [];
    let cont = '';
    do {
      const page = await call('GET', `${base}?limit=2${cont ? `&continue=${cont}` : ''}`);
      expect(page.body.items.length).to.be.at.most(2);
      seen.push(...page.body.items.map((x: { id: string }) => x.id));
      cont = page.body.metadata.continue ?? '';
    } while (cont);
    expect(seen).to.deep.equal([...seen].sort());
    expect(seen).to.include.members(['lead-1', 'lead-2', 'page-0', 'page-4']);
    expect((await call('GET', `${base}?continue=!!`)).status).to.equal(400);
    expect((await call('GET', `${base}?limit=0`)).status).to.equal(400);
  });

  it('soft-deletes: gone from lists and reads unless includeDeleted', async () => {
    const del = await call('DELETE', `${base}/page-0`);
    expect(del.status).to.equal(200);
    expect(del.body.meta.deletedAt).to.be.a('string');
    expect((await call('GET', `${base}/page-0`)).status).to.equal(404);
    expect((await call('GET', `${base}/page-0?includeDeleted=true`)).body.meta.deletedAt).to.equal(del.body.meta.deletedAt);
    const ids = async (q: string) => (await call('GET', `${base}${q}`)).body.items.map((x: { id: string }) => x.id);
    expect(await ids('')).not.to.include('page-0');
    expect(await ids('?includeDeleted=true')).to.include('page-0');
    expect((await call('DELETE', `${base}/page-0`)).status).to.equal(404);
  });

  it('marks hook writes by origin; readers read and cannot write', async () => {
    const hook = await call('PUT', `${base}/hooked`, { name: 'h' }, { 'x-orloj-source': 'hook' });
    expect(hook.body.meta.origin).to.equal('hook');
    expect(hook.headers.get('x-orloj-source')).to.equal(null);
    const reader = as('reader-token-1');
    expect((await d.api('GET', `${base}/hooked`, undefined, reader)).status).to.equal(200);
    expect((await d.api('GET', base, undefined, reader)).status).to.equal(200);
    for (const [m, p] of [['POST', base], ['PUT', `${base}/r`], ['PATCH', `${base}/hooked`], ['DELETE', `${base}/hooked`]] as const) {
      const res = await d.api(m, p, m === 'DELETE' ? undefined : { name: 'r' }, reader);
      expect(res.status, `${m} ${p}`).to.equal(403);
    }
    expect((await d.api('GET', base, undefined, { authorization: '' })).status).to.equal(401);
  });

  it('refuses bodies that are not objects, prototype keys, and an unknown collection', async () => {
    expect((await call('POST', base, [1, 2])).status).to.equal(400);
    expect((await call('POST', base, '{"name":"x","__proto__":{"a":1}}')).status).to.equal(422);
    expect((await call('POST', base, { id: { nested: true }, name: 'x' })).status).to.equal(400);
    expect((await call('GET', '/v1/collections/nope/documents')).status).to.equal(404);
    expect((await call('GET', `${base}?bad%20field=x`)).status).to.equal(400);
  });

  it('counts live documents in status, and refuses to delete a collection holding documents without force', async () => {
    const count = (await call('GET', base)).body.items.length;
    await eventually(async () => (await call('GET', '/v1/collections/leads')).body.status?.documentCount === count, 15_000);
    const refused = await call('DELETE', '/v1/collections/leads');
    expect(refused.status).to.equal(409);
    expect(refused.body.message).to.match(/holds documents/);
    expect((await call('DELETE', '/v1/collections/leads?force=true')).status).to.equal(200);
    await put(d, resource('Collection', 'leads', {}));
    expect((await call('GET', base)).body.items).to.deep.equal([]);
    expect((await call('GET', `${base}/lead-1`)).status).to.equal(404);
  });
});
