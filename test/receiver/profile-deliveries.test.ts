// Every signature profile through a real orlojd: signed by the provider's own library where
// one exists (stripe, standardwebhooks, @octokit/webhooks-methods), by the provider's documented
// scheme otherwise — never by pkg/'s signers.
import { sign as octokitSign } from '@octokit/webhooks-methods';
import { expect } from 'chai';
import { createHmac } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import Stripe from 'stripe';
import { eventually, Orlojd } from '../helpers/orlojd.js';
import { put, readyOf, secret, taskWebhook, templateTask } from '../helpers/fixtures.js';
import { post } from '../helpers/deliveries.js';

interface Signed {
  headers: Record<string, string>;
  body: string;
}

interface Provider {
  profile: string;
  secret: string;
  wrong: string;
  eventType: string;
  /** A delivery of event `id` as the provider sends it at `atMs`; a retry is another call. */
  sign(secret: string, id: string, atMs?: number): Promise<Signed>;
  /** What a wrong secret leaves in lastError. */
  mismatch: string;
}

const json = { 'content-type': 'application/json' };
const unix = (ms: number) => Math.floor(ms / 1000);
const whsec = (raw: string) => `whsec_${Buffer.from(raw).toString('base64')}`;
/** Slack's documented scheme: v0=HMAC-SHA256(secret, "v0:" + ts + ":" + body). */
const slackSignature = (secretValue: string, ts: number, body: string) =>
  `v0=${createHmac('sha256', secretValue).update(`v0:${ts}:${body}`).digest('hex')}`;

const providers: Provider[] = [
  {
    profile: 'stripe',
    secret: 'whsec_stripe_http_secret',
    wrong: 'whsec_not_it',
    eventType: 'invoice.paid',
    mismatch: 'signature mismatch',
    async sign(s, id, atMs = Date.now()) {
      const body = JSON.stringify({ id, object: 'event', type: 'invoice.paid', data: { object: { amount: 42 } } });
      const header = Stripe.webhooks.generateTestHeaderString({ payload: body, secret: s, timestamp: unix(atMs) });
      return { headers: { ...json, 'Stripe-Signature': header }, body };
    },
  },
  {
    profile: 'slack',
    secret: '8f742231b10e8888abcd99yyyzzz85a5',
    wrong: '8f742231b10e8888abcd99yyyzzz85a6',
    eventType: 'app_mention',
    mismatch: 'signature mismatch',
    async sign(s, id, atMs = Date.now()) {
      const body = JSON.stringify({ type: 'event_callback', event_id: id, event: { type: 'app_mention', text: 'hi' } });
      const ts = unix(atMs);
      return { headers: { ...json, 'X-Slack-Request-Timestamp': String(ts), 'X-Slack-Signature': slackSignature(s, ts, body) }, body };
    },
  },
  {
    profile: 'standard-webhooks',
    secret: whsec('standard webhooks http key'),
    wrong: whsec('some other key'),
    eventType: 'invoice.paid',
    mismatch: 'signature mismatch',
    async sign(s, id, atMs = Date.now()) {
      const body = JSON.stringify({ type: 'invoice.paid', data: { amount: 42 } });
      const signature = new Webhook(s).sign(id, new Date(atMs), body);
      return { headers: { ...json, 'webhook-id': id, 'webhook-timestamp': String(unix(atMs)), 'webhook-signature': signature }, body };
    },
  },
  {
    profile: 'gitlab',
    secret: 'gitlab-http-token',
    wrong: 'gitlab-http-token2',
    eventType: 'Push Hook',
    mismatch: 'token mismatch',
    async sign(s, id) {
      return {
        headers: { ...json, 'X-Gitlab-Token': s, 'X-Gitlab-Event': 'Push Hook', 'X-Gitlab-Event-UUID': id },
        body: JSON.stringify({ object_kind: 'push', ref: 'refs/heads/main' }),
      };
    },
  },
  {
    profile: 'static-header',
    secret: 'static-http-token',
    wrong: 'static-http-tokem',
    eventType: 'thing.happened',
    mismatch: 'token mismatch',
    async sign(s, id) {
      return { headers: { ...json, 'X-Webhook-Token': s, 'X-Event-Id': id, 'X-Event-Type': 'thing.happened' }, body: '{"thing":"happened"}' };
    },
  },
  {
    profile: 'github',
    secret: "It's a Secret to Everybody",
    wrong: "It's a Secret to Nobody",
    eventType: 'push',
    mismatch: 'signature mismatch',
    async sign(s, id) {
      // Each event's payload is its own (a push names its commits): the same bytes again are a replay.
      const body = JSON.stringify({ ref: 'refs/heads/main', after: id, repository: { full_name: 'acme/repo' } });
      return { headers: { ...json, 'X-Hub-Signature-256': await octokitSign(s, body), 'X-GitHub-Delivery': id, 'X-GitHub-Event': 'push' }, body };
    },
  },
];

type RunTask = { metadata: { name: string; labels: Record<string, string> }; spec: { mode: string; input: Record<string, unknown> } };

describe('every signature profile over HTTP', function () {
  this.timeout(60_000);
  let d: Orlojd;
  const endpoints = new Map<string, string>();

  async function webhook(name: string, spec: Record<string, unknown>): Promise<string> {
    await put(d, taskWebhook(name, { task_ref: 'tpl', ...spec }));
    return eventually(async () => {
      const o = (await d.api('GET', `/v1/task-webhooks/${name}`)).body;
      return readyOf(o)?.status === 'True' && o.status.observedGeneration === o.metadata.generation ? (o.status.endpointPath as string) : undefined;
    });
  }
  const tasksOf = async (name: string, eventId?: string): Promise<RunTask[]> => {
    const sel = `orloj.dev/task-webhook=${name}${eventId ? `,orloj.dev/webhook-event-id=${eventId}` : ''}`;
    return (await d.api('GET', `/v1/tasks?labelSelector=${encodeURIComponent(sel)}`)).body.items as RunTask[];
  };
  const status = async (name: string) => (await d.api('GET', `/v1/task-webhooks/${name}`)).body.status;
  /** Waits until the webhook shows `n` rejections and returns its status. */
  const rejected = (name: string, n: number) =>
    eventually(async () => {
      const st = await status(name);
      return st.rejectedCount === n ? st : undefined;
    });
  const deliver = async (ep: string, s: Signed) => post(d, ep, s.headers, s.body);

  before(async () => {
    d = await Orlojd.start();
    await put(d, templateTask('tpl'));
    for (const p of providers) {
      await put(d, secret(`${p.profile}-secret`, { value: p.secret }));
      endpoints.set(p.profile, await webhook(`via-${p.profile}`, { auth: { profile: p.profile, secret_ref: `${p.profile}-secret` } }));
    }
  });
  after(async () => d?.destroy());

  for (const p of providers) {
    describe(p.profile, () => {
      const name = `via-${p.profile}`;
      const ep = () => endpoints.get(p.profile)!;

      it('202 and one run task, with the event id, type and payload the provider sent', async () => {
        const id = `evt_${p.profile.replace('-', '_')}_1`;
        const s = await p.sign(p.secret, id);
        const res = await deliver(ep(), s);
        expect(res.status, res.text).to.equal(202);
        expect(res.body).to.include({ accepted: true, duplicate: false, event_id: id });
        const tasks = await tasksOf(name, id);
        expect(tasks).to.have.length(1);
        expect(tasks[0]!.metadata.name).to.equal(res.body.task);
        expect(tasks[0]!.spec.mode).to.equal('run');
        expect(tasks[0]!.spec.input).to.include({
          webhook_source: p.profile,
          webhook_event_id: id,
          webhook_event_type: p.eventType,
          webhook_payload: s.body,
        });
      });

      it('401 for a delivery signed with the wrong secret, and no task', async () => {
        const before = (await status(name)).rejectedCount as number;
        const id = `evt_${p.profile.replace('-', '_')}_wrong`;
        const res = await deliver(ep(), await p.sign(p.wrong, id));
        expect(res.status, res.text).to.equal(401);
        expect(res.body).to.include({ accepted: false, message: 'signature verification failed' });
        expect(res.text).not.to.include(p.secret);
        const st = await rejected(name, before + 1);
        expect(st.lastError).to.equal(`signature verification failed: ${p.mismatch}`);
        expect(await tasksOf(name, id)).to.have.length(0);
      });

      it('answers a retry of the same event with duplicate: true and the same task', async () => {
        const id = `evt_${p.profile.replace('-', '_')}_retry`;
        const first = await deliver(ep(), await p.sign(p.secret, id));
        expect(first.status, first.text).to.equal(202);
        expect(first.body.duplicate).to.equal(false);
        // The provider signs its retry afresh (a later timestamp where the scheme has one).
        const retry = await deliver(ep(), await p.sign(p.secret, id, Date.now() + 2000));
        expect(retry.status, retry.text).to.equal(202);
        expect(retry.body).to.include({ accepted: true, duplicate: true, event_id: id, task: first.body.task });
        expect(await tasksOf(name, id)).to.have.length(1);
      });
    });
  }
});

describe('spec overrides of headers, prefix, skew and event id, over HTTP', function () {
  this.timeout(60_000);
  let d: Orlojd;
  const SECRET = 'override-secret';

  async function webhook(name: string, auth: Record<string, unknown>, idempotency?: Record<string, unknown>): Promise<string> {
    await put(d, taskWebhook(name, { task_ref: 'tpl', auth: { secret_ref: 's', ...auth }, ...(idempotency ? { idempotency } : {}) }));
    return eventually(async () => {
      const o = (await d.api('GET', `/v1/task-webhooks/${name}`)).body;
      return readyOf(o)?.status === 'True' && o.status.observedGeneration === o.metadata.generation ? (o.status.endpointPath as string) : undefined;
    });
  }
  const status = async (name: string) => (await d.api('GET', `/v1/task-webhooks/${name}`)).body.status;
  /** Posts, expects `code`, and for a rejection returns the lastError it left. */
  async function expectAnswer(name: string, ep: string, s: Signed, code: number): Promise<{ body: Record<string, unknown>; lastError?: string }> {
    const before = (await status(name)).rejectedCount as number;
    const res = await post(d, ep, s.headers, s.body);
    expect(res.status, res.text).to.equal(code);
    if (code < 300) return { body: res.body };
    const st = await eventually(async () => {
      const x = await status(name);
      return x.rejectedCount === before + 1 ? x : undefined;
    });
    return { body: res.body, lastError: st.lastError as string };
  }
  const tasksOf = async (name: string) =>
    (await d.api('GET', `/v1/tasks?labelSelector=${encodeURIComponent(`orloj.dev/task-webhook=${name}`)}`)).body.items as RunTask[];

  before(async () => {
    d = await Orlojd.start();
    await put(d, templateTask('tpl'));
    await put(d, secret('s', { value: SECRET }));
  });
  after(async () => d?.destroy());

  it('generic: signature_header, signature_prefix, timestamp_header, max_skew_seconds and event_id_header', async () => {
    const name = 'gen-over';
    const ep = await webhook(
      name,
      { signature_header: 'X-Sig', signature_prefix: 'v1=', timestamp_header: 'X-Ts', max_skew_seconds: 30 },
      { event_id_header: 'X-Delivery' },
    );
    // The generic scheme: HMAC-SHA256(secret, ts + "." + body), hex, after the prefix.
    const mac = (ts: number, b: string) => createHmac('sha256', SECRET).update(`${ts}.${b}`).digest('hex');
    const signed = (o: { atMs?: number; prefix?: string; sigHeader?: string; tsHeader?: string; ids?: Record<string, string> } = {}): Signed => {
      const ts = unix(o.atMs ?? Date.now());
      // Each delivery signed anew: the same signed bytes again would be a replay, whatever its ids.
      const body = JSON.stringify({ over: 'ridden', n: Math.random() });
      return {
        headers: { ...json, [o.sigHeader ?? 'X-Sig']: `${o.prefix ?? 'v1='}${mac(ts, body)}`, [o.tsHeader ?? 'X-Ts']: String(ts), ...(o.ids ?? { 'X-Delivery': `d-${Math.random()}` }) },
        body,
      };
    };

    const ok = await expectAnswer(name, ep, signed({ ids: { 'X-Delivery': 'del-1', 'X-Event-Id': 'ignored-1' } }), 202);
    expect(ok.body).to.include({ duplicate: false, event_id: 'del-1' });
    // The dedup key is X-Delivery: a new X-Event-Id with the same X-Delivery is a replay, the reverse is not.
    const replay = await expectAnswer(name, ep, signed({ ids: { 'X-Delivery': 'del-1', 'X-Event-Id': 'ignored-2' } }), 202);
    expect(replay.body).to.include({ duplicate: true, task: ok.body.task });
    const fresh = await expectAnswer(name, ep, signed({ ids: { 'X-Delivery': 'del-2', 'X-Event-Id': 'ignored-1' } }), 202);
    expect(fresh.body).to.include({ duplicate: false, event_id: 'del-2' });
    const tasks = await tasksOf(name);
    expect(tasks.map((t) => t.spec.input.webhook_event_id).sort()).to.deep.equal(['del-1', 'del-2']);

    // Only X-Event-Id (the default header): no event id.
    expect((await expectAnswer(name, ep, signed({ ids: { 'X-Event-Id': 'e-3' } }), 400)).lastError).to.equal('missing event id (expected in X-Delivery)');
    // The default header names are not read.
    expect((await expectAnswer(name, ep, signed({ sigHeader: 'X-Signature', tsHeader: 'X-Timestamp' }), 401)).lastError).to.equal(
      'signature verification failed: missing signature header X-Sig',
    );
    expect((await expectAnswer(name, ep, signed({ tsHeader: 'X-Timestamp' }), 401)).lastError).to.equal(
      'signature verification failed: missing timestamp header X-Ts',
    );
    // The default prefix is not accepted.
    expect((await expectAnswer(name, ep, signed({ prefix: 'sha256=' }), 401)).lastError).to.equal(
      'signature verification failed: malformed signature header X-Sig',
    );
    // 30 s of skew, not the default 300: 45 s old is refused, 10 s old (either way) is fine.
    expect((await expectAnswer(name, ep, signed({ atMs: Date.now() - 45_000 }), 401)).lastError).to.equal(
      'signature verification failed: timestamp outside allowed skew of 30s',
    );
    expect((await expectAnswer(name, ep, signed({ atMs: Date.now() + 45_000 }), 401)).lastError).to.equal(
      'signature verification failed: timestamp outside allowed skew of 30s',
    );
    await expectAnswer(name, ep, signed({ atMs: Date.now() - 10_000 }), 202);
    await expectAnswer(name, ep, signed({ atMs: Date.now() + 10_000 }), 202);
  });

  it('stripe: max_skew_seconds and an event id header that wins over the body id', async () => {
    const name = 'stripe-over';
    await put(d, secret('stripe-s', { value: 'whsec_override' }));
    const ep = await webhook(name, { profile: 'stripe', secret_ref: 'stripe-s', max_skew_seconds: 60 }, { event_id_header: 'X-Request-Id' });
    const body = JSON.stringify({ id: 'evt_body', object: 'event', type: 'charge.succeeded' });
    const signed = (atMs: number, extra: Record<string, string> = {}): Signed => ({
      headers: { ...json, 'Stripe-Signature': Stripe.webhooks.generateTestHeaderString({ payload: body, secret: 'whsec_override', timestamp: unix(atMs) }), ...extra },
      body,
    });
    expect((await expectAnswer(name, ep, signed(Date.now() - 90_000), 401)).lastError).to.equal(
      'signature verification failed: timestamp outside allowed skew of 60s',
    );
    const a = await expectAnswer(name, ep, signed(Date.now() - 30_000, { 'X-Request-Id': 'req-a' }), 202);
    expect(a.body).to.include({ duplicate: false, event_id: 'req-a' });
    const b = await expectAnswer(name, ep, signed(Date.now(), { 'X-Request-Id': 'req-b' }), 202);
    expect(b.body).to.include({ duplicate: false, event_id: 'req-b' });
    // Without the header, the body's id is the fallback (signed at another second: b's signature again would be b).
    const c = await expectAnswer(name, ep, signed(Date.now() - 5000), 202);
    expect(c.body).to.include({ duplicate: false, event_id: 'evt_body' });
    expect((await expectAnswer(name, ep, signed(Date.now(), { 'X-Request-Id': 'req-a' }), 202)).body).to.include({ duplicate: true, task: a.body.task });
    expect((await tasksOf(name)).map((t) => t.spec.input.webhook_event_id).sort()).to.deep.equal(['evt_body', 'req-a', 'req-b']);
  });

  it('slack: timestamp_header and max_skew_seconds', async () => {
    const name = 'slack-over';
    const ep = await webhook(name, { profile: 'slack', timestamp_header: 'X-Relay-Timestamp', max_skew_seconds: 60 });
    const signed = (atMs: number, tsHeader = 'X-Relay-Timestamp'): Signed => {
      const body = JSON.stringify({ type: 'event_callback', event_id: `Ev${Math.random()}`, event: { type: 'message' } });
      const ts = unix(atMs);
      return { headers: { ...json, [tsHeader]: String(ts), 'X-Slack-Signature': slackSignature(SECRET, ts, body) }, body };
    };
    await expectAnswer(name, ep, signed(Date.now() - 30_000), 202);
    expect((await expectAnswer(name, ep, signed(Date.now()), 202)).body.duplicate).to.equal(false);
    expect((await expectAnswer(name, ep, signed(Date.now(), 'X-Slack-Request-Timestamp'), 401)).lastError).to.equal(
      'signature verification failed: missing timestamp header X-Relay-Timestamp',
    );
    expect((await expectAnswer(name, ep, signed(Date.now() - 90_000), 401)).lastError).to.equal(
      'signature verification failed: timestamp outside allowed skew of 60s',
    );
  });

  it('standard-webhooks: signature_header and max_skew_seconds', async () => {
    const name = 'sw-over';
    const key = whsec('override key');
    await put(d, secret('sw-s', { value: key }));
    const ep = await webhook(name, { profile: 'standard-webhooks', secret_ref: 'sw-s', signature_header: 'X-Sw-Signature', max_skew_seconds: 60 });
    const body = '{"type":"user.created"}';
    const signed = (atMs: number, sigHeader = 'X-Sw-Signature'): Signed => {
      const id = `msg_${Math.random().toString(36).slice(2)}`;
      const sig = new Webhook(key).sign(id, new Date(atMs), body);
      return { headers: { ...json, 'webhook-id': id, 'webhook-timestamp': String(unix(atMs)), [sigHeader]: sig }, body };
    };
    await expectAnswer(name, ep, signed(Date.now() - 30_000), 202);
    expect((await expectAnswer(name, ep, signed(Date.now(), 'webhook-signature'), 401)).lastError).to.equal(
      'signature verification failed: missing signature header X-Sw-Signature',
    );
    expect((await expectAnswer(name, ep, signed(Date.now() - 90_000), 401)).lastError).to.equal(
      'signature verification failed: timestamp outside allowed skew of 60s',
    );
  });

  it('static-header: an Authorization header with a Bearer prefix', async () => {
    const name = 'bearer';
    const ep = await webhook(name, { profile: 'static-header', signature_header: 'Authorization', signature_prefix: 'Bearer ' });
    const signed = (headers: Record<string, string>): Signed => ({ headers: { ...json, 'X-Event-Id': `e-${Math.random()}`, ...headers }, body: '{}' });
    await expectAnswer(name, ep, signed({ Authorization: `Bearer ${SECRET}` }), 202);
    expect((await expectAnswer(name, ep, signed({ Authorization: SECRET }), 401)).lastError).to.equal(
      'signature verification failed: token prefix mismatch in Authorization',
    );
    expect((await expectAnswer(name, ep, signed({ 'X-Webhook-Token': SECRET }), 401)).lastError).to.equal(
      'signature verification failed: missing signature header Authorization',
    );
    expect((await expectAnswer(name, ep, signed({ Authorization: `Bearer ${SECRET}x` }), 401)).lastError).to.equal(
      'signature verification failed: token mismatch',
    );
  });
});
