import { expect } from 'chai';
import { eventually, Orlojd } from '../helpers/orlojd.js';
import { put, readyOf, secret, taskWebhook, templateTask } from '../helpers/fixtures.js';

describe('API server: resources', function () {
  let d: Orlojd;
  before(async () => {
    d = await Orlojd.start({ args: ['--max-request-bytes', '65536'] });
  });
  after(async () => d.destroy());

  it('a TaskWebhook gets an unguessable endpoint and becomes Ready', async () => {
    await put(d, secret('s1', { value: 'replace-me' }));
    await put(d, templateTask('tpl1'));
    await put(d, taskWebhook('wh1', { task_ref: 'tpl1', auth: { secret_ref: 's1' } }));
    const w = await eventually(async () => {
      const r = await d.api('GET', '/v1/task-webhooks/wh1?namespace=default');
      return readyOf(r.body)?.status === 'True' ? r.body : undefined;
    });
    expect(w.status.endpointID).to.match(/^[A-Za-z0-9_-]{32,}$/);
    expect(w.status.endpointPath).to.equal(`/v1/webhook-deliveries/${w.status.endpointID}`);
    expect(w.status.phase).to.equal('Ready');
    expect(w.status.observedGeneration).to.equal(1);
    expect(w.spec.auth.profile).to.equal('generic'); // default applied at the API
    expect(w.spec.payload).to.deep.equal({ mode: 'raw', input_key: 'webhook_payload' });
  });

  it('re-applying the same object writes nothing; a spec change bumps generation, a label change does not', async () => {
    const first = await put(d, templateTask('tpl-rv'));
    expect(first.status).to.equal(201);
    expect(first.headers.get('x-orloj-result')).to.equal('created');
    // The reconciler writes status once; after that nothing should move.
    const settled = await eventually(async () => {
      const t = (await d.api('GET', '/v1/tasks/tpl-rv')).body;
      return readyOf(t) ? t : undefined;
    });
    const again = await put(d, templateTask('tpl-rv'));
    expect(again.status).to.equal(200);
    expect(again.headers.get('x-orloj-result')).to.equal('unchanged');
    expect(again.body.metadata.resourceVersion).to.equal(settled.metadata.resourceVersion);
    const relabeled = await put(d, { ...templateTask('tpl-rv'), metadata: { name: 'tpl-rv', labels: { app: 'other' } } });
    expect(relabeled.headers.get('x-orloj-result')).to.equal('configured');
    expect(relabeled.body.metadata.generation).to.equal(1);
    const changed = await put(d, templateTask('tpl-rv', { topic: 'robots' }));
    expect(changed.body.metadata.generation).to.equal(2);
    expect(Number(changed.body.metadata.resourceVersion)).to.be.above(Number(relabeled.body.metadata.resourceVersion));
  });

  it('camelCase spellings of spec fields are accepted', async () => {
    const r = await put(d, taskWebhook('wh-camel', { taskRef: 'tpl1', auth: { secretRef: 's1', maxSkewSeconds: 60 } }));
    expect(r.body.spec.task_ref).to.equal('tpl1');
    expect(r.body.spec.auth).to.include({ secret_ref: 's1', max_skew_seconds: 60 });
  });

  it('a stale resourceVersion gets 409 Conflict in the Status shape', async () => {
    const cur = (await d.api('GET', '/v1/tasks/tpl1')).body;
    await put(d, templateTask('tpl1', { topic: 'changed' }));
    const res = await d.api('PUT', '/v1/tasks/tpl1', { ...cur, spec: { mode: 'template', input: { x: 1 } } });
    expect(res.status).to.equal(409);
    expect(res.body).to.include({ kind: 'Status', status: 'Failure', code: 409, reason: 'Conflict' });
    expect((await d.api('GET', '/v1/tasks/tpl1')).body.spec.input).to.deep.equal({ topic: 'changed' });
  });

  it('schema violations answer 422 naming the field and change nothing', async () => {
    const res = await d.api('PUT', '/v1/task-webhooks/bad', taskWebhook('bad', { task_ref: 'tpl1', auth: { secret_ref: 's1', profile: 'nope' }, bogus: 1 }));
    expect(res.status).to.equal(422);
    expect(res.body.reason).to.equal('Invalid');
    const fields = res.body.details.causes.map((c: { field: string }) => c.field);
    expect(fields).to.include.members(['spec.auth.profile', 'spec.bogus']);
    expect((await d.api('GET', '/v1/task-webhooks/bad')).status).to.equal(404);
  });

  it('rejects bad names, unknown kinds, bad JSON, wrong media types and oversized bodies', async () => {
    const badName = await d.api('PUT', '/v1/tasks/Bad_Name', { kind: 'Task', metadata: { name: 'Bad_Name' }, spec: {} });
    expect(badName.status).to.equal(422);
    expect(badName.body.details.causes[0].field).to.equal('metadata.name');
    expect((await d.api('GET', '/v1/widgets')).status).to.equal(404);
    const unknownKind = await d.api('POST', '/v1/tasks', { kind: 'Widget', metadata: { name: 'w' } });
    expect(unknownKind.status).to.equal(400);
    expect((await d.api('PUT', '/v1/tasks/x', '{not json')).status).to.equal(400);
    expect((await d.api('PUT', '/v1/tasks/x', 'a=b', { 'content-type': 'text/plain' })).status).to.equal(415);
    const big = await d.api('PUT', '/v1/tasks/big', templateTask('big', { blob: 'x'.repeat(70_000) }));
    expect(big.status).to.equal(413);
    expect(big.body.reason).to.equal('RequestEntityTooLarge');
    expect((await d.api('GET', '/v1/tasks/big')).status).to.equal(404);
  });

  it('creating in a missing namespace is 404; a Namespace makes it possible', async () => {
    const res = await d.api('PUT', '/v1/tasks/t?namespace=team-a', templateTask('t'));
    expect(res.status).to.equal(404);
    await put(d, { kind: 'Namespace', metadata: { name: 'team-a' }, spec: { environment: 'preview' } } as never);
    expect((await d.api('PUT', '/v1/tasks/t?namespace=team-a', templateTask('t'))).status).to.equal(201);
    expect((await d.api('DELETE', '/v1/namespaces/team-a')).status).to.equal(409);
  });

  it('accepts YAML bodies', async () => {
    const yaml = 'apiVersion: orloj.dev/v1\nkind: Task\nmetadata:\n  name: from-yaml\nspec:\n  input: {a: 1}\n';
    const res = await d.api('PUT', '/v1/tasks/from-yaml', yaml, { 'content-type': 'application/yaml' });
    expect(res.status).to.equal(201);
    expect(res.body.spec).to.deep.equal({ mode: 'run', input: { a: 1 } });
  });

  it('never returns secret values unless an admin asks for them', async () => {
    const got = await d.api('GET', '/v1/secrets/s1');
    expect(got.body.spec.data.value).to.equal('<redacted>');
    expect(got.text).not.to.include('replace-me');
    const revealed = await d.api('GET', '/v1/secrets/s1?reveal=true');
    expect(Buffer.from(revealed.body.spec.data.value, 'base64').toString()).to.equal('replace-me');
    expect(revealed.body.spec).not.to.have.property('stringData');
  });

  it('lists with label selectors and pagination', async () => {
    for (const n of ['p1', 'p2', 'p3']) {
      await put(d, { kind: 'Task', metadata: { name: n, labels: { batch: 'b1', n } }, spec: {} } as never);
    }
    const sel = await d.api('GET', `/v1/tasks?labelSelector=${encodeURIComponent('batch=b1,n!=p2')}`);
    expect(sel.body.items.map((o: { metadata: { name: string } }) => o.metadata.name)).to.deep.equal(['p1', 'p3']);
    const page1 = await d.api('GET', '/v1/tasks?labelSelector=batch&limit=2');
    expect(page1.body.items).to.have.length(2);
    const page2 = await d.api('GET', `/v1/tasks?labelSelector=batch&limit=2&continue=${page1.body.metadata.continue}`);
    expect(page2.body.items.map((o: { metadata: { name: string } }) => o.metadata.name)).to.deep.equal(['p3']);
    expect(page2.body.metadata.continue).to.equal(undefined);
  });

  it('deletes, and a deleted object is gone', async () => {
    await put(d, templateTask('gone'));
    const del = await d.api('DELETE', '/v1/tasks/gone');
    expect(del.status).to.equal(200);
    expect((await d.api('GET', '/v1/tasks/gone')).status).to.equal(404);
    expect((await d.api('DELETE', '/v1/tasks/gone')).status).to.equal(404);
  });

  it('status is written only through the status subresource', async () => {
    await put(d, { kind: 'Task', metadata: { name: 'st' }, spec: {}, status: { phase: 'Succeeded' } } as never);
    const t = await eventually(async () => ((await d.api('GET', '/v1/tasks/st')).body.status.phase === 'Pending' ? true : undefined));
    expect(t).to.equal(true);
    const res = await d.api('PUT', '/v1/tasks/st/status', { status: { phase: 'Running' } });
    expect(res.status).to.equal(200);
    expect(res.body.status.phase).to.equal('Running');
    const read = await d.api('GET', '/v1/tasks/st/status');
    expect(read.status).to.equal(200);
    expect(read.body.status.phase).to.equal('Running');
    expect((await d.api('PUT', '/v1/tasks/st/status', { spec: {} })).status).to.equal(400);
  });

  it('serves health, readiness and metrics without a token', async () => {
    expect((await fetch(`${d.url}/healthz`)).status).to.equal(200);
    expect((await fetch(`${d.url}/readyz`)).status).to.equal(200);
    const m = await (await fetch(`${d.url}/metrics`)).text();
    expect(m).to.include('orloj_api_requests_total');
  });
});
