// Metrics per receiver and per trigger, read from /metrics of a real orlojd: deliveries by
// outcome and their latency, trigger attempts, retries and queue depth, hydration queue
// depth; label values only from configured objects, a cap on how many get series of their
// own, and the series of a deleted object gone with it.
import { expect } from 'chai';
import { eventually, Orlojd } from '../helpers/orlojd.js';
import { put, readyWebhook, resource, secret } from '../helpers/fixtures.js';
import { post, send } from '../helpers/deliveries.js';
import { refusedStart } from '../helpers/refusal.js';
import { readyInbound } from '../receiver/inbound/helpers.js';
import { ALLOW_LOOPBACK, Destination, readyTrigger, writeDoc } from '../trigger/helpers.js';
import { hydrationStack, queued, Upstream } from '../hydration/helpers.js';

type Labels = Record<string, string>;

/** Every sample of a metric in the text format: its labels and value. */
function samples(text: string, name: string): Array<{ labels: Labels; value: number }> {
  const out: Array<{ labels: Labels; value: number }> = [];
  for (const line of text.split('\n')) {
    const m = /^([a-z_]+)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const labels = Object.fromEntries([...(m[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((l) => [l[1]!, l[2]!]));
    out.push({ labels, value: Number(m[3]) });
  }
  return out;
}

const sameLabels = (a: Labels, b: Labels): boolean => Object.keys(a).length === Object.keys(b).length && Object.entries(b).every(([k, v]) => a[k] === v);

/** The value of the sample with exactly these labels, undefined when there is none. */
const sample = (text: string, name: string, labels: Labels): number | undefined => samples(text, name).find((s) => sameLabels(s.labels, labels))?.value;

/** The label sets a metric has series for. */
const labelSets = (text: string, name: string): Labels[] => samples(text, name).map((s) => s.labels);

const metrics = async (d: Orlojd): Promise<string> => (await d.api('GET', '/metrics')).text;

const receiver = (kind: string, name: string, namespace = 'default') => ({ kind, namespace, name });

describe('orlojd metrics per receiver and per trigger', function () {
  this.timeout(60_000);
  let d: Orlojd;
  afterEach(async () => d?.destroy());

  it('counts deliveries per receiver by outcome with a latency histogram each, an unknown endpoint as kind="unknown", and keeps the totals by kind', async () => {
    d = await Orlojd.start();
    const alpha = await readyWebhook(d, 'alpha', 'alpha-secret');
    for (let i = 0; i < 3; i++) expect((await send(d, alpha, { secret: 'alpha-secret', body: `{"i":${i}}`, eventId: `a-${i}` })).status).to.equal(202);
    expect((await send(d, alpha, { secret: 'alpha-secret', body: '{"i":0}', eventId: 'a-0' })).body.duplicate).to.equal(true);
    expect((await send(d, alpha, { secret: 'wrong', body: '{}', eventId: 'a-bad' })).status).to.equal(401);
    await put(d, resource('Collection', 'events', {}));
    await put(d, secret('beta-key', { key: 'beta-key-value' }));
    const beta = await readyInbound(d, 'beta', { collection: 'events', secret_ref: 'beta-key', ingest_auth: { type: 'static_header', header: 'X-Key' } });
    for (let i = 0; i < 2; i++) expect((await post(d, beta.endpointPath, { 'content-type': 'application/json', 'x-key': 'beta-key-value', 'x-event-id': `b-${i}` }, '{}')).status).to.equal(202);
    expect((await post(d, beta.endpointPath, { 'content-type': 'application/json', 'x-key': 'nope', 'x-event-id': 'b-bad' }, '{}')).status).to.equal(401);
    for (const id of ['made-up-endpoint-1', 'made-up-endpoint-2']) expect((await post(d, `/v1/webhook-deliveries/${id}`, {}, '{}')).status).to.equal(404);

    const text = await metrics(d);
    const count = (r: Labels, outcome: string) => sample(text, 'orloj_receiver_deliveries_total', { ...r, outcome });
    const a = receiver('TaskWebhook', 'alpha');
    const b = receiver('InboundWebhook', 'beta');
    const unknown = { kind: 'unknown', namespace: '', name: '' };
    expect([count(a, 'accepted'), count(a, 'duplicate'), count(a, 'rejected')]).to.deep.equal([3, 1, 1]);
    expect([count(b, 'accepted'), count(b, 'duplicate'), count(b, 'rejected')]).to.deep.equal([2, undefined, 1]);
    expect(count(unknown, 'rejected')).to.equal(2);
    const observed = (r: Labels) => sample(text, 'orloj_receiver_delivery_duration_seconds_count', r);
    expect([observed(a), observed(b), observed(unknown)]).to.deep.equal([5, 3, 2]);
    expect(sample(text, 'orloj_receiver_delivery_duration_seconds_bucket', { ...a, le: '+Inf' })).to.equal(5);
    expect(sample(text, 'orloj_receiver_delivery_duration_seconds_sum', a)).to.be.greaterThan(0);
    // The totals by kind, as before (bench/triggers.ts sums the accepted ones).
    const total = (kind: string, outcome: string) => sample(text, 'orloj_webhook_deliveries_total', { kind, outcome });
    expect([total('TaskWebhook', 'accepted'), total('TaskWebhook', 'duplicate'), total('TaskWebhook', 'rejected')]).to.deep.equal([3, 1, 1]);
    expect([total('InboundWebhook', 'accepted'), total('InboundWebhook', 'rejected'), total('unknown', 'rejected')]).to.deep.equal([2, 1, 2]);
    expect(sample(text, 'orloj_webhook_delivery_duration_seconds_count', {})).to.equal(10);
    expect(text, 'no label value comes from a request').not.to.include('made-up-endpoint');
  });

  it('removes the series of a deleted receiver; the totals by kind keep what it counted', async () => {
    d = await Orlojd.start();
    const gone = await readyWebhook(d, 'short-lived', 'gone-secret');
    const stays = await readyWebhook(d, 'stays', 'stays-secret');
    expect((await send(d, gone, { secret: 'gone-secret', body: '{}', eventId: 'g-1' })).status).to.equal(202);
    expect((await send(d, stays, { secret: 'stays-secret', body: '{}', eventId: 's-1' })).status).to.equal(202);
    const withSeries = (text: string) => labelSets(text, 'orloj_receiver_deliveries_total').map((l) => l.name);
    expect(withSeries(await metrics(d))).to.include.members(['short-lived', 'stays']);
    expect((await d.api('DELETE', '/v1/task-webhooks/short-lived')).status).to.equal(200);
    const text = await eventually(async () => {
      const t = await metrics(d);
      return !t.includes('name="short-lived"') && t;
    });
    expect(withSeries(text)).to.include('stays');
    expect(sample(text, 'orloj_webhook_deliveries_total', { kind: 'TaskWebhook', outcome: 'accepted' })).to.equal(2);
    expect(sample(text, 'orloj_webhook_delivery_duration_seconds_count', {})).to.equal(2);
  });

  it('counts trigger attempts by outcome, retries and each trigger\'s queue depth; a deleted trigger\'s series go', async () => {
    d = await Orlojd.start({ args: ALLOW_LOOPBACK });
    let flakyRequests = 0;
    const dest = await Destination.start((_n, r) => (r.url === '/flaky' ? (++flakyRequests <= 2 ? 500 : 200) : 503));
    try {
      await put(d, resource('Collection', 'incidents', {}));
      await put(d, resource('Collection', 'quiet', {}));
      await readyTrigger(d, 'flaky', { collection: 'incidents', url: `${dest.url}/flaky`, retry: { max_attempts: 5, backoff_seconds: [0] } });
      // Answered 503 and retried only in an hour: its messages stay queued.
      await readyTrigger(d, 'slow', { collection: 'incidents', url: `${dest.url}/slow`, retry: { max_attempts: 5, backoff_seconds: [3600] } });
      await readyTrigger(d, 'idle', { collection: 'quiet', url: `${dest.url}/idle` });
      for (let i = 0; i < 3; i++) await writeDoc(d, 'incidents', { id: `inc-${i}` });

      const attempts = (text: string, trigger: string, outcome: string) => sample(text, 'orloj_trigger_attempts_total', { trigger: `default/${trigger}`, outcome });
      const text = await eventually(async () => {
        const t = await metrics(d);
        return attempts(t, 'flaky', 'delivered') === 3 && attempts(t, 'slow', 'retry_scheduled') === 3 && t;
      }, 20_000);
      expect(attempts(text, 'flaky', 'retry_scheduled')).to.equal(2);
      const retries = (trigger: string) => sample(text, 'orloj_trigger_retries_total', { trigger: `default/${trigger}` });
      expect([retries('flaky'), retries('slow'), retries('idle')]).to.deep.equal([2, 0, 0]);
      const depth = (trigger: string) => sample(text, 'orloj_trigger_queue_depth', { trigger: `default/${trigger}` });
      expect([depth('flaky'), depth('slow'), depth('idle')]).to.deep.equal([0, 3, 0]);
      expect(sample(text, 'orloj_trigger_attempt_duration_seconds_count', { trigger: 'default/flaky' })).to.equal(5);

      expect((await d.api('DELETE', '/v1/triggers/slow')).status).to.equal(200);
      const after = await eventually(async () => {
        const t = await metrics(d);
        return !t.includes('trigger="default/slow"') && t;
      });
      expect(attempts(after, 'flaky', 'delivered')).to.equal(3);
      expect(labelSets(after, 'orloj_trigger_queue_depth').map((l) => l.trigger).sort()).to.deep.equal(['default/flaky', 'default/idle']);
    } finally {
      await dest.close();
    }
  });

  it('shows the hydration jobs waiting or running per inbound webhook', async () => {
    const up = await Upstream.start('/orders/');
    try {
      d = await Orlojd.start({ args: ALLOW_LOOPBACK });
      const ep = (await hydrationStack(d, up)).endpointPath;
      up.hold();
      for (const id of ['o-1', 'o-2']) await queued(d, ep, { record_id: id });
      const depth = async () => sample(await metrics(d), 'orloj_hydration_queue_depth', { webhook: 'default/orders-reference' });
      expect(await depth()).to.equal(2);
      up.release();
      await eventually(async () => (await depth()) === 0, 10_000);
    } finally {
      await up.close();
    }
  });

  it('gives series of their own to --metrics-max-objects receivers and triggers; the rest count under _other_', async () => {
    d = await Orlojd.start({ args: ['--metrics-max-objects', '2', ...ALLOW_LOOPBACK] });
    const paths: string[] = [];
    for (const name of ['r1', 'r2', 'r3']) paths.push(await readyWebhook(d, name, `${name}-secret`));
    for (const [i, name] of ['r1', 'r2', 'r3', 'r3'].entries()) {
      expect((await send(d, paths[Number(name[1]) - 1]!, { secret: `${name}-secret`, body: `{"i":${i}}`, eventId: `e-${i}` })).status).to.equal(202);
    }
    let text = await metrics(d);
    const accepted = (r: Labels) => sample(text, 'orloj_receiver_deliveries_total', { ...r, outcome: 'accepted' });
    const other = { kind: 'TaskWebhook', namespace: '', name: '_other_' };
    expect([accepted(receiver('TaskWebhook', 'r1')), accepted(receiver('TaskWebhook', 'r2')), accepted(other)]).to.deep.equal([1, 1, 2]);
    expect(text).not.to.include('name="r3"');

    // A deleted receiver's place goes to the next one that counts.
    expect((await d.api('DELETE', '/v1/task-webhooks/r1')).status).to.equal(200);
    await eventually(async () => !(await metrics(d)).includes('name="r1"'));
    const r4 = await readyWebhook(d, 'r4', 'r4-secret');
    expect((await send(d, r4, { secret: 'r4-secret', body: '{}', eventId: 'e-4' })).status).to.equal(202);
    text = await metrics(d);
    expect(accepted(receiver('TaskWebhook', 'r4'))).to.equal(1);

    await put(d, resource('Collection', 'quiet', {}));
    for (const name of ['t1', 't2', 't3']) await readyTrigger(d, name, { collection: 'quiet', url: 'http://127.0.0.1:9/never' });
    text = await metrics(d);
    expect(labelSets(text, 'orloj_trigger_queue_depth').map((l) => l.trigger).sort()).to.deep.equal(['_other_', 'default/t1', 'default/t2']);
  });

  it('refuses a --metrics-max-objects that is not a positive integer', () => {
    for (const bad of ['0', 'many']) {
      expect(refusedStart(`/tmp/orloj-metrics-refused-${process.pid}`, { args: ['--metrics-max-objects', bad] }, true)).to.include(`--metrics-max-objects must be a positive integer, got "${bad}"`);
    }
    expect(refusedStart(`/tmp/orloj-metrics-refused-${process.pid}`, { env: { ORLOJ_METRICS_MAX_OBJECTS: '1.5' } }, true)).to.include('--metrics-max-objects must be a positive integer, got "1.5"');
  });
});
