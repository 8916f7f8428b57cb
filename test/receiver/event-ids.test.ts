// Event ids as senders send them, and what tells a replay from a new event where the event id
// is not signed. Deliveries are signed by the providers' own libraries where one exists, by
// the documented scheme otherwise, never by pkg/'s signers.
import { sign as octokitSign } from '@octokit/webhooks-methods';
import { expect } from 'chai';
import { createHmac } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import Stripe from 'stripe';
import { eventually, Orlojd } from '../helpers/orlojd.js';
import { applyReady, put, secret, templateTask } from '../helpers/fixtures.js';
import { post, postRaw, utf8OnTheWire } from '../helpers/deliveries.js';

const SECRET = 'event-id-secret';
const ID = 'évènement-☃-𝄞';
const json = { 'content-type': 'application/json' };

type Rec = { eventId?: string; outcome: string; reason?: string; task?: string };

describe('event ids', function () {
  this.timeout(60_000);
  let d: Orlojd;
  before(async () => {
    d = await Orlojd.start();
    await put(d, templateTask('tpl'));
    await put(d, secret('s', { value: SECRET }));
  });
  after(async () => d?.destroy());

  const webhook = (name: string, spec: Record<string, unknown> = {}) => applyReady(d, name, { task_ref: 'tpl', auth: { secret_ref: 's' }, ...spec });
  /** A standard-webhooks webhook on a key of its own, and a signer with it. */
  const standard = async (name: string) => {
    const key = `whsec_${Buffer.from(`${name} key`).toString('base64')}`;
    await put(d, secret(`${name}-s`, { value: key }));
    const ep = await webhook(name, { auth: { profile: 'standard-webhooks', secret_ref: `${name}-s` } });
    return { ep, sign: (id: string, at: Date, body: string) => new Webhook(key).sign(id, at, body) };
  };

  // The event id is not signed: a captured delivery replayed under a fresh one is told apart
  // from a new event only by its remembered signature.
  describe('replays of a captured delivery under a fresh event id', () => {
    const tasksOf = async (name: string) =>
      (await d.api('GET', `/v1/tasks?labelSelector=${encodeURIComponent(`orloj.dev/task-webhook=${name}`)}`)).body.items as Array<{ metadata: { name: string } }>;
    const recordsOf = async (name: string, n: number) =>
      eventually(async () => {
        const items = (await d.api('GET', `/v1/deliveries?owner=task-webhook/${name}`)).body.items as Rec[];
        return items.length === n ? items : undefined;
      });

    /** Sends `captured` again under each of `ids` (set in `idHeader`): every one is a duplicate of the first, and no task is made. */
    async function expectReplays(name: string, ep: string, captured: { headers: Record<string, string>; body: string }, idHeader: string, ids: string[]) {
      const first = await post(d, ep, captured.headers, captured.body);
      expect(first.status, first.text).to.equal(202);
      expect(first.body.duplicate).to.equal(false);
      for (const id of ids) {
        const replay = await post(d, ep, { ...captured.headers, [idHeader]: id }, captured.body);
        expect(replay.status, replay.text).to.equal(202);
        // The shape of every duplicate's answer: the first delivery's task.
        expect(replay.body).to.deep.equal({ accepted: true, duplicate: true, event_id: id, task: first.body.task, message: 'duplicate delivery: task already created' });
      }
      expect((await tasksOf(name)).map((t) => t.metadata.name)).to.deep.equal([first.body.task]);
      const st = await eventually(async () => {
        const s = (await d.api('GET', `/v1/task-webhooks/${name}`)).body.status;
        return s.duplicateCount === ids.length ? s : undefined;
      });
      expect(st).to.include({ acceptedCount: 1, duplicateCount: ids.length, rejectedCount: 0 });
      const records = await recordsOf(name, ids.length + 1);
      expect(records.map((r) => [r.outcome, r.eventId, r.reason ?? null, r.task])).to.deep.equal([
        ...[...ids].reverse().map((id) => ['duplicate', id, 'replay: signature already accepted', first.body.task]),
        ['accepted', captured.headers[idHeader], null, first.body.task],
      ]);
    }

    it('generic: a captured delivery replayed inside its timestamp skew', async () => {
      const ep = await webhook('gen');
      const body = JSON.stringify({ event: 'invoice.paid', amount: 42 });
      const ts = String(Math.floor(Date.now() / 1000));
      // The generic scheme: HMAC-SHA256(secret, ts + "." + body); X-Event-Id is not signed.
      const sig = `sha256=${createHmac('sha256', SECRET).update(`${ts}.${body}`).digest('hex')}`;
      const captured = { headers: { ...json, 'X-Timestamp': ts, 'X-Signature': sig, 'X-Event-Id': 'evt-1' }, body };
      // The second and third come from memory of the store's answer to the first replay.
      await expectReplays('gen', ep, captured, 'X-Event-Id', ['evt-2', 'evt-3', 'evt-4']);
      // Listing the signature twice, or beside a forged one, is the same delivery.
      const padded = await post(d, ep, { ...captured.headers, 'X-Signature': `sha256=${'0'.repeat(64)}, ${sig}`, 'X-Event-Id': 'evt-5' }, body);
      expect(padded.body).to.include({ duplicate: true, event_id: 'evt-5' });
    });

    it('github: a captured delivery replayed with a new X-GitHub-Delivery (no timestamp: only the signature tells)', async () => {
      const ep = await webhook('gh', { auth: { profile: 'github', secret_ref: 's' } });
      const body = JSON.stringify({ ref: 'refs/heads/main', after: 'c0ffee', repository: { full_name: 'acme/repo' } });
      const captured = {
        headers: { ...json, 'X-Hub-Signature-256': await octokitSign(SECRET, body), 'X-GitHub-Delivery': '72d3162e-cc78-11e3-81ab-4c9367dc0958', 'X-GitHub-Event': 'push' },
        body,
      };
      await expectReplays('gh', ep, captured, 'X-GitHub-Delivery', ['9f1c2b4a-0000-4000-8000-000000000001', '9f1c2b4a-0000-4000-8000-000000000002']);
    });

    it('stripe with an event id header: a captured delivery replayed under a new header value', async () => {
      await put(d, secret('stripe-s', { value: 'whsec_replay' }));
      const ep = await webhook('stripe', { auth: { profile: 'stripe', secret_ref: 'stripe-s' }, idempotency: { event_id_header: 'X-Request-Id' } });
      const body = JSON.stringify({ id: 'evt_1', object: 'event', type: 'charge.succeeded' });
      const header = Stripe.webhooks.generateTestHeaderString({ payload: body, secret: 'whsec_replay', timestamp: Math.floor(Date.now() / 1000) });
      await expectReplays('stripe', ep, { headers: { ...json, 'Stripe-Signature': header, 'X-Request-Id': 'req-1' }, body }, 'X-Request-Id', ['req-2']);
    });

    it('standard-webhooks signs its id: a new webhook-id breaks the signature', async () => {
      const { ep, sign } = await standard('sw');
      const body = '{"type":"user.created"}';
      const at = new Date();
      const headers = { ...json, 'webhook-id': 'msg_1', 'webhook-timestamp': String(Math.floor(at.getTime() / 1000)), 'webhook-signature': sign('msg_1', at, body) };
      expect((await post(d, ep, headers, body)).status).to.equal(202);
      expect((await post(d, ep, { ...headers, 'webhook-id': 'msg_2' }, body)).status).to.equal(401);
      expect((await post(d, ep, headers, body)).body.duplicate).to.equal(true);
    });

    it('a profile without a signature remembers only event ids: the same body under a new id is a new event', async () => {
      const ep = await webhook('token', { auth: { profile: 'static-header', secret_ref: 's' } });
      const headers = { ...json, 'X-Webhook-Token': SECRET };
      const a = await post(d, ep, { ...headers, 'X-Event-Id': 'tok-1' }, '{}');
      const b = await post(d, ep, { ...headers, 'X-Event-Id': 'tok-2' }, '{}');
      expect([a.body.duplicate, b.body.duplicate]).to.deep.equal([false, false]);
      expect(await tasksOf('token')).to.have.length(2);
    });
  });

  // UTF-8 (node's parser hands header bytes over as latin1), never twice, and read before
  // anything else so that even a refused delivery's record names it.
  describe('event id headers', () => {
    /** The generic scheme's headers for `body`, without an event id. */
    const generic = (body: string): Array<[string, string]> => {
      const ts = String(Math.floor(Date.now() / 1000));
      return [['Content-Type', 'application/json'], ['X-Timestamp', ts], ['X-Signature', `sha256=${createHmac('sha256', SECRET).update(`${ts}.${body}`).digest('hex')}`]];
    };
    const newest = (name: string, n: number) =>
      eventually(async () => {
        const items = (await d.api('GET', `/v1/deliveries?owner=task-webhook/${name}`)).body.items as Array<{ eventId?: string; outcome: string; reason?: string }>;
        return items.length === n ? items[0] : undefined;
      });
    const inputOf = async (task: unknown) => (await d.api('GET', `/v1/tasks/${String(task)}`)).body.spec.input as Record<string, unknown>;

    it('reads an event id sent as UTF-8 as UTF-8: in the answer, the run task and the record', async () => {
      const ep = await webhook('utf8');
      const body = '{"n":1}';
      const res = await postRaw(d, ep, [...generic(body), ['X-Event-Id', utf8OnTheWire(ID)]], body);
      expect(res.status).to.equal(202);
      expect(res.body).to.include({ duplicate: false, event_id: ID });
      expect((await inputOf(res.body.task)).webhook_event_id).to.equal(ID);
      expect((await d.api('GET', '/v1/deliveries?owner=task-webhook/utf8')).body.items[0]).to.include({ eventId: ID, outcome: 'accepted' });
      // The same id again is the same event (under a new signature).
      const again = await postRaw(d, ep, [...generic('{"n":2}'), ['X-Event-Id', utf8OnTheWire(ID)]], '{"n":2}');
      expect(again.body).to.include({ duplicate: true, task: res.body.task });
    });

    it('keeps bytes that are not UTF-8 as latin1', async () => {
      const ep = await webhook('latin1');
      const body = '{"n":3}';
      const res = await postRaw(d, ep, [...generic(body), ['X-Event-Id', 'caf\xe9']], body);
      expect(res.body).to.include({ duplicate: false, event_id: 'café' });
    });

    it('refuses an event id header sent twice with 400, its record naming what was sent', async () => {
      const ep = await webhook('twice');
      const body = '{"n":4}';
      const res = await postRaw(d, ep, [...generic(body), ['X-Event-Id', 'a'], ['X-Event-Id', 'b']], body);
      expect(res.status).to.equal(400);
      expect(res.body).to.include({ accepted: false, message: 'event id sent more than once' });
      expect(await newest('twice', 1)).to.include({ outcome: 'rejected', eventId: 'a, b', reason: 'event id header x-event-id sent more than once' });
      // One header whose value holds ", " is one id.
      expect((await postRaw(d, ep, [...generic(body), ['X-Event-Id', 'a, b']], body)).body).to.include({ duplicate: false, event_id: 'a, b' });
    });

    it('github: X-GitHub-Delivery is read as UTF-8 and refused when sent twice', async () => {
      const ep = await webhook('gh-ids', { auth: { profile: 'github', secret_ref: 's' } });
      const body = JSON.stringify({ ref: 'refs/heads/main', after: 'abc' });
      const headers: Array<[string, string]> = [['Content-Type', 'application/json'], ['X-Hub-Signature-256', await octokitSign(SECRET, body)], ['X-GitHub-Event', 'push']];
      const twice = await postRaw(d, ep, [...headers, ['X-GitHub-Delivery', 'd-1'], ['X-GitHub-Delivery', 'd-2']], body);
      expect(twice.status).to.equal(400);
      const res = await postRaw(d, ep, [...headers, ['X-GitHub-Delivery', utf8OnTheWire(ID)]], body);
      expect(res.body).to.include({ duplicate: false, event_id: ID });
    });

    it('standard-webhooks: a UTF-8 webhook-id is signed and checked as UTF-8', async () => {
      const { ep, sign } = await standard('sw-ids');
      const body = '{"type":"user.created"}';
      const at = new Date();
      const res = await postRaw(d, ep, [
        ['Content-Type', 'application/json'],
        ['webhook-id', utf8OnTheWire(ID)],
        ['webhook-timestamp', String(Math.floor(at.getTime() / 1000))],
        ['webhook-signature', sign(ID, at, body)],
      ], body);
      expect(res.status).to.equal(202);
      expect(res.body).to.include({ duplicate: false, event_id: ID });
    });
  });
});
