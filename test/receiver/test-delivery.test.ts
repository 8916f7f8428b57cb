// POST /v1/{plural}/{name}/test-delivery: the server signs the body with the receiver's own
// key and scheme and runs it through the receive path in-process; its records say it was a test.
import { expect } from 'chai';
import { send } from '../helpers/deliveries.js';
import { put, readyWebhook, secret, taskWebhook, templateTask } from '../helpers/fixtures.js';
import { eventually, Orlojd, type ApiResponse } from '../helpers/orlojd.js';
import { collection, documents, readyInbound } from './inbound/helpers.js';

const TOKENS = { admin: 'td-admin-token', writer: 'td-writer-token', reader: 'td-reader-token' };
const SECRET = 'td-very-secret-value-7f3a';

/** An InboundWebhook of each keyed scheme, on one collection. */
const INBOUND: Record<string, Record<string, unknown>> = {
  'td-hmac': { secret_ref: 'td-ingest', ingest_auth: { type: 'hmac' } },
  'td-static': { secret_ref: 'td-ingest', ingest_auth: { type: 'static_header', header: 'X-Account-Key' } },
  // Its key Secret is the one orlojd generates.
  'td-bearer': { ingest_auth: { type: 'bearer' } },
};

/** A TestDelivery, or (refused) a Status. */
interface Answer {
  kind: string;
  httpStatus: number;
  body: Record<string, unknown>;
  warnings?: string[];
  reason?: string;
  message?: string;
}

interface Rec {
  id: number;
  eventId?: string;
  outcome: string;
  httpStatus?: number;
  result?: string;
  reason?: string;
  test?: boolean;
}

describe('test deliveries (POST /v1/{plural}/{name}/test-delivery)', function () {
  this.timeout(60_000);
  let d: Orlojd;
  before(async () => {
    d = await Orlojd.start({ args: ['--api-tokens', Object.entries(TOKENS).map(([role, t]) => `${t}:${role}`).join(',')] });
    d.token = TOKENS.admin;
    await readyWebhook(d, 'tw', SECRET);
    await collection(d, 'td-docs');
    await put(d, secret('td-ingest', { key: SECRET }));
    for (const [name, spec] of Object.entries(INBOUND)) await readyInbound(d, name, { collection: 'td-docs', ...spec });
  });
  after(async () => d?.destroy());

  /** A test delivery as `role`; `query` without the leading `?`. */
  const testDelivery = (plural: string, name: string, body: string, query = '', role: keyof typeof TOKENS = 'writer'): Promise<ApiResponse<Answer>> =>
    d.api<Answer>('POST', `/v1/${plural}/${name}/test-delivery?${query}`, body, { authorization: `Bearer ${TOKENS[role]}`, 'content-type': 'application/json' });

  const records = async (owner: string): Promise<Rec[]> => (await d.api<{ items: Rec[] }>('GET', `/v1/deliveries?owner=${owner}`)).body.items;

  /** The records of `eventId` at `owner`, once there are `n` (refusals and duplicates are written in batches). */
  const recordsOf = (owner: string, eventId: string, n = 1): Promise<Rec[]> =>
    eventually(async () => {
      const rs = (await records(owner)).filter((r) => r.eventId === eventId);
      return rs.length === n ? rs : undefined;
    });

  it("a writer's test delivery to a TaskWebhook is signed with its own key, creates a run task, and its records say test", async () => {
    const res = await testDelivery('task-webhooks', 'tw', '{"n":1}', 'eventId=td-1&eventType=push');
    expect(res.status, res.text).to.equal(200);
    expect(res.body).to.deep.include({ kind: 'TestDelivery', httpStatus: 202 });
    expect(res.body.body).to.include({ accepted: true, duplicate: false, event_id: 'td-1' });
    expect(res.body).not.to.have.property('warnings');
    const taskName = res.body.body.task as string;
    const task = (await d.api('GET', `/v1/tasks/${taskName}`)).body;
    expect(task.spec.input).to.include({ webhook_event_id: 'td-1', webhook_event_type: 'push' });
    expect(task.spec.input.webhook_payload).to.equal('{"n":1}');
    const [rec] = await recordsOf('task-webhook/tw', 'td-1');
    expect(rec).to.include({ outcome: 'accepted', httpStatus: 202, result: taskName, test: true });
    expect((await d.api<Rec>('GET', `/v1/deliveries/${rec!.id}`)).body).to.include({ test: true });
    // The same event again is a duplicate, deduplicated as a sender's would be, and recorded as a test too.
    const again = await testDelivery('task-webhooks', 'tw', '{"n":1}', 'eventId=td-1');
    expect(again.body.body).to.include({ duplicate: true, task: taskName });
    const both = await recordsOf('task-webhook/tw', 'td-1', 2);
    expect(both.map((r) => [r.outcome, r.test])).to.deep.equal([['duplicate', true], ['accepted', true]]);
  });

  it("a sender's own delivery has no test flag", async () => {
    const path = (await d.api('GET', '/v1/task-webhooks/tw')).body.status.endpointPath as string;
    expect((await send(d, path, { secret: SECRET, body: '{"n":2}', eventId: 'real-1' })).status).to.equal(202);
    const [rec] = await recordsOf('task-webhook/tw', 'real-1');
    expect(rec).to.include({ outcome: 'accepted' });
    expect(rec).not.to.have.property('test');
    expect((await d.api<Rec>('GET', `/v1/deliveries/${rec!.id}`)).body).not.to.have.property('test');
  });

  it('to InboundWebhooks of every keyed scheme: a document is written, and the record says test', async () => {
    for (const name of Object.keys(INBOUND)) {
      const res = await testDelivery('inbound-webhooks', name, `{"id":"${name}-doc","title":"from ${name}"}`, `eventId=${name}-evt`);
      expect(res.body.httpStatus, `${name}: ${res.text}`).to.equal(202);
      expect(res.body.body).to.include({ accepted: true, itemId: `${name}-doc`, event_id: `${name}-evt` });
      const [rec] = await recordsOf(`inbound-webhook/${name}`, `${name}-evt`);
      expect(rec, name).to.include({ outcome: 'accepted', test: true });
    }
    const docs = await documents(d, 'td-docs');
    const written = docs.filter((x) => x.id.endsWith('-doc')).map((x) => [x.id, x.data?.title]);
    expect(written.sort()).to.deep.equal(Object.keys(INBOUND).map((n) => [`${n}-doc`, `from ${n}`]).sort());
  });

  it('an event id the profile reads from the body goes into the JSON body; where it cannot, a warning says so', async () => {
    await put(d, taskWebhook('td-stripe', { task_ref: 'tw-tpl', auth: { secret_ref: 'tw-secret', profile: 'stripe' }, payload: { mode: 'json' } }));
    await eventually(async () => (await d.api('GET', '/v1/task-webhooks/td-stripe')).body.status?.endpointPath);
    const placed = await testDelivery('task-webhooks', 'td-stripe', '{"type":"invoice.paid"}', 'eventId=evt_td');
    expect(placed.body.body).to.include({ accepted: true, event_id: 'evt_td' });
    const task = (await d.api('GET', `/v1/tasks/${placed.body.body.task as string}`)).body;
    expect(task.spec.input.webhook_payload).to.deep.equal({ type: 'invoice.paid', id: 'evt_td' });
    const notJson = await testDelivery('task-webhooks', 'td-stripe', '[1]', 'eventId=evt_lost');
    expect(notJson.body.warnings).to.deep.equal(['the event id asked for (eventId) is not sent: the stripe profile reads the event id from the body\'s "id" field, and the body is not a JSON object']);
  });

  it('runs the real verification: a receiver whose Secret is gone refuses it (401, wrapped), recorded as a refused test', async () => {
    await put(d, templateTask('gone-tpl'));
    await put(d, taskWebhook('td-keyless', { task_ref: 'gone-tpl', auth: { secret_ref: 'td-no-such-secret' } }));
    await eventually(async () => (await d.api('GET', '/v1/task-webhooks/td-keyless')).body.status?.endpointPath);
    const res = await testDelivery('task-webhooks', 'td-keyless', '{}', 'eventId=keyless-1');
    expect(res.status).to.equal(200);
    expect(res.body).to.deep.include({ httpStatus: 401, warnings: ['not signed: secret "td-no-such-secret" is missing or has no key (the receiver will refuse the delivery)'] });
    expect(res.body.body).to.include({ accepted: false, reason: 'Unauthorized', message: 'signature verification failed' });
    const [rec] = await recordsOf('task-webhook/td-keyless', 'keyless-1');
    expect(rec).to.include({ outcome: 'rejected', httpStatus: 401, test: true });
    expect(rec!.reason).to.include('secret "td-no-such-secret" not found');
  });

  it('refuses as API errors: a reader (403), unknown kinds and names (404), a suspended receiver (409), a body over its cap (413), bad parameters (400)', async () => {
    const reader = await testDelivery('task-webhooks', 'tw', '{}', '', 'reader');
    expect(reader.status).to.equal(403);
    expect(reader.body).to.include({ kind: 'Status', reason: 'Forbidden' });
    const unknown = await testDelivery('task-webhooks', 'no-such-hook', '{}');
    expect(unknown.status).to.equal(404);
    expect(unknown.body.message).to.equal('TaskWebhook "default/no-such-hook" not found');
    const task = await testDelivery('tasks', 'tw-tpl', '{}');
    expect(task.status).to.equal(404);
    expect(task.body.message).to.equal('tasks do not receive deliveries');
    await put(d, taskWebhook('td-paused', { task_ref: 'tw-tpl', suspend: true, auth: { secret_ref: 'tw-secret' } }));
    await eventually(async () => (await d.api('GET', '/v1/task-webhooks/td-paused')).body.status?.endpointPath);
    const paused = await testDelivery('task-webhooks', 'td-paused', '{}');
    expect(paused.status).to.equal(409);
    expect(paused.body).to.include({ reason: 'Conflict', message: 'webhook is suspended' });
    await put(d, taskWebhook('td-small', { task_ref: 'tw-tpl', max_body_bytes: 16, auth: { secret_ref: 'tw-secret' } }));
    await eventually(async () => (await d.api('GET', '/v1/task-webhooks/td-small')).body.status?.endpointPath);
    expect((await testDelivery('task-webhooks', 'td-small', '{"n":1}')).body.httpStatus).to.equal(202);
    expect((await testDelivery('task-webhooks', 'td-small', `{"pad":"${'x'.repeat(32)}"}`)).status).to.equal(413);
    const empty = await testDelivery('task-webhooks', 'tw', '{}', 'eventId=');
    expect(empty.status).to.equal(400);
    expect(empty.body.message).to.equal('eventId may not be empty');
    const key = await testDelivery('task-webhooks', 'tw', '{}', 'key=nope');
    expect(key.status).to.equal(400);
    expect(key.body.message).to.equal('secret "tw-secret" has no key "nope"');
  });

  it('never shows the secret: not in answers, records or logs', async () => {
    const texts = [(await testDelivery('inbound-webhooks', 'td-static', '{"id":"leak-check"}')).text, (await d.api('GET', '/v1/deliveries?allNamespaces=true&limit=1000')).text, d.logs];
    for (const t of texts) {
      expect(t).not.to.include(SECRET);
      expect(t).not.to.include(Buffer.from(SECRET).toString('base64'));
    }
  });

  it('is in the served OpenAPI document', async () => {
    const doc = (await d.api('GET', '/openapi/v3')).body;
    expect(doc.paths['/v1/{plural}/{name}/test-delivery'].post.operationId).to.equal('testDelivery');
  });
});
