import { expect } from 'chai';
import { request } from 'node:http';
import { eventually, Orlojd } from '../helpers/orlojd.js';

/** Malformed requests get a clear 4xx in the Status shape, never a 500, and change nothing. */
describe('API server: bad input', function () {
  let d: Orlojd;
  before(async () => {
    d = await Orlojd.start();
  });
  after(async () => d.destroy());

  async function expectStatus(res: { status: number; body: { kind?: string; code?: number } }, code: number) {
    expect(res.status, JSON.stringify(res.body)).to.equal(code);
    expect(res.body).to.include({ kind: 'Status', code });
  }
  const noErrorLogged = () => expect(d.logs).not.to.match(/"level":50/);

  it('refuses metadata that is not an object with 422', async () => {
    await expectStatus(await d.api('PUT', '/v1/tasks/x', { kind: 'Task', metadata: 'nope', spec: {} }), 422);
    await expectStatus(await d.api('POST', '/v1/tasks', { kind: 'Task', metadata: ['a'], spec: {} }), 422);
    noErrorLogged();
  });

  it('refuses __proto__ keys in specs and statuses with 422, storing nothing', async () => {
    const sneaky = '{"kind":"TaskWebhook","metadata":{"name":"p"},"spec":{"__proto__":{"task_ref":"a","auth":{"secret_ref":"s"}}}}';
    const res = await d.api('PUT', '/v1/task-webhooks/p', sneaky);
    await expectStatus(res, 422);
    expect((await d.api('GET', '/v1/task-webhooks/p')).status).to.equal(404);
    await d.api('PUT', '/v1/tasks/t', { kind: 'Task', metadata: { name: 't' }, spec: {} });
    await expectStatus(await d.api('PUT', '/v1/tasks/t/status', '{"status":{"__proto__":{"phase":"Failed"}}}'), 422);
    noErrorLogged();
  });

  it('refuses bodies nested too deep, and YAML that refers to itself, with 400', async () => {
    const deep = `{"kind":"Task","metadata":{"name":"deep"},"spec":{"input":${'['.repeat(5000)}${']'.repeat(5000)}}}`;
    await expectStatus(await d.api('PUT', '/v1/tasks/deep', deep), 400);
    const selfAlias = 'kind: Task\nmetadata: {name: loop}\nspec: &a\n  input: {self: *a}\n';
    await expectStatus(await d.api('PUT', '/v1/tasks/loop', selfAlias, { 'content-type': 'application/yaml' }), 400);
    expect((await d.api('GET', '/v1/tasks/deep')).status).to.equal(404);
    noErrorLogged();
  });

  it('bounds limits, selectors and query parameters with 400', async () => {
    for (const q of ['limit=1e22', 'limit=0', 'limit=1.5', 'limit=abc']) await expectStatus(await d.api('GET', `/v1/tasks?${q}`), 400);
    for (const q of ['abc', '1.5', 'NaN', 'Infinity', '-1']) await expectStatus(await d.api('GET', `/v1/events?limit=${q}`), 400);
    const big = Array.from({ length: 1000 }, (_, i) => `k${i}=v`).join(',');
    await expectStatus(await d.api('GET', `/v1/tasks?labelSelector=${big}`), 400);
    await expectStatus(await d.api('GET', '/v1/events?kind=a&kind=b'), 400);
    await expectStatus(await d.api('GET', '/v1/deliveries?owner=a&owner=b'), 400);
    await expectStatus(await d.api('GET', `/v1/tasks?namespace=${'a'.repeat(9000)}`), 400);
    expect((await d.api('GET', '/v1/events?limit=5')).status).to.equal(200);
    noErrorLogged();
  });

  it('a resourceVersion that is not a revision is a bad request, not a conflict', async () => {
    await d.api('PUT', '/v1/tasks/rv', { kind: 'Task', metadata: { name: 'rv' }, spec: {} });
    await expectStatus(await d.api('PUT', '/v1/tasks/rv', { kind: 'Task', metadata: { name: 'rv', resourceVersion: 'abc' }, spec: {} }), 400);
    await expectStatus(await d.api('PUT', '/v1/tasks/rv/status', { metadata: { resourceVersion: '1.5' }, status: { phase: 'Running' } }), 400);
    await expectStatus(await d.api('DELETE', '/v1/tasks/rv?resourceVersion=x'), 400);
    expect((await d.api('GET', '/v1/tasks/rv')).status).to.equal(200);
  });

  it('echoes a short, plain X-Request-Id and replaces any other', async () => {
    expect((await d.api('GET', '/v1/tasks', undefined, { 'x-request-id': 'req-42.a' })).headers.get('x-request-id')).to.equal('req-42.a');
    for (const bad of ['x'.repeat(200), 'has space', 'ünï']) {
      const got = (await d.api('GET', '/v1/tasks', undefined, { 'x-request-id': encodeURIComponent(bad) === bad ? bad : bad.replace(/[^\x20-\x7e]/g, '?') })).headers.get('x-request-id');
      expect(got).to.match(/^[0-9a-f-]{36}$/);
    }
  });

  it('answers 404 for a path that does not exist, even without a token', async () => {
    const res = await fetch(`${d.url}/no/such/path`);
    expect(res.status).to.equal(404);
    expect(await res.json()).to.include({ kind: 'Status', code: 404 });
    expect((await fetch(`${d.url}/v1/tasks`)).status).to.equal(401);
  });

  it('refuses a dedup window shorter than the timestamp skew, where the signature covers a timestamp', async () => {
    const hook = (auth: Record<string, unknown>, window: number) => ({
      kind: 'TaskWebhook', metadata: { name: 'short' }, spec: { task_ref: 't', auth: { secret_ref: 's', ...auth }, idempotency: { dedupe_window_seconds: window } },
    });
    const res = await d.api('PUT', '/v1/task-webhooks/short', hook({}, 60));
    await expectStatus(res, 422);
    expect(res.body.details.causes[0].field).to.equal('spec.idempotency.dedupe_window_seconds');
    expect((await d.api('PUT', '/v1/task-webhooks/short', hook({ max_skew_seconds: 60 }, 60))).status).to.equal(201);
    // GitHub signs no timestamp: dedup is its only replay guard, any window will do.
    expect((await d.api('PUT', '/v1/task-webhooks/short', hook({ profile: 'github' }, 60))).status).to.equal(200);
  });

  it('answers 404 for a trailing slash (an empty name), never the list', async () => {
    for (const method of ['GET', 'PUT', 'DELETE']) {
      for (const path of ['/v1/task-webhooks/', '/v1/namespaces/', '/v1/tasks//status', '/v1/namespaces/x/taskwebhooks/']) {
        const res = await d.api(method, path, method === 'PUT' ? { kind: 'Task', metadata: { name: 'x' }, spec: {} } : undefined);
        await expectStatus(res, 404);
      }
    }
    expect((await fetch(`${d.url}/v1/tasks/`)).status).to.equal(404);
    noErrorLogged();
  });

  it('takes a body\'s kind exactly, naming the kind a near miss means', async () => {
    const cases: Array<[string, string, string]> = [
      ['PUT', '/v1/tasks/near', 'unknown kind "task"; did you mean "Task"?'],
      ['POST', '/v1/tasks', 'unknown kind "task"; did you mean "Task"?'],
      ['PUT', '/v1/secrets/near', 'unknown kind "task"; did you mean "Task"?'],
    ];
    for (const [method, path, message] of cases) {
      const res = await d.api(method, path, { kind: 'task', metadata: { name: 'near' }, spec: {} });
      await expectStatus(res, 400);
      expect(res.body.message).to.equal(message);
    }
    const hook = await d.api('PUT', '/v1/task-webhooks/near', { kind: 'taskWebhook', metadata: { name: 'near' }, spec: {} });
    expect(hook.body.message).to.equal('unknown kind "taskWebhook"; did you mean "TaskWebhook"?');
    expect((await d.api('PUT', '/v1/tasks/near', { kind: 'Widget', metadata: { name: 'near' } })).body.message).to.equal('unknown kind "Widget"');
    expect((await d.api('PUT', '/v1/tasks/near', { kind: 'Secret', metadata: { name: 'near' } })).body.message).to.contain('does not match');
    expect((await d.api('GET', '/v1/tasks/near')).status).to.equal(404);
  });

  it('answers methods no route serves with 405 in the Status shape', async () => {
    await expectStatus(await d.api('POST', '/v1/tasks/t', '{}'), 405);
    await expectStatus(await d.api('PROPFIND', '/v1/tasks'), 405);
  });

  it('does not log a client that goes away mid-body as a failure', async () => {
    const answered = async (): Promise<number> => {
      const m = (await d.api('GET', '/metrics')).text.match(/orloj_api_requests_total\{method="PUT",route="\/v1\/:plural\/:name",resource="tasks",code="400"\} (\d+)/);
      return Number(m?.[1] ?? 0);
    };
    const before = await answered();
    const url = new URL(d.url);
    await new Promise<void>((resolve) => {
      const req = request({ host: url.hostname, port: url.port, path: '/v1/tasks/half', method: 'PUT', headers: { authorization: `Bearer ${d.token}`, 'content-type': 'application/json', 'content-length': '1000' } });
      req.on('error', () => resolve());
      req.write('{"kind":"Task",', () => setImmediate(() => req.destroy()));
      req.on('close', () => resolve());
    });
    // The server has finished with it (a 400 nobody reads), is still fine, and logged no error.
    await eventually(async () => (await answered()) > before);
    expect((await d.api('GET', '/v1/tasks?limit=1')).status).to.equal(200);
    noErrorLogged();
  });
});
