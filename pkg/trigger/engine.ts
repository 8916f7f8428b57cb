// The delivery engine: sends queued messages, each destination (scheme, host, port) with a
// bounded number in flight, so a slow or dead one holds back only its own. Every attempt is a
// record (`delivering`, then its outcome); a message leaves the queue when delivered or dead,
// and an attempt cut off by a crash counts for nothing: the message is still queued as it was.
import type { Logger } from 'pino';
import type { Metrics } from '../metrics/metrics.js';
import { origin, OutboundError, type OutboundClient } from '../outbound/client.js';
import type { Op, QueuedMessage, Store } from '../store/types.js';
import { isActive, type IndexedTrigger, type TriggerIndex } from './index.js';
import type { MessageTarget } from './message.js';
import { decide, type AttemptResult, type Decision } from './outcome.js';
import { SigningKeys } from './keys.js';
import { signingHeaders } from './signing.js';
import { TriggerStatus } from './status.js';
import { writeBackOps } from './write-back.js';

/** Attempts in flight per destination. */
const PER_DESTINATION = 16;
/** How often the queue is read for retries that came due, redeliveries and what a restart left. */
const SCAN_MS = 500;
const SCAN_PAGE = 500;
/** What a record keeps of an answer. */
const RESPONSE_BYTES = 1024;

interface Lane {
  active: number;
  waiting: QueuedMessage[];
}

export interface EngineDeps {
  store: Store;
  index: TriggerIndex;
  client: OutboundClient;
  metrics: Metrics;
  log: Logger;
}

export class Engine {
  private readonly lanes = new Map<string, Lane>();
  /** Messages taken (waiting in a lane or being sent): a scan does not take them twice. */
  private readonly taken = new Set<number>();
  private readonly keys: SigningKeys;
  private readonly status: TriggerStatus;
  private timer?: NodeJS.Timeout;
  private scanning = false;
  private stopped = false;
  private readonly sending = new Set<Promise<void>>();

  constructor(private readonly deps: EngineDeps) {
    this.keys = new SigningKeys(deps.store.control);
    this.status = new TriggerStatus(deps.store);
  }

  start(): void {
    this.timer = setInterval(() => void this.scan(), SCAN_MS);
    this.timer.unref();
    this.deps.index.onChange = () => void this.scan();
    void this.scan();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    await Promise.allSettled([...this.sending]);
    await this.status.flush();
    this.status.close();
  }

  /** Messages the dispatcher just queued: sent now, without waiting for a scan. */
  take(messages: QueuedMessage[]): void {
    for (const m of messages) this.enter(m);
  }

  private async scan(): Promise<void> {
    if (this.scanning || this.stopped) return;
    this.scanning = true;
    try {
      let after: { dueAt: number; id: number } | undefined;
      for (;;) {
        const page = await this.deps.store.data.dueMessages(Date.now(), SCAN_PAGE, after);
        for (const m of page) this.enter(m);
        if (page.length < SCAN_PAGE) break;
        const last = page[page.length - 1]!;
        after = { dueAt: last.dueAt!, id: last.id };
      }
    } catch (err) {
      this.deps.log.error({ err }, 'reading the trigger queue failed');
    } finally {
      this.scanning = false;
    }
  }

  /** Into its destination's lane, unless taken already or its trigger holds it back (suspended, not Ready). */
  private enter(m: QueuedMessage): void {
    if (this.stopped || this.taken.has(m.id)) return;
    const t = this.deps.index.get(m.ownerUid);
    if (t && !sending(t)) return;
    const target = JSON.parse(m.meta) as MessageTarget;
    const key = laneOf(target.url);
    const lane = this.lanes.get(key) ?? { active: 0, waiting: [] };
    this.lanes.set(key, lane);
    this.taken.add(m.id);
    lane.waiting.push(m);
    this.pump(key, lane);
  }

  private pump(key: string, lane: Lane): void {
    while (lane.active < PER_DESTINATION && lane.waiting.length) {
      const m = lane.waiting.shift()!;
      lane.active++;
      const p = this.attempt(m)
        .catch((err: unknown) => this.deps.log.error({ err, message: m.messageId }, 'trigger attempt failed'))
        .finally(() => {
          this.sending.delete(p);
          this.taken.delete(m.id);
          lane.active--;
          if (!lane.active && !lane.waiting.length) this.lanes.delete(key);
          else this.pump(key, lane);
        });
      this.sending.add(p);
    }
  }

  private async attempt(m: QueuedMessage): Promise<void> {
    const { store } = this.deps;
    const t = this.deps.index.get(m.ownerUid);
    // Its trigger is gone: so is what it would have sent.
    if (!t) return void (await store.commit({ origin: 'system', ops: [{ op: 'settle', id: m.id, done: true }] }));
    const target = JSON.parse(m.meta) as MessageTarget;
    const n = m.attempt + 1;
    const started = await store.commit({
      origin: 'system',
      ops: [{ op: 'record', record: { ts: new Date().toISOString(), owner: t.owner, eventId: m.messageId, outcome: 'delivering', attempt: n, result: String(m.id) } }],
    });
    const recordId = !started.held ? started.records![0]! : 0;
    const t0 = performance.now();
    const result = await this.send(t, m, target, recordId);
    const durationMs = +(performance.now() - t0).toFixed(3);
    const d = decide(result.attempt, n, t.spec.retry, Date.now());
    const ops: Op[] = [
      { op: 'recordUpdate', id: recordId, set: { outcome: d.outcome, durationMs, ...(result.attempt.status ? { httpStatus: result.attempt.status } : {}), ...(d.reason ? { reason: d.reason } : {}), ...(result.response ? { response: result.response } : {}) } },
      settleOf(m, n, d),
      { op: 'count', scope: m.ownerUid, deltas: countsOf(d) },
    ];
    if (d.gone) ops.push({ op: 'status', key: keyOf(t), uid: m.ownerUid, merge: true, status: { destinationGone: { generation: t.object.metadata.generation, message: `${target.url.split('?')[0]} answered 410 Gone` } } });
    await store.commit({ origin: 'system', ops });
    if (d.outcome === 'delivered' && target.writeBack && result.body) await this.writeBack(target.writeBack, result.body);
    const name = `${t.object.metadata.namespace}/${t.object.metadata.name}`;
    this.deps.metrics.triggerAttempts.labels(name, d.outcome).inc();
    this.deps.metrics.triggerAttemptDuration.labels(name).observe(durationMs / 1000);
    this.status.saw(t, d.outcome === 'delivered' ? { lastDeliveryTime: new Date().toISOString(), lastError: '' } : { lastError: errorOf(d, result.attempt) });
    if (d.outcome === 'retry_scheduled' && d.waitMs! < 60_000) setTimeout(() => void this.scan(), d.waitMs! + 5).unref();
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

  private async send(t: IndexedTrigger, m: QueuedMessage, target: MessageTarget, recordId: number): Promise<{ attempt: AttemptResult; response?: string; body?: Buffer }> {
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

/** Whether its messages go out now: Ready (resolved, not suspended, destination not gone). */
const sending = (t: IndexedTrigger): boolean => isActive(t, Number.MAX_SAFE_INTEGER);

/** A URL the client will refuse still needs a lane: its attempt records why. */
function laneOf(url: string): string {
  try {
    return origin(url);
  } catch {
    return 'invalid';
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
