// One run of a hydration job under its lease: fetch the record (or not, for a delete), write
// the document, and settle the job, each outcome in one unit with the job's settle, so a
// replica whose lease lapsed writes nothing. Every attempt leaves a record: `delivering`
// while it fetches, then what came of it.
import type { Logger } from 'pino';
import type { Metrics } from '../metrics/metrics.js';
import { ApiError } from '../api/errors.js';
import { HYDRATION_BACKOFF_SECONDS, type HydrationSpec } from '../api/kinds/inbound-webhook.js';
import { now } from '../api/meta.js';
import { putOp } from '../documents/documents.js';
import { MappingError } from '../mapping/index.js';
import { isObject, type JsonObject } from '../mapping/paths.js';
import { OutboundError, type OutboundClient, type OutboundResponse } from '../outbound/client.js';
import { backoffMs, retryAfterMs } from '../outbound/retry.js';
import type { DeliveryRecord, Job, Op, Store, StoredDocument } from '../store/types.js';
import { configOf, isProblem, type ConfigProblem, type JobConfig } from './config.js';
import { readRequest } from './fetch.js';
import type { HydrationJob } from './job.js';
import { synced } from './merge.js';

export interface AttemptDeps {
  store: Store;
  client: OutboundClient;
  metrics: Metrics;
  log: Logger;
  /** Who holds the leases of this process. */
  holder: string;
  /** The process is stopping: a fetch cut off by it is given back, not counted. */
  stopping(): boolean;
}

type Final = 'delivered' | 'failed' | 'dead_letter';
type Retry = HydrationSpec['retry'];
/** How an attempt ends: the job done or parked, or tried again after `waitMs`. */
interface Ending {
  outcome: Final | 'retry_scheduled';
  reason?: string;
  httpStatus?: number;
  waitMs?: number;
  /** The ops that go with it (the document's write). */
  ops?: Op[];
  /** Nothing could ever run it again (its webhook is gone): removed rather than parked for redelivery. */
  drop?: boolean;
}

/** Writes retried when a local write changed the document between its read and ours. */
const WRITE_RETRIES = 5;
const RETRIED_STATUS = new Set([408, 429]);
const RETRIED_ERRORS = new Set(['Timeout', 'ConnectionError']);

export class HydrationAttempt {
  private readonly body: HydrationJob;
  private readonly attempt: number;
  private readonly started = performance.now();
  private record?: number;

  constructor(private readonly deps: AttemptDeps, private readonly job: Job) {
    this.body = JSON.parse(job.body) as HydrationJob;
    this.attempt = job.attempt + 1;
  }

  /** Runs it to its end; false when the lease was lost (another replica has the job). */
  async run(): Promise<boolean> {
    const cfg = await configOf(this.deps.store, this.job);
    if (isProblem(cfg)) return this.settle(this.unconfigured(cfg));
    if (this.body.action === 'delete') return this.settleWith(() => this.deletion(cfg));
    await this.begin();
    const answer = await this.fetch(cfg);
    if ('outcome' in answer && this.deps.stopping()) return this.giveBack();
    if ('outcome' in answer) return this.settle(answer);
    return this.settleWith(() => this.upsert(cfg, answer.record, answer.status));
  }

  /** The `delivering` record: the fetch is under way. */
  private async begin(): Promise<void> {
    const r = await this.deps.store.commit({ origin: 'system', ops: [{ op: 'record', record: this.recordOf('delivering') }] });
    if (!r.held) this.record = r.records?.[0];
  }

  private recordOf(outcome: DeliveryRecord['outcome'], e?: Ending): DeliveryRecord {
    return {
      ts: now(), owner: this.job.owner, outcome, result: String(this.job.id), attempt: this.attempt,
      ...(this.body.eventId ? { eventId: this.body.eventId } : {}),
      ...(e?.reason ? { reason: e.reason } : {}),
      ...(e?.httpStatus !== undefined ? { httpStatus: e.httpStatus } : {}),
      durationMs: +(performance.now() - this.started).toFixed(3),
    };
  }

  /** The record and its JSON, or how the attempt ends without one. */
  private async fetch(cfg: JobConfig): Promise<{ record: JsonObject; status: number } | Ending> {
    const req = await readRequest(cfg.read, this.body.id, (name) => this.deps.store.control.get({ kind: 'Secret', namespace: cfg.namespace, name }));
    const retry = cfg.hydration.retry;
    if ('problem' in req) return this.retryOrDead({ reason: 'SecretNotFound', message: req.problem }, retry);
    let res: OutboundResponse;
    try {
      res = await this.deps.client.send(req);
    } catch (e) {
      if (!(e instanceof OutboundError)) throw e;
      return this.retryOrDead({ reason: e.reason, message: e.message }, retry, RETRIED_ERRORS.has(e.reason));
    }
    const status = res.status;
    if (status === 404) return { outcome: 'failed', reason: 'NotFound: the source has no such record', httpStatus: status };
    if (status < 200 || status >= 300) {
      const retryable = status >= 500 || RETRIED_STATUS.has(status);
      return this.retryOrDead({ reason: `HTTP ${status}`, message: `the source answered ${status}` }, retry, retryable, status, retryAfterMs(res.headers['retry-after'], Date.now()));
    }
    let record: unknown;
    try {
      record = JSON.parse(res.body.toString('utf8'));
    } catch {
      return { outcome: 'failed', reason: 'InvalidResponse: the source answered with no JSON', httpStatus: status };
    }
    if (!isObject(record)) return { outcome: 'failed', reason: 'InvalidResponse: the source answered with no JSON object', httpStatus: status };
    return { record, status };
  }

  private retryOrDead(p: { reason: string; message: string }, retry: Retry, retryable = true, httpStatus?: number, waitMs?: number): Ending {
    const reason = `${p.reason}: ${p.message}`;
    if (!retryable || this.attempt >= retry.max_attempts) return { outcome: 'dead_letter', reason, ...(httpStatus !== undefined ? { httpStatus } : {}) };
    return { outcome: 'retry_scheduled', reason, waitMs: waitMs ?? backoffMs(retry.backoff_seconds, this.attempt), ...(httpStatus !== undefined ? { httpStatus } : {}) };
  }

  private unconfigured(p: ConfigProblem): Ending {
    if (p.final) return { outcome: 'failed', reason: `${p.reason}: ${p.message}`, drop: true };
    // Without its webhook's spec at hand, the defaults: the configuration may be fixed meanwhile.
    return this.retryOrDead(p, { max_attempts: 5, backoff_seconds: HYDRATION_BACKOFF_SECONDS });
  }

  /** The fetched record as the document: mapped, merged or not, validated. */
  private async upsert(cfg: JobConfig, external: JsonObject, status: number): Promise<Ending> {
    let record: JsonObject;
    try {
      record = cfg.mapping ? cfg.mapping.toNative(external) : external;
    } catch (e) {
      if (!(e instanceof MappingError)) throw e;
      return { outcome: 'failed', reason: `MappingFailed: ${e.message}`, httpStatus: status };
    }
    const c = cfg.collection;
    const cur = await this.deps.store.data.getDocument(c.ref.uid, this.body.id);
    const live = cur && !cur.meta.deletedAt ? cur : undefined;
    const next = synced(record, live?.data ? { data: live.data as JsonObject, syncedFields: live.meta.syncedFields } : undefined, cfg.hydration.merge);
    const precondition = live ? { expectVersion: live.meta.version } : { ifAbsent: true };
    try {
      const op = putOp(c, this.body.id, { data: next.data }, { origin: 'inbound_webhook', externalId: this.body.id, ...(this.body.eventType ? { eventType: this.body.eventType } : {}) }, { ...precondition, syncedFields: next.syncedFields });
      return { outcome: 'delivered', httpStatus: status, ops: [op] };
    } catch (e) {
      if (!(e instanceof ApiError) || e.reason !== 'Invalid') throw e;
      return { outcome: 'failed', reason: `SchemaViolation: ${e.message}`, httpStatus: status };
    }
  }

  private async deletion(cfg: JobConfig): Promise<Ending> {
    const c = cfg.collection;
    const cur: StoredDocument | undefined = await this.deps.store.data.getDocument(c.ref.uid, this.body.id);
    if (!cur || cur.meta.deletedAt) return { outcome: 'delivered', reason: 'no document to delete' };
    return { outcome: 'delivered', ops: [{ op: 'deleteDocument', collection: c.ref, id: this.body.id, origin: 'inbound_webhook', now: now(), expectVersion: cur.meta.version }] };
  }

  /** Settles what `decide` makes of the document as it is now, again when a local write moved it meanwhile. */
  private async settleWith(decide: () => Promise<Ending>): Promise<boolean> {
    for (let i = 0; ; i++) {
      const e = await decide();
      try {
        return await this.settle(e);
      } catch (err) {
        const raced = err instanceof ApiError && (err.reason === 'PreconditionFailed' || err.reason === 'AlreadyExists' || err.reason === 'NotFound');
        if (!raced || i >= WRITE_RETRIES) throw err;
      }
    }
  }

  /** The job due again at once with its attempt uncounted, for the next process to lease. */
  private async giveBack(): Promise<boolean> {
    const reason = 'Interrupted: orlojd stopped during the fetch; it runs again without counting';
    const ops: Op[] = [{ op: 'settleJob', id: this.job.id, holder: this.deps.holder, dueAt: Date.now() }];
    if (this.record !== undefined) ops.push({ op: 'recordUpdate', id: this.record, set: { outcome: 'retry_scheduled', reason } });
    await this.deps.store.commit({ origin: 'system', ops });
    return true;
  }

  /** The outcome, the job's settle (under the lease) and the record, in one unit. */
  private async settle(e: Ending): Promise<boolean> {
    const { id } = this.job;
    const holder = this.deps.holder;
    const settle: Op =
      e.outcome === 'delivered' || e.drop ? { op: 'settleJob', id, holder, done: true }
      : e.outcome === 'retry_scheduled' ? { op: 'settleJob', id, holder, attempt: this.attempt, dueAt: Date.now() + (e.waitMs ?? 0) }
      : { op: 'settleJob', id, holder, attempt: this.attempt, dueAt: null };
    const record = this.recordOf(e.outcome, e);
    const recordOp: Op = this.record !== undefined
      ? { op: 'recordUpdate', id: this.record, set: { outcome: e.outcome, reason: record.reason, httpStatus: record.httpStatus, durationMs: record.durationMs } }
      : { op: 'record', record };
    try {
      await this.deps.store.commit({ origin: 'system', ops: [settle, ...(e.ops ?? []), recordOp] });
      this.deps.metrics.hydrationAttempts.labels(this.job.owner.slice(this.job.owner.indexOf('/') + 1), e.outcome).inc();
      return true;
    } catch (err) {
      // The only Conflict of this unit: its settle found the lease gone.
      if (err instanceof ApiError && err.reason === 'Conflict') {
        this.deps.log.warn({ job: id }, 'hydration job lease lost: another replica runs it');
        return false;
      }
      throw err;
    }
  }
}
