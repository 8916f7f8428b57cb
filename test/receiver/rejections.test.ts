import { expect } from 'chai';
import { request, type IncomingMessage } from 'node:http';
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
    expect(st.lastError).to.equal('signature verification failed: signature mismatch');
    expect(st.acceptedCount).to.equal(0);
    // Named by the event id header it was sent with, though no signature vouches for it.
    expect(rec).to.include({ outcome: 'rejected', httpStatus: 401, eventId: 'x1', reason: 'signature verification failed: signature mismatch' });
    expect(JSON.stringify(st) + JSON.stringify(rec)).not.to.include(SECRET);
  });

  it('401 for a stale or future timestamp', async () => {
    const ep = await webhook('stale');
    expect((await send(d, ep, { secret: SECRET, body: BODY, atMs: Date.now() - 301_000 })).status).to.equal(401);
    expect((await send(d, ep, { secret: SECRET, body: BODY, atMs: Date.now() + 301_000 })).status).to.equal(401);
    const { st, rec } = await afterRejection('stale', 2);
    expect(st.lastError).to.equal('signature verification failed: timestamp outside allowed skew of 300s');
    expect(rec).to.include({ httpStatus: 401, reason: 'signature verification failed: timestamp outside allowed skew of 300s' });
  });

  it('401 for a missing signature header', async () => {
    const ep = await webhook('nosig');
    const res = await send(d, ep, { secret: SECRET, body: BODY, omit: ['X-Signature'] });
    expect(res.status).to.equal(401);
    const { st, rec } = await afterRejection('nosig', 1);
    expect(st.lastError).to.equal('signature verification failed: missing signature header X-Signature');
    expect(rec).to.include({ httpStatus: 401, reason: 'signature verification failed: missing signature header X-Signature' });
  });

  it('400 for a missing event id', async () => {
    const ep = await webhook('noid');
    const res = await send(d, ep, { secret: SECRET, body: BODY, omit: ['X-Event-Id'] });
    expect(res.status).to.equal(400);
    expectGeneric(res, 400, 'missing event id');
    const { st, rec } = await afterRejection('noid', 1);
    expect(st.lastError).to.equal('missing event id (expected in X-Event-Id)');
    expect(rec).to.include({ httpStatus: 400, reason: 'missing event id (expected in X-Event-Id)' });
  });

  it('409 while suspended', async () => {
    const ep = await webhook('paused', { suspend: true });
    const res = await send(d, ep, { secret: SECRET, body: BODY });
    expect(res.status).to.equal(409);
    expectGeneric(res, 409, 'webhook is suspended');
    const { st, rec } = await afterRejection('paused', 1);
    // The delivery path's words: the reconciler says 'Suspended' only in the Ready condition.
    expect(readyOf({ status: st })).to.include({ status: 'False', reason: 'Suspended' });
    expect(st.lastError).to.equal('delivery refused: webhook is suspended');
    expect(rec).to.include({ outcome: 'rejected', httpStatus: 409, reason: 'delivery refused: webhook is suspended' });
  });

  it('413 for a body over max_body_bytes, without reading it', async () => {
    const ep = await webhook('small', { max_body_bytes: 1024 });
    const res = await send(d, ep, { secret: SECRET, body: JSON.stringify({ blob: 'x'.repeat(4096) }), eventId: 'big-1' });
    expect(res.status).to.equal(413);
    expectGeneric(res, 413, 'payload too large');
    const { st, rec } = await afterRejection('small', 1);
    expect(st.lastError).to.equal('body exceeds max_body_bytes (1024)');
    // The event id header is read before the body is refused.
    expect(rec).to.include({ httpStatus: 413, eventId: 'big-1', reason: 'body exceeds max_body_bytes (1024)' });
  });

  it('413 for a chunked body (no Content-Length) over max_body_bytes, answered and closed mid-upload', async () => {
    const ep = await webhook('chunked', { max_body_bytes: 1024 });
    const url = new URL(d.url + ep);
    const req = request({
      host: url.hostname,
      port: url.port,
      path: url.pathname,
      method: 'POST',
      headers: { 'content-type': 'application/json', 'transfer-encoding': 'chunked' },
    });
    const errors: Error[] = [];
    req.on('error', (e) => errors.push(e)); // the server closing on us mid-upload is expected
    const socketClosed = new Promise<void>((r) => req.on('socket', (s) => s.once('close', () => r())));
    const response = new Promise<IncomingMessage>((r) => req.once('response', r));
    // Far more than the server would ever need to read; the client never ends the body by itself
    // unless it managed to send all of it, which the server must not have waited for.
    const TOTAL = 256 * 1024 * 1024;
    const chunk = Buffer.alloc(4096, 'x');
    let written = 0;
    let answered = false;
    let ended = false;
    /** Resolves when the request can take more, is closed, or was answered. */
    const writable = () =>
      new Promise<void>((r) => {
        const done = (): void => {
          req.off('drain', done);
          req.off('close', done);
          r();
        };
        req.on('drain', done);
        req.on('close', done);
        void response.then(done);
      });
    const writer = (async () => {
      while (!answered && !req.destroyed && written < TOTAL) {
        written += chunk.length;
        if (!req.write(chunk)) await writable();
      }
      if (!answered && !req.destroyed) {
        ended = true;
        req.end();
      }
    })();
    // An answer must come; a reset connection (the 413 lost) fails here instead of timing out.
    const res = await Promise.race([
      response,
      socketClosed.then(() => {
        throw new Error(`connection closed without an answer after ${written} bytes sent: ${errors.map((e) => e.message).join(', ') || 'no error'}`);
      }),
    ]);
    answered = true;
    const writtenAtAnswer = written;
    expect(res.statusCode).to.equal(413);
    expect(req.getHeader('content-length')).to.equal(undefined);
    expect(ended, 'the server waited for the whole body').to.equal(false);
    expect(writtenAtAnswer).to.be.below(TOTAL);
    expect(res.headers.connection).to.equal('close');
    let text = '';
    for await (const c of res) text += (c as Buffer).toString();
    expect(JSON.parse(text)).to.include({ accepted: false, code: 413, message: 'payload too large' });
    // The server hangs up on the rest of the upload instead of reading it.
    await socketClosed;
    await writer;
    expect(ended).to.equal(false);
    const { st, rec } = await afterRejection('chunked', 1);
    expect(st.lastError).to.equal('body exceeds max_body_bytes (1024)');
    expect(rec).to.include({ outcome: 'rejected', httpStatus: 413, reason: 'body exceeds max_body_bytes (1024)' });
  });

  it('400 with a generic message when the template is unusable; a duplicate still answers 202', async () => {
    await put(d, templateTask('tpl-going'));
    const ep = await webhook('tplgone', { task_ref: 'tpl-going' });
    const ok = await send(d, ep, { secret: SECRET, body: BODY, eventId: 'before' });
    expect(ok.status).to.equal(202);
    await d.api('DELETE', '/v1/tasks/tpl-going');
    // The reconciler reports the missing template in its own words first; the delivery path's
    // lastError must then replace them with its own.
    const reconciled = await eventually(async () => {
      const st = (await d.api('GET', '/v1/task-webhooks/tplgone')).body.status;
      return readyOf({ status: st })?.reason === 'TemplateNotFound' ? st : undefined;
    });
    expect(reconciled.lastError).to.equal('task "tpl-going" not found in namespace "default"');
    let refused = 0;
    const res = await eventually(async () => {
      const r = await send(d, ep, { secret: SECRET, body: BODY, eventId: `after-${Math.random()}` });
      if (r.status === 400) refused++;
      return r.status === 400 ? r : undefined;
    });
    expectGeneric(res, 400, 'webhook task creation failed');
    const { st, rec } = await afterRejection('tplgone', (reconciled.rejectedCount as number) + refused);
    expect(st.lastError).to.equal('webhook task creation failed: template task "tpl-going" not found');
    expect(rec).to.include({ outcome: 'rejected', httpStatus: 400, reason: 'webhook task creation failed: template task "tpl-going" not found' });
    const dup = await send(d, ep, { secret: SECRET, body: BODY, eventId: 'before' });
    expect(dup.status).to.equal(202);
    expect(dup.body.duplicate).to.equal(true);
  });

  it('a sender that goes away mid-body is recorded as an incomplete request, not as too large or a failure', async () => {
    const ep = await webhook('gone-mid-body');
    const url = new URL(d.url + ep);
    await new Promise<void>((resolve) => {
      const req = request({ host: url.hostname, port: url.port, path: url.pathname, method: 'POST', headers: { 'content-type': 'application/json', 'content-length': '1000' } });
      req.on('error', () => resolve());
      req.on('close', () => resolve());
      req.write('{"half":', () => setImmediate(() => req.destroy()));
    });
    const { st, rec } = await afterRejection('gone-mid-body', 1);
    expect(st.lastError).to.equal('the request body was not received completely');
    expect(rec).to.include({ outcome: 'rejected', httpStatus: 400 });
    expect(d.logs).not.to.include('delivery failed');
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
