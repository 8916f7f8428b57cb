// One attempt at a queued message: its `delivering` record first (the record's id is the
// X-Orloj-Delivery header), the signed request, then in one unit the record's outcome, the
// message's next state (gone, parked as a dead letter, or due again) and the trigger's counts.
import type { Logger } from 'pino';
import { OutcomeLog } from '../log/outcomes.js';
import type { Metrics } from '../metrics/metrics.js';
import { OutboundError, type OutboundClient } from '../outbound/client.js';
import type { Op, QueuedMessage, Store } from '../store/types.js';
import type { IndexedTrigger } from './index.js';
import type { MessageTarget } from './message.js';
import { decide, type AttemptResult, type Decision } from './outcome.js';
import { SigningKeys } from './keys.js';
import { signingHeaders } from './signing.js';
import { TriggerStatus } from './status.js';
import { writeBackOps } from './write-back.js';

/** What a record keeps of an answer. */
const RESPONSE_BYTES = 1024;

export interface AttemptDeps {
  store: Store;
  client: OutboundClient;
  metrics: Metrics;
  log: Logger;
}

/** A message whose attempt has its record: ready to send. */
export interface Started {
  m: QueuedMessage;
  t: IndexedTrigger;
  target: MessageTarget;
  n: number;
  recordId: number;
}

interface Sent {
  attempt: AttemptResult;
  response?: string;
  body?: Buffer;
  durationMs: number;
}

export class Attempts {
  private readonly keys: SigningKeys;
  readonly status: TriggerStatus;
  readonly outcomes: OutcomeLog;

  constructor(private readonly deps: AttemptDeps) {
    this.keys = new SigningKeys(deps.store.control);
    this.status = new TriggerStatus(deps.store);
    this.outcomes = new OutcomeLog(deps.log, { noun: 'trigger attempt' });
  }

  /** Writes the attempt's `delivering` record; a message whose trigger is gone leaves the queue instead. */
  async start(m: QueuedMessage, t: IndexedTrigger | undefined, target: MessageTarget): Promise<Started | undefined> {
    const { store } = this.deps;
    if (!t) return void (await store.commit({ origin: 'system', ops: [{ op: 'settle', id: m.id, done: true }] }));
    const n = m.attempt + 1;
    const r = await store.commit({
      origin: 'system',
      ops: [{ op: 'record', record: { ts: new Date().toISOString(), owner: t.owner, eventId: m.messageId, outcome: 'delivering', attempt: n, result: String(m.id) } }],
    });
    return { m, t, target, n, recordId: r.held ? 0 : r.records![0]! };
  }

  async send(s: Started): Promise<Sent> {
    const t0 = performance.now();
    const r = await this.request(s);
    return { ...r, durationMs: +(performance.now() - t0).toFixed(3) };
  }

  /** Records what the answer decided; returns the wait before the next attempt, if there is one. */
  async finish(s: Started, sent: Sent): Promise<number | undefined> {
    const { m, t, target, n, recordId } = s;
    const d = decide(sent.attempt, n, t.spec.retry, Date.now());
    const a = sent.attempt;
    const ops: Op[] = [
      { op: 'recordUpdate', id: recordId, set: { outcome: d.outcome, durationMs: sent.durationMs, ...(a.status ? { httpStatus: a.status } : {}), ...(d.reason ? { reason: d.reason } : {}), ...(sent.response ? { response: sent.response } : {}) } },
      settleOf(m, n, d),
      { op: 'count', scope: m.ownerUid, deltas: countsOf(d) },
    ];
    if (d.gone) ops.push({ op: 'status', key: keyOf(t), uid: m.ownerUid, merge: true, status: { destinationGone: { generation: t.object.metadata.generation, message: `${target.url.split('?')[0]} answered 410 Gone` } } });
    await this.deps.store.commit({ origin: 'system', ops });
    if (d.outcome === 'delivered' && target.writeBack && sent.body) await this.writeBack(target.writeBack, sent.body);
    this.counted(s, d, sent);
    this.status.saw(t, d.outcome === 'delivered' ? { lastDeliveryTime: new Date().toISOString(), lastError: '' } : { lastError: errorOf(d, a) });
    return d.outcome === 'retry_scheduled' ? d.waitMs : undefined;
  }

  /** Its metrics, and its line (sampled): the trigger, the message and what came of it, never the URL, headers or body. */
  private counted({ m, t, n }: Started, d: Decision, sent: Sent): void {
    const tally = this.deps.metrics.triggers.of(m.ownerUid, t);
    tally.count(d.outcome);
    if (n > 1) tally.retries++;
    tally.observe(sent.durationMs / 1000);
    if (!this.outcomes.enabled) return;
    const who = { trigger: `${t.object.metadata.namespace}/${t.object.metadata.name}` };
    const details = () => ({ messageId: m.messageId, attempt: n, outcome: d.outcome, reason: d.reason, status: sent.attempt.status, durationMs: sent.durationMs });
    this.outcomes.write(m.ownerUid, who, details, `trigger attempt ${d.outcome}`);
  }

  /** On its own: a document written meanwhile (a stale version) keeps its newer body and loses only the id. */
  private async writeBack(w: NonNullable<MessageTarget['writeBack']>, answer: Buffer): Promise<void> {
    const ops = await writeBackOps(this.deps.store, w, answer);
    if (!ops.length) return;
    try {
      await this.deps.store.commit({ origin: 'system', ops });
    } catch (err) {
      this.deps.log.warn({ err, document: w.id }, 'the upstream id was not stored');
    }
  }

  private async request({ m, t, target, recordId }: Started): Promise<Omit<Sent, 'durationMs'>> {
    const keys = await this.keys.of(t);
    if (!keys.length) return { attempt: { error: { reason: 'SecretNotFound', message: 'the trigger has no signing key' } } };
    const body = Buffer.from(m.body);
    const headers = signingHeaders(keys, { id: m.messageId, timestampSec: Math.floor(Date.now() / 1000), body, eventType: target.eventType });
    headers['X-Orloj-Delivery'] = String(recordId);
    if (body.length) headers['Content-Type'] = 'application/json';
    try {
      const r = await this.deps.client.send({ url: target.url, method: target.method, headers, body: body.length ? body : undefined, timeoutMs: t.spec.timeout_seconds * 1000 });
      const retryAfter = r.headers['retry-after'];
      return {
        attempt: { status: r.status, retryAfter: Array.isArray(retryAfter) ? retryAfter[0] : retryAfter },
        response: r.body.subarray(0, RESPONSE_BYTES).toString('utf8'),
        body: r.body,
      };
    } catch (e) {
      if (e instanceof OutboundError) return { attempt: { error: { reason: e.reason, message: e.message } } };
      throw e;
    }
  }
}

const keyOf = (t: IndexedTrigger) => ({ kind: 'Trigger', namespace: t.object.metadata.namespace, name: t.object.metadata.name });

function settleOf(m: QueuedMessage, n: number, d: Decision): Op {
  if (d.outcome === 'delivered') return { op: 'settle', id: m.id, done: true };
  // A dead letter stays queued, parked, for redelivery.
  if (d.outcome === 'dead_letter') return { op: 'settle', id: m.id, attempt: n, dueAt: null };
  return { op: 'settle', id: m.id, attempt: n, dueAt: Date.now() + d.waitMs! };
}

function countsOf(d: Decision): Record<string, number> {
  if (d.outcome === 'delivered') return { delivered: 1 };
  if (d.outcome === 'dead_letter') return { failedAttempts: 1, deadLetter: 1 };
  return { failedAttempts: 1 };
}

function errorOf(d: Decision, r: AttemptResult): string {
  const what = r.error ? `${r.error.reason}: ${r.error.message}` : `HTTP ${r.status}`;
  return `${d.outcome === 'dead_letter' ? 'dead letter' : 'retry scheduled'}: ${what}`;
}
