// Endpoint IDs: an unknown one is answered from memory (no store read), a new one is
// deliverable as soon as its status says so, and an early answer does not wait for a body.
import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { connect } from 'node:net';
import { eventually, Orlojd } from '../helpers/orlojd.js';
import { put, readyOf, secret, taskWebhook, templateTask } from '../helpers/fixtures.js';
import { send } from '../helpers/deliveries.js';

const SECRET = 'endpoint-secret';
const unknownPath = () => `/v1/webhook-deliveries/${randomBytes(24).toString('base64url')}`;

/** Sends `head` (and never a body) on a fresh connection; resolves with all the server sent once it hung up. */
async function exchange(d: Orlojd, head: string): Promise<string> {
  const sock = connect(d.port, '127.0.0.1');
  sock.write(head);
  let text = '';
  for await (const c of sock) text += (c as Buffer).toString();
  return text;
}

describe('endpoint IDs', function () {
  this.timeout(60_000);
  let d: Orlojd;
  before(async () => {
    // No periodic resync: the only writes of the control plane are the test's own.
    d = await Orlojd.start({ args: ['--resync-seconds', '3600'] });
    await put(d, templateTask('tpl'));
    await put(d, secret('s', { value: SECRET }));
  });
  after(async () => d?.destroy());

  const lookups = async () => Number(/^orloj_receiver_store_lookups_total (\d+)/m.exec((await d.api('GET', '/metrics')).text)?.[1]);

  it('answers unknown endpoint IDs with 404 without reading the store', async () => {
    await eventually(async () => {
      const before = await lookups();
      const answers = await Promise.all(Array.from({ length: 50 }, () => send(d, unknownPath(), { secret: SECRET, body: '{}' })));
      expect(answers.every((a) => a.status === 404 && a.body.message === 'webhook endpoint not found')).to.equal(true);
      return (await lookups()) === before;
    });
  });

  it('delivers to a new webhook as soon as its status shows the endpoint, and to a rotated one at once', async () => {
    for (let i = 0; i < 20; i++) {
      await put(d, taskWebhook(`fresh-${i}`, { task_ref: 'tpl', auth: { secret_ref: 's' } }));
      // Polled without pause: the first read that shows Ready may come right after the commit.
      const ep = await eventually(async () => {
        const o = (await d.api('GET', `/v1/task-webhooks/fresh-${i}`)).body;
        return readyOf(o)?.status === 'True' ? (o.status.endpointPath as string) : undefined;
      }, 5000, 0);
      const res = await send(d, ep, { secret: SECRET, body: `{"i":${i}}` });
      expect(res.status, `fresh-${i}: ${res.text}`).to.equal(202);
    }
    const old = (await d.api('GET', '/v1/task-webhooks/fresh-0')).body.status.endpointPath as string;
    const rotated = (await d.api('POST', '/v1/task-webhooks/fresh-0/rotate-endpoint')).body.status.endpointPath as string;
    expect((await send(d, rotated, { secret: SECRET, body: '{"rotated":1}' })).status).to.equal(202);
    expect((await send(d, old, { secret: SECRET, body: '{"rotated":2}' })).status).to.equal(404);
    // A deleted webhook's endpoint is unknown as soon as the delete is answered.
    const deleted = (await d.api('GET', '/v1/task-webhooks/fresh-1')).body.status.endpointPath as string;
    expect((await d.api('DELETE', '/v1/task-webhooks/fresh-1')).status).to.equal(200);
    expect((await send(d, deleted, { secret: SECRET, body: '{"deleted":1}' })).status).to.equal(404);
  });

  it('answers 404 for an unknown endpoint and hangs up, without waiting for a body of any size', async () => {
    const text = await exchange(d, `POST ${unknownPath()} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 10000000000\r\n\r\n`);
    expect(text).to.match(/^HTTP\/1\.1 404 /);
    expect(text.toLowerCase()).to.include('connection: close');
  });

  it('answers 405 before the body and hangs up; a 405 without a body keeps the connection', async () => {
    await put(d, taskWebhook('method', { task_ref: 'tpl', auth: { secret_ref: 's' } }));
    const ep = await eventually(async () => (await d.api('GET', '/v1/task-webhooks/method')).body.status?.endpointPath as string | undefined);
    const text = await exchange(d, `PUT ${ep} HTTP/1.1\r\nHost: x\r\nContent-Length: 10000000000\r\n\r\n`);
    expect(text).to.match(/^HTTP\/1\.1 405 /);
    expect(text.toLowerCase()).to.include('connection: close');
    const res = await fetch(d.url + ep, { method: 'GET' });
    expect(res.status).to.equal(405);
    expect(res.headers.get('connection')).to.equal('keep-alive');
  });
});
