import { expect } from 'chai';
import { eventually, Orlojd } from '../helpers/orlojd.js';
import { readyOf, readyWebhook } from '../helpers/fixtures.js';
import { send } from '../helpers/deliveries.js';

const SECRET_VALUE = 'soon-gone';

interface Result {
  sender: number;
  /** performance.now() in this process: only ever compared with each other, never with limits. */
  sentAt: number;
  answeredAt: number;
  status: number;
  message?: unknown;
  eventId: string;
}

describe('a Secret deleted while deliveries arrive', function () {
  this.timeout(60_000);
  let d: Orlojd;
  before(async () => {
    d = await Orlojd.start();
  });
  after(async () => d?.destroy());

  it('202 before the delete, 401 once it is seen, never anything else; the status names the missing secret', async () => {
    const ep = await readyWebhook(d, 'keyless', SECRET_VALUE);
    const results: Result[] = [];
    let stop = false;
    let n = 0;
    const sender = async (id: number): Promise<void> => {
      while (!stop) {
        const eventId = `k-${n++}`;
        const sentAt = performance.now();
        // A failed connection throws here and fails the test: only answers are allowed.
        const res = await send(d, ep, { secret: SECRET_VALUE, body: `{"n":"${eventId}"}`, eventId });
        results.push({ sender: id, sentAt, answeredAt: performance.now(), status: res.status, message: res.body.message, eventId });
      }
    };
    const senders = Array.from({ length: 6 }, (_, i) => sender(i));
    try {
      await eventually(async () => results.filter((r) => r.status === 202).length >= 30);
      const deleteSentAt = performance.now();
      expect((await d.api('DELETE', '/v1/secrets/keyless-secret')).status).to.equal(200);
      // The receiver cache drops the secret on the store's watch event, synchronously, before
      // the reconciler (on the same event) even starts: its status proves the delete was seen.
      await eventually(async () => readyOf((await d.api('GET', '/v1/task-webhooks/keyless')).body)?.reason === 'SecretNotFound');
      const seenAt = performance.now();
      await eventually(async () => results.filter((r) => r.sentAt > seenAt).length >= 60, 20_000);
      stop = true;
      await Promise.all(senders);

      const other = results.filter((r) => r.status !== 202 && r.status !== 401);
      expect(other, 'answers other than 202 and 401').to.deep.equal([]);
      const beforeDelete = results.filter((r) => r.answeredAt < deleteSentAt);
      expect(beforeDelete.length).to.be.at.least(30);
      expect(beforeDelete.filter((r) => r.status !== 202), 'refused before the delete').to.deep.equal([]);
      const afterSeen = results.filter((r) => r.sentAt > seenAt);
      expect(afterSeen.filter((r) => r.status !== 401), 'accepted after the delete was seen').to.deep.equal([]);
      expect(afterSeen.every((r) => r.message === 'signature verification failed')).to.equal(true);
      // Once any delivery was refused for the missing key, none sent later is accepted again.
      const firstRefusal = Math.min(...results.filter((r) => r.status === 401).map((r) => r.answeredAt));
      expect(results.filter((r) => r.status === 202 && r.sentAt > firstRefusal), 'accepted after a refusal').to.deep.equal([]);

      const accepted = results.filter((r) => r.status === 202).length;
      const refused = results.filter((r) => r.status === 401).length;
      const st = await eventually(async () => {
        const s = (await d.api('GET', '/v1/task-webhooks/keyless')).body.status;
        return s.acceptedCount === accepted && s.rejectedCount === refused ? s : undefined;
      });
      expect(st.phase).to.equal('Error');
      expect(readyOf({ status: st })).to.include({ status: 'False', reason: 'SecretNotFound' });
      // The reconciler's words came first (it was seen before the last refusals were flushed);
      // the delivery path's replace them.
      expect(st.lastError).to.equal('signature verification failed: secret "keyless-secret" not found');
      const tasks = (await d.api('GET', `/v1/tasks?labelSelector=${encodeURIComponent('orloj.dev/task-webhook=keyless')}&limit=5000`)).body.items as Array<{
        spec: { input: { webhook_event_id: string } };
      }>;
      expect(tasks.map((t) => t.spec.input.webhook_event_id).sort()).to.deep.equal(
        results.filter((r) => r.status === 202).map((r) => r.eventId).sort(),
      );
    } finally {
      stop = true;
      await Promise.allSettled(senders);
    }
  });
});
