// PATCH /v1/{plural}/{name}: merge patches (RFC 7386) and JSON patches (RFC 6902) of spec,
// labels and annotations, validated and written as a PUT would be, at the version read.
import { expect } from 'chai';
import { eventually, Orlojd, type ApiResponse } from '../helpers/orlojd.js';
import { readyOf } from '../helpers/fixtures.js';
import { withBase64 } from '../helpers/files.js';

const MERGE = 'application/merge-patch+json';
const JSON_PATCH = 'application/json-patch+json';
const TOKENS = { reader: 'patch-reader', writer: 'patch-writer', admin: 'patch-admin' };

// Tests read arbitrary JSON shapes.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Body = any;

describe('API server: PATCH', function () {
  this.timeout(60_000);
  let d: Orlojd;
  before(async () => {
    const tokens = Object.entries(TOKENS).map(([role, t]) => `${t}:${role}`).join(',');
    d = await Orlojd.start({ args: ['--api-tokens', tokens, '--max-request-bytes', '65536'] });
    d.token = TOKENS.admin;
  });
  after(async () => d?.destroy());

  const patch = (path: string, body: unknown, type = MERGE, token = TOKENS.writer): Promise<ApiResponse<Body>> =>
    d.api('PATCH', path, typeof body === 'string' ? body : JSON.stringify(body), { 'content-type': type, authorization: `Bearer ${token}` });
  const task = async (name: string, spec: object = { mode: 'template', input: { topic: 'ai' } }, labels?: Record<string, string>) => {
    const r = await d.api('PUT', `/v1/tasks/${name}`, { kind: 'Task', metadata: { name, ...(labels ? { labels } : {}) }, spec });
    expect(r.status, r.text).to.be.oneOf([200, 201]);
    return settled(`/v1/tasks/${name}`);
  };
  /** The object once its reconciler has written the status of its generation (nothing moves after). */
  const settled = (path: string): Promise<Body> =>
    eventually(async () => {
      const o = (await d.api('GET', path)).body;
      return readyOf(o) && o.status.observedGeneration === o.metadata.generation && o;
    });
  const expectFailure = (r: ApiResponse<Body>, code: number, reason: string, message?: RegExp) => {
    expect(r.status, r.text).to.equal(code);
    expect(r.body).to.include({ kind: 'Status', status: 'Failure', code, reason });
    if (message) expect(r.body.message).to.match(message);
  };

  it('a merge patch sets and removes spec fields and labels; the same patch again changes nothing', async () => {
    const before = await task('m1', { mode: 'template', input: { topic: 'ai', old: 1 } }, { app: 'x', gone: 'y' });
    const r = await patch('/v1/tasks/m1', { metadata: { labels: { tier: 'web', gone: null } }, spec: { input: { old: null, extra: true } } });
    expect(r.status, r.text).to.equal(200);
    expect(r.headers.get('x-orloj-result')).to.equal('configured');
    expect(r.body.metadata.labels).to.deep.equal({ app: 'x', tier: 'web' });
    expect(r.body.spec).to.deep.equal({ mode: 'template', input: { topic: 'ai', extra: true } });
    expect(r.body.metadata.generation).to.equal(before.metadata.generation + 1);
    expect(r.body.metadata.uid).to.equal(before.metadata.uid);
    const stored = await settled('/v1/tasks/m1');
    expect(stored.metadata.labels).to.deep.equal({ app: 'x', tier: 'web' });
    const again = await patch('/v1/tasks/m1', { metadata: { labels: { tier: 'web' } } });
    expect(again.headers.get('x-orloj-result')).to.equal('unchanged');
    expect(again.body.metadata.resourceVersion).to.equal(stored.metadata.resourceVersion);
  });

  it('a JSON patch applies add, remove, replace, move, copy and test in order', async () => {
    await task('j1', { mode: 'template', input: { a: 1, list: ['x'] } });
    const ops = [
      { op: 'test', path: '/spec/input/a', value: 1 },
      { op: 'add', path: '/spec/input/list/-', value: 'y' },
      { op: 'replace', path: '/spec/input/a', value: 2 },
      { op: 'copy', from: '/spec/input/a', path: '/spec/input/b' },
      { op: 'move', from: '/spec/input/list', path: '/spec/input/moved' },
      { op: 'add', path: '/metadata/annotations', value: { 'note/who': 'ops team' } },
      { op: 'remove', path: '/spec/input/b' },
    ];
    const r = await patch('/v1/tasks/j1', ops, JSON_PATCH);
    expect(r.status, r.text).to.equal(200);
    expect(r.body.spec.input).to.deep.equal({ a: 2, moved: ['x', 'y'] });
    expect(r.body.metadata.annotations).to.deep.equal({ 'note/who': 'ops team' });
  });

  it('a failed test is 422 and writes nothing; a failed test of the resourceVersion is 409', async () => {
    const t = await task('j2');
    const failed = await patch('/v1/tasks/j2', [{ op: 'replace', path: '/spec/mode', value: 'run' }, { op: 'test', path: '/spec/input/topic', value: 'robots' }], JSON_PATCH);
    expectFailure(failed, 422, 'Invalid', /^operation 1 \(test \/spec\/input\/topic\) failed/);
    const stale = await patch('/v1/tasks/j2', [{ op: 'test', path: '/metadata/resourceVersion', value: '1' }, { op: 'replace', path: '/spec/mode', value: 'run' }], JSON_PATCH);
    expectFailure(stale, 409, 'Conflict', /the object has been modified/);
    const now = (await d.api('GET', '/v1/tasks/j2')).body;
    expect(now.spec.mode).to.equal('template');
    expect(now.metadata.resourceVersion).to.equal(t.metadata.resourceVersion);
    const current = await patch('/v1/tasks/j2', [{ op: 'test', path: '/metadata/resourceVersion', value: t.metadata.resourceVersion }, { op: 'replace', path: '/spec/mode', value: 'run' }], JSON_PATCH);
    expect(current.status, current.text).to.equal(200);
  });

  it('a malformed patch is 400, one that does not fit the object 422, naming the operation', async () => {
    await task('bad');
    const cases: Array<[unknown, string, number, RegExp]> = [
      ['{not json', MERGE, 400, /^invalid JSON body/],
      [[{ op: 'add', path: '/x', value: 1 }], MERGE, 400, /merge patch of a resource must be a JSON object/],
      [{ op: 'add' }, JSON_PATCH, 400, /JSON patch must be an array/],
      [[{ op: 'frob', path: '/spec' }], JSON_PATCH, 400, /operation 0 has op "frob": use add, remove/],
      [[{ op: 'add', path: '/spec/x' }], JSON_PATCH, 400, /operation 0 needs a "value"/],
      [[{ op: 'copy', path: '/spec/x' }], JSON_PATCH, 400, /operation 0 needs a "from" path/],
      [[{ op: 'add', path: 'spec', value: 1 }], JSON_PATCH, 400, /operation 0 needs a path that is "" or starts with "\/"/],
      [[{ op: 'remove', path: '/spec/input/nothing' }], JSON_PATCH, 422, /operation 0 \(remove \/spec\/input\/nothing\) cannot be applied: the path does not exist/],
      [[{ op: 'add', path: '/spec/no/such/parent', value: 1 }], JSON_PATCH, 422, /operation 0 .* cannot be applied/],
      [[{ op: 'move', from: '/spec/nowhere', path: '/spec/x' }], JSON_PATCH, 422, /the from path \/spec\/nowhere does not exist/],
      [[{ op: 'add', path: '/spec/input/__proto__/polluted', value: 1 }], JSON_PATCH, 422, /prototype/],
    ];
    for (const [body, type, code, message] of cases) {
      const r = await patch('/v1/tasks/bad', body, type);
      expect(r.status, `${JSON.stringify(body)}: ${r.text}`).to.equal(code);
      expect(r.body.message, JSON.stringify(body)).to.match(message);
    }
    expect(({} as Record<string, unknown>).polluted).to.equal(undefined);
    const tooMany = await patch('/v1/tasks/bad', Array.from({ length: 1001 }, () => ({ op: 'test', path: '/kind', value: 'Task' })), JSON_PATCH);
    expectFailure(tooMany, 413, 'RequestEntityTooLarge', /at most 1000 operations/);
  });

  it('copies cannot grow an object past the request body limit', async () => {
    await task('grow', { mode: 'template', input: { blob: 'x'.repeat(1000) } });
    // Each copy doubles spec.input: 2^7 copies of 1 kB pass the 64 kB limit; unchecked, 2^24 would exhaust the server.
    const ops = Array.from({ length: 24 }, (_, i) => ({ op: 'copy', from: '/spec/input', path: `/spec/input/c${i}` }));
    expectFailure(await patch('/v1/tasks/grow', ops, JSON_PATCH), 413, 'RequestEntityTooLarge', /larger than 65536 bytes/);
    expect((await d.api('GET', '/v1/tasks/grow')).body.spec.input).to.have.keys('blob');
  });

  it('only spec, labels and annotations are patchable: status and system metadata are refused by name', async () => {
    const t = await task('fixed');
    const cases: Array<[unknown, string, string]> = [
      [{ status: { phase: 'Failed' } }, MERGE, 'status'],
      [{ metadata: { uid: 'mine' } }, MERGE, 'metadata.uid'],
      [{ metadata: { generation: 9 } }, MERGE, 'metadata.generation'],
      [{ metadata: { name: 'other' } }, MERGE, 'metadata.name'],
      [{ kind: 'Secret' }, MERGE, 'kind'],
      [{ surprise: 1 }, MERGE, 'surprise'],
      [[{ op: 'remove', path: '/metadata/creationTimestamp' }], JSON_PATCH, 'metadata.creationTimestamp'],
    ];
    for (const [body, type, field] of cases) {
      const r = await patch('/v1/tasks/fixed', body, type);
      expectFailure(r, 422, 'Invalid');
      expect(r.body.details.causes.map((c: { field: string }) => c.field), JSON.stringify(body)).to.deep.equal([field]);
    }
    const now = (await d.api('GET', '/v1/tasks/fixed')).body;
    expect(now.metadata).to.deep.equal(t.metadata);
  });

  it('the result is validated as a PUT is, and a namespace environment stays the admin\'s', async () => {
    await task('valid');
    const r = await patch('/v1/tasks/valid', { spec: { mode: 'sometimes' } });
    expectFailure(r, 422, 'Invalid', /spec\.mode: must be one of: run, template/);
    const label = await patch('/v1/tasks/valid', { metadata: { labels: { 'bad key!': 'v' } } });
    expectFailure(label, 422, 'Invalid', /metadata\.labels\.bad key!: invalid label key/);
    expect((await d.api('PUT', '/v1/namespaces/envs', { kind: 'Namespace', metadata: { name: 'envs' }, spec: {} })).status).to.equal(201);
    expectFailure(await patch('/v1/namespaces/envs', { spec: { environment: 'production' } }), 403, 'Forbidden', /needs the admin role/);
    const byAdmin = await patch('/v1/namespaces/envs', { spec: { environment: 'production' } }, MERGE, TOKENS.admin);
    expect(byAdmin.status, byAdmin.text).to.equal(200);
    expect(byAdmin.body.spec.environment).to.equal('production');
  });

  it('a patch that names a resourceVersion applies at that version only: a stale one is 409', async () => {
    const t = await task('pinned');
    const rv = t.metadata.resourceVersion;
    const first = await patch('/v1/tasks/pinned', { metadata: { resourceVersion: rv, labels: { a: '1' } } });
    expect(first.status, first.text).to.equal(200);
    const second = await patch('/v1/tasks/pinned', { metadata: { resourceVersion: rv, labels: { b: '2' } } });
    expectFailure(second, 409, 'Conflict');
    expect((await d.api('GET', '/v1/tasks/pinned')).body.metadata.labels).to.deep.equal({ a: '1' });
    expectFailure(await patch('/v1/tasks/pinned', { metadata: { resourceVersion: 7 } }), 400, 'BadRequest', /resourceVersion must be a revision/);
  });

  it('concurrent patches that name no resourceVersion all land: none is lost', async () => {
    await task('busy');
    // As many writers as the server retries (less one, for a reconciler that may write too): each
    // conflict is another writer's success, so every one of them lands.
    const n = 4;
    const results = await Promise.all(Array.from({ length: n }, (_, i) => patch('/v1/tasks/busy', { metadata: { labels: { [`k${i}`]: 'v' } } })));
    expect(results.map((r) => r.status), results.map((r) => r.text).join('\n')).to.deep.equal(Array(n).fill(200));
    const labels = (await d.api('GET', '/v1/tasks/busy')).body.metadata.labels;
    expect(Object.keys(labels).sort()).to.deep.equal(Array.from({ length: n }, (_, i) => `k${i}`).sort());
  });

  it('?dryRun=true answers the patched object and stores nothing', async () => {
    const t = await task('dry');
    const r = await d.api('PATCH', '/v1/tasks/dry?dryRun=true', JSON.stringify({ spec: { mode: 'run' } }), { 'content-type': MERGE });
    expect(r.status, r.text).to.equal(200);
    expect(r.body.spec.mode).to.equal('run');
    expect(r.headers.get('x-orloj-result')).to.equal('configured');
    const now = (await d.api('GET', '/v1/tasks/dry')).body;
    expect(now.spec.mode).to.equal('template');
    expect(now.metadata.resourceVersion).to.equal(t.metadata.resourceVersion);
  });

  it('needs the writer role; other content types are 415; a missing object or kind is 404', async () => {
    await task('roles');
    expectFailure(await patch('/v1/tasks/roles', { spec: { mode: 'run' } }, MERGE, TOKENS.reader), 403, 'Forbidden');
    expectFailure(await patch('/v1/tasks/roles', { spec: { mode: 'run' } }, 'application/json'), 415, 'UnsupportedMediaType', /use application\/merge-patch\+json or application\/json-patch\+json/);
    expectFailure(await patch('/v1/tasks/roles', { spec: {} }, 'application/strategic-merge-patch+json'), 415, 'UnsupportedMediaType');
    expectFailure(await patch('/v1/tasks/nobody', { spec: { mode: 'run' } }), 404, 'NotFound', /Task "default\/nobody" not found/);
    expectFailure(await patch('/v1/widgets/x', { spec: {} }), 404, 'NotFound');
    expect((await d.api('GET', '/v1/tasks/roles')).body.spec.mode).to.equal('template');
  });

  describe('of a Secret', () => {
    const value = 'sup3r-secret-value';
    const leaks = (r: ApiResponse<Body>, ...values: string[]) => values.flatMap(withBase64).filter((v) => r.text.includes(v));
    before(async () => {
      const r = await d.api('PUT', '/v1/secrets/creds', { kind: 'Secret', metadata: { name: 'creds' }, spec: { stringData: { password: value } } });
      expect(r.status).to.equal(201);
    });

    it('takes new values through stringData and answers them redacted, a dry run marking what changes', async () => {
      const dry = await d.api('PATCH', '/v1/secrets/creds?dryRun=true', JSON.stringify({ spec: { stringData: { password: 'next-value' } } }), { 'content-type': MERGE, authorization: `Bearer ${TOKENS.writer}` });
      expect(dry.status, dry.text).to.equal(200);
      expect(dry.body.spec.data).to.deep.equal({ password: '<redacted, changed>' });
      const r = await patch('/v1/secrets/creds', { metadata: { labels: { team: 'a' } }, spec: { stringData: { token: 'tok-123' } } });
      expect(r.status, r.text).to.equal(200);
      expect(r.body.spec.data).to.deep.equal({ password: '<redacted>', token: '<redacted>' });
      expect(leaks(r, value, 'tok-123')).to.deep.equal([]);
      const revealed = (await d.api('GET', '/v1/secrets/creds?reveal=true')).body;
      expect(Buffer.from(revealed.spec.data.password, 'base64').toString()).to.equal(value);
      expect(Buffer.from(revealed.spec.data.token, 'base64').toString()).to.equal('tok-123');
      expect(revealed.metadata.labels).to.deep.equal({ team: 'a' });
    });

    it('never lets a patch carry a value out of spec, nor a writer test one', async () => {
      const out = await patch('/v1/secrets/creds', [{ op: 'copy', from: '/spec/data/password', path: '/metadata/labels/p' }], JSON_PATCH, TOKENS.admin);
      expectFailure(out, 422, 'Invalid', /would copy secret values out of spec/);
      const moved = await patch('/v1/secrets/creds', [{ op: 'move', from: '/spec', path: '/metadata/annotations' }], JSON_PATCH, TOKENS.admin);
      expectFailure(moved, 422, 'Invalid', /would copy secret values out of spec/);
      const intoType = await patch('/v1/secrets/creds', [{ op: 'copy', from: '/spec/data/password', path: '/spec/type' }], JSON_PATCH);
      expectFailure(intoType, 403, 'Forbidden', /reads secret values, which needs the admin role/);
      const guess = await patch('/v1/secrets/creds', [{ op: 'test', path: '/spec/data/password', value: Buffer.from(value).toString('base64') }], JSON_PATCH);
      expectFailure(guess, 403, 'Forbidden', /reads secret values/);
      const byAdmin = await patch('/v1/secrets/creds', [{ op: 'test', path: '/spec/data/password', value: Buffer.from('wrong').toString('base64') }], JSON_PATCH, TOKENS.admin);
      expectFailure(byAdmin, 422, 'Invalid', /failed/);
      const invalid = await patch('/v1/secrets/creds', { spec: { data: { password: 'not base64!' } } });
      expectFailure(invalid, 422, 'Invalid');
      for (const r of [out, moved, intoType, guess, byAdmin, invalid]) expect(leaks(r, value)).to.deep.equal([]);
      const labels = (await d.api('GET', '/v1/secrets/creds')).body.metadata.labels;
      expect(labels).to.deep.equal({ team: 'a' });
    });
  });

  it('is in the served OpenAPI document, with both patch types', async () => {
    const doc = (await d.api('GET', '/openapi/v3')).body;
    const op = doc.paths['/v1/tasks/{name}'].patch;
    expect(op.operationId).to.equal('patchTask');
    expect(op.requestBody.content).to.have.keys(MERGE, JSON_PATCH);
    expect(doc.components.schemas.JsonPatch.items.properties.op.enum).to.deep.equal(['add', 'remove', 'replace', 'move', 'copy', 'test']);
  });
});
