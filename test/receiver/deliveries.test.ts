import { expect } from 'chai';
import { eventually, Orlojd } from '../helpers/orlojd.js';
import { put, readyOf, secret, taskWebhook, templateTask } from '../helpers/fixtures.js';
import { send } from '../helpers/deliveries.js';

const SECRET = 'replace-me';
const BODY = '{"event":"report.trigger","topic":"AI startups"}';

describe('TaskWebhook deliveries', function () {
  let d: Orlojd;
  before(async () => {
    d = await Orlojd.start();
    await put(d, secret('shared', { value: SECRET }));
    await put(d, templateTask('tpl'));
  });
  after(async () => d.destroy());

  /** Applies a webhook and waits until it is Ready; returns its endpoint path. */
  async function webhook(name: string, spec: Record<string, unknown> = {}, wantReady = true): Promise<string> {
    await put(d, taskWebhook(name, { task_ref: 'tpl', auth: { secret_ref: 'shared' }, ...spec }));
    const w = await eventually(async () => {
      const o = (await d.api('GET', `/v1/task-webhooks/${name}`)).body;
      return o.status?.endpointPath && (!wantReady || readyOf(o)?.status === 'True') ? o : undefined;
    });
    return w.status.endpointPath as string;
  }
  const status = async (name: string) => (await d.api('GET', `/v1/task-webhooks/${name}`)).body.status;
  const tasksOf = async (name: string) =>
    (await d.api('GET', `/v1/tasks?labelSelector=${encodeURIComponent(`orloj.dev/task-webhook=${name}`)}`)).body.items as Array<{
      metadata: { name: string; labels: Record<string, string> };
      spec: { mode: string; system: string; input: Record<string, unknown> };
    }>;

  it('creates one run task from the template with the webhook inputs and labels', async () => {
    const ep = await webhook('gen');
    const sentAt = new Date().toISOString();
    const res = await send(d, ep, { secret: SECRET, body: BODY, eventId: 'evt-001', headers: { 'X-Event-Type': 'report.trigger' } });
    const answeredAt = new Date().toISOString();
    expect(res.status).to.equal(202);
    expect(res.body).to.include({ accepted: true, duplicate: false, event_id: 'evt-001' });
    const [task] = await tasksOf('gen');
    expect(task!.metadata.name).to.equal(res.body.task);
    expect(task!.spec.mode).to.equal('run');
    expect(task!.spec.system).to.equal('report-system');
    expect(task!.spec.input).to.include({ topic: 'AI startups', webhook_payload: BODY, webhook_event_id: 'evt-001', webhook_source: 'generic', webhook_event_type: 'report.trigger' });
    // Stamped by the server while it had the request: between sending and the answer (one clock, ISO strings sort).
    const receivedAt = task!.spec.input.webhook_received_at as string;
    expect(receivedAt >= sentAt && receivedAt <= answeredAt, `${sentAt} <= ${receivedAt} <= ${answeredAt}`).to.equal(true);
    expect(task!.metadata.labels).to.include({
      app: 'report',
      'orloj.dev/task-webhook': 'gen',
      'orloj.dev/task-webhook-namespace': 'default',
      'orloj.dev/webhook-event-id': 'evt-001',
    });
  });

  it('answers a replay with duplicate: true and the same task, and counts both', async () => {
    const ep = await webhook('dup');
    const first = await send(d, ep, { secret: SECRET, body: BODY, eventId: 'e-1' });
    const again = await send(d, ep, { secret: SECRET, body: BODY, eventId: 'e-1' });
    expect(again.status).to.equal(202);
    expect(again.body).to.include({ accepted: true, duplicate: true, task: first.body.task });
    expect(await tasksOf('dup')).to.have.length(1);
    const s = await eventually(async () => {
      const st = await status('dup');
      return st.acceptedCount === 1 && st.duplicateCount === 1 ? st : undefined;
    }, 2000);
    expect(s).to.include({ lastEventID: 'e-1', lastTriggeredTask: first.body.task });
  });

  it('parses the payload with payload.mode json under a custom input key', async () => {
    const ep = await webhook('json', { payload: { mode: 'json', input_key: 'event' } });
    const res = await send(d, ep, { secret: SECRET, body: BODY, eventId: 'j-1' });
    expect(res.status).to.equal(202);
    const [task] = await tasksOf('json');
    expect(task!.spec.input.event).to.deep.equal(JSON.parse(BODY));
    const bad = await send(d, ep, { secret: SECRET, body: 'not json', eventId: 'j-2' });
    expect(bad.status).to.equal(400);
  });

  it('50 concurrent copies of one delivery give exactly one task', async () => {
    const ep = await webhook('race');
    const results = await Promise.all(Array.from({ length: 50 }, () => send(d, ep, { secret: SECRET, body: BODY, eventId: 'same-event' })));
    expect(results.every((r) => r.status === 202)).to.equal(true);
    expect(results.filter((r) => r.body.duplicate === false)).to.have.length(1);
    expect(results.filter((r) => r.body.duplicate === true)).to.have.length(49);
    expect(new Set(results.map((r) => r.body.task)).size).to.equal(1);
    expect(await tasksOf('race')).to.have.length(1);
    await eventually(async () => {
      const st = await status('race');
      return st.acceptedCount === 1 && st.duplicateCount === 49;
    }, 2000);
  });

  it('verifies github deliveries over the raw body and dedups on X-GitHub-Delivery', async () => {
    const ep = await webhook('gh', { auth: { profile: 'github', secret_ref: 'shared' } });
    const body = '{"ref":"refs/heads/main","repository":{"full_name":"acme/repo"}}';
    const res = await send(d, ep, { profile: 'github', secret: SECRET, body, eventId: 'gh-evt-001', headers: { 'X-GitHub-Event': 'push' } });
    expect(res.status).to.equal(202);
    const [task] = await tasksOf('gh');
    expect(task!.spec.input).to.include({ webhook_source: 'github', webhook_event_id: 'gh-evt-001', webhook_event_type: 'push' });
    expect((await send(d, ep, { profile: 'github', secret: SECRET, body, eventId: 'gh-evt-001' })).body.duplicate).to.equal(true);
  });

  it('accepts signatures made with either key of a two-key secret; a removed key then fails', async () => {
    await put(d, secret('rotating', { old: 'old-key', new: 'new-key' }));
    const ep = await webhook('rot', { auth: { secret_ref: 'rotating' } });
    expect((await send(d, ep, { secret: 'old-key', body: BODY })).status).to.equal(202);
    expect((await send(d, ep, { secret: 'new-key', body: BODY })).status).to.equal(202);
    await put(d, secret('rotating', { new: 'new-key' }));
    await eventually(async () => (await send(d, ep, { secret: 'old-key', body: BODY })).status === 401);
    expect((await send(d, ep, { secret: 'new-key', body: BODY })).status).to.equal(202);
  });

  it('rotates the endpoint on request: the old one answers 404', async () => {
    const ep = await webhook('rotate-me');
    const res = await d.api('POST', '/v1/task-webhooks/rotate-me/rotate-endpoint?namespace=default');
    expect(res.status).to.equal(200);
    expect(res.body.status.endpointPath).not.to.equal(ep);
    expect((await send(d, ep, { secret: SECRET, body: BODY })).status).to.equal(404);
    expect((await send(d, res.body.status.endpointPath, { secret: SECRET, body: BODY })).status).to.equal(202);
  });

  it('lists delivery records, filtered by owner and outcome', async () => {
    const ep = await webhook('listed');
    const first = await send(d, ep, { secret: SECRET, body: BODY, eventId: 'l-1' });
    expect(first.status).to.equal(202);
    expect((await send(d, ep, { secret: SECRET, body: BODY, eventId: 'l-1' })).body.duplicate).to.equal(true);
    expect((await send(d, ep, { secret: 'not-the-secret', body: BODY, eventId: 'l-2' })).status).to.equal(401);
    // A replay's and a rejection's records are buffered and written with the next status flush.
    const res = await eventually(async () => {
      const r = await d.api('GET', '/v1/deliveries?owner=task-webhook/listed');
      return r.body.items?.length === 3 ? r : undefined;
    });
    expect(res.status).to.equal(200);
    type Rec = { owner: string; eventId: string; outcome: string; httpStatus: number; task?: string };
    const items = res.body.items as Rec[];
    // Newest first; a refused delivery is named by the event id header it was sent with (no one vouched for it).
    expect(items.map((r) => [r.outcome, r.eventId ?? null, r.httpStatus])).to.deep.equal([
      ['rejected', 'l-2', 401],
      ['duplicate', 'l-1', 202],
      ['accepted', 'l-1', 202],
    ]);
    expect(items.every((r) => r.owner === 'TaskWebhook/default/listed')).to.equal(true);
    expect(items[1]!.task).to.equal(first.body.task);
    expect(items[2]!.task).to.equal(first.body.task);
    const dups = (await d.api('GET', '/v1/deliveries?owner=task-webhook/listed&outcome=duplicate')).body.items as Rec[];
    expect(dups.map((r) => r.eventId)).to.deep.equal(['l-1']);
    const refused = (await d.api('GET', '/v1/deliveries?owner=TaskWebhook/default/listed&outcome=rejected')).body.items as Rec[];
    expect(refused.map((r) => r.httpStatus)).to.deep.equal([401]);
    const newest = (await d.api('GET', '/v1/deliveries?owner=task-webhook/listed&limit=1')).body.items as Rec[];
    expect(newest.map((r) => r.outcome)).to.deep.equal(['rejected']);
    // Across owners, the outcome filter and the limit still hold.
    const anyDups = (await d.api('GET', '/v1/deliveries?outcome=duplicate&limit=5')).body.items as Rec[];
    expect(anyDups.length).to.be.within(1, 5);
    expect(anyDups.every((r) => r.outcome === 'duplicate')).to.equal(true);
  });
});

describe('delivery record retention', function () {
  let d: Orlojd;
  before(async () => {
    d = await Orlojd.start({ args: ['--delivery-retention', '10'] });
    await put(d, secret('s', { value: SECRET }));
    await put(d, templateTask('tpl'));
    await put(d, taskWebhook('kept', { task_ref: 'tpl', auth: { secret_ref: 's' } }));
  });
  after(async () => d.destroy());

  it('keeps only the newest records, pruning in the background', async function () {
    this.timeout(20_000);
    const ep = await eventually(async () => (await d.api('GET', '/v1/task-webhooks/kept')).body.status?.endpointPath as string | undefined);
    for (let i = 0; i < 25; i++) expect((await send(d, ep, { secret: SECRET, body: `{"n":${i}}`, eventId: `r-${i}` })).status).to.equal(202);
    const items = await eventually(async () => {
      const r = (await d.api('GET', '/v1/deliveries?limit=100')).body.items as Array<{ eventId: string }>;
      return r.length === 10 ? r : undefined;
    }, 12_000, 200);
    expect(items[0]!.eventId).to.equal('r-24');
    expect(items[9]!.eventId).to.equal('r-15');
    // Records go; tasks and counts stay.
    expect((await d.api('GET', '/v1/task-webhooks/kept')).body.status.acceptedCount).to.equal(25);
  });
});
