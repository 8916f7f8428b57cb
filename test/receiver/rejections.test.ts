import { expect } from 'chai';
import { eventually, Orlojd } from '../helpers/orlojd.js';
import { put, readyOf, secret, taskWebhook, templateTask } from '../helpers/fixtures.js';
import { send } from '../helpers/deliveries.js';

const SECRET = 'shh-very-secret';
const BODY = '{"hello":"world"}';

/** Every rejection: status code, a body with no internal detail, lastError, counters and a record. */
describe('TaskWebhook delivery rejections', function () {
  let d: Orlojd;
  before(async () => {
    d = await Orlojd.start();
    await put(d, secret('s', { value: SECRET }));
    await put(d, templateTask('tpl'));
  });
  after(async () => d.destroy());

  async function webhook(name: string, spec: Record<string, unknown> = {}): Promise<string> {
    await put(d, taskWebhook(name, { task_ref: 'tpl', auth: { secret_ref: 's' }, ...spec }));
    const w = await eventually(async () => {
      const o = (await d.api('GET', `/v1/task-webhooks/${name}`)).body;
      return o.status?.endpointPath && readyOf(o) ? o : undefined;
    });
    return w.status.endpointPath as string;
  }

  /** Waits for the counters to show `rejected` and returns status plus the newest record. */
  async function afterRejection(name: string, rejected: number) {
    const st = await eventually(async () => {
      const s = (await d.api('GET', `/v1/task-webhooks/${name}`)).body.status;
      return s.rejectedCount === rejected ? s : undefined;
    }, 2000);
    const rec = (await d.api('GET', `/v1/deliveries?owner=task-webhook/${name}&limit=1`)).body.items[0];
    return { st, rec };
  }

  function expectGeneric(res: { body: Record<string, unknown>; text: string }, code: number, message: string) {
    expect(res.body).to.include({ accepted: false, code, message });
    expect(res.text).not.to.include(SECRET);
    expect(res.text).not.to.match(/mismatch|skew|not found in|template task/);
  }

  it('404 for an unknown endpoint', async () => {
    const res = await send(d, '/v1/webhook-deliveries/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA', { secret: SECRET, body: BODY });
    expect(res.status).to.equal(404);
    expect(res.body).to.include({ accepted: false, message: 'webhook endpoint not found' });
  });

  it('401 for a bad signature, with the detail only in lastError and the record', async () => {
    const ep = await webhook('badsig');
    const res = await send(d, ep, { secret: 'wrong-secret', body: BODY, eventId: 'x1' });
    expect(res.status).to.equal(401);
    expectGeneric(res, 401, 'signature verification failed');
    const { st, rec } = await afterRejection('badsig', 1);
    expect(st.lastError).to.include('signature mismatch');
    expect(st.acceptedCount).to.equal(0);
    expect(rec).to.include({ outcome: 'rejected', httpStatus: 401 });
    expect(JSON.stringify(st) + JSON.stringify(rec)).not.to.include(SECRET);
  });

  it('401 for a stale or future timestamp', async () => {
    const ep = await webhook('stale');
    expect((await send(d, ep, { secret: SECRET, body: BODY, atMs: Date.now() - 301_000 })).status).to.equal(401);
    expect((await send(d, ep, { secret: SECRET, body: BODY, atMs: Date.now() + 301_000 })).status).to.equal(401);
    const { st } = await afterRejection('stale', 2);
    expect(st.lastError).to.include('skew');
  });

  it('401 for a missing signature header', async () => {
    const ep = await webhook('nosig');
    const res = await send(d, ep, { secret: SECRET, body: BODY, omit: ['X-Signature'] });
    expect(res.status).to.equal(401);
    const { st } = await afterRejection('nosig', 1);
    expect(st.lastError).to.include('X-Signature');
  });

  it('400 for a missing event id', async () => {
    const ep = await webhook('noid');
    const res = await send(d, ep, { secret: SECRET, body: BODY, omit: ['X-Event-Id'] });
    expect(res.status).to.equal(400);
    expectGeneric(res, 400, 'missing event id');
    const { st, rec } = await afterRejection('noid', 1);
    expect(st.lastError).to.include('X-Event-Id');
    expect(rec.httpStatus).to.equal(400);
  });

  it('409 while suspended', async () => {
    const ep = await webhook('paused', { suspend: true });
    const res = await send(d, ep, { secret: SECRET, body: BODY });
    expect(res.status).to.equal(409);
    expectGeneric(res, 409, 'webhook is suspended');
    const { st } = await afterRejection('paused', 1);
    expect(st.lastError).to.include('suspended');
  });

  it('413 for a body over max_body_bytes, without reading it', async () => {
    const ep = await webhook('small', { max_body_bytes: 1024 });
    const res = await send(d, ep, { secret: SECRET, body: JSON.stringify({ blob: 'x'.repeat(4096) }) });
    expect(res.status).to.equal(413);
    expectGeneric(res, 413, 'payload too large');
    const { st } = await afterRejection('small', 1);
    expect(st.lastError).to.include('max_body_bytes');
  });

  it('400 with a generic message when the template is unusable; a duplicate still answers 202', async () => {
    await put(d, templateTask('tpl-going'));
    const ep = await webhook('tplgone', { task_ref: 'tpl-going' });
    const ok = await send(d, ep, { secret: SECRET, body: BODY, eventId: 'before' });
    expect(ok.status).to.equal(202);
    await d.api('DELETE', '/v1/tasks/tpl-going');
    const res = await eventually(async () => {
      const r = await send(d, ep, { secret: SECRET, body: BODY, eventId: `after-${Math.random()}` });
      return r.status === 400 ? r : undefined;
    });
    expectGeneric(res, 400, 'webhook task creation failed');
    const st = (await d.api('GET', '/v1/task-webhooks/tplgone')).body.status;
    expect(st.lastError).to.include('tpl-going');
    const dup = await send(d, ep, { secret: SECRET, body: BODY, eventId: 'before' });
    expect(dup.status).to.equal(202);
    expect(dup.body.duplicate).to.equal(true);
  });

  it('405 for anything but POST', async () => {
    const ep = await webhook('method');
    const res = await fetch(d.url + ep, { method: 'GET' });
    expect(res.status).to.equal(405);
  });

  it('a flood of bad signatures is counted exactly, in a handful of writes', async () => {
    const ep = await webhook('flood');
    const before = Number((await d.api('GET', '/v1/tasks')).body.metadata.resourceVersion);
    await Promise.all(Array.from({ length: 200 }, () => send(d, ep, { secret: 'nope', body: BODY })));
    const { st } = await afterRejection('flood', 200);
    expect(st.rejectedCount).to.equal(200);
    const after = Number((await d.api('GET', '/v1/tasks')).body.metadata.resourceVersion);
    // Only status flushes bump the revision: a few, never one per request.
    expect(after - before).to.be.below(10);
  });
});
