// Redelivery of a parked hydration job (a dead letter, or failed): a new chain of attempts.
import { ApiError } from '../api/errors.js';
import { now } from '../api/meta.js';
import type { DeliveryRecord, Store } from '../store/types.js';
import { jobAdded } from './job.js';

/** Requeues the job a record of it names; the new `queued` record's id. */
export async function redeliverJob(store: Store, id: number, record: DeliveryRecord): Promise<{ id?: number; delivery: string }> {
  const job = record.result && /^\d+$/.test(record.result) ? await store.data.job(Number(record.result)) : undefined;
  if (!job || job.owner !== record.owner) throw new ApiError('Conflict', `delivery ${id}: its hydration job is no longer kept (it was hydrated, or its webhook deleted)`);
  if (job.dueAt !== null) throw new ApiError('Conflict', `delivery ${id}: its hydration job is still running (attempt ${job.attempt + 1} is due)`);
  const r = await store.commit({
    origin: 'api',
    ops: [
      { op: 'settleJob', id: job.id, attempt: 0, dueAt: Date.now() },
      { op: 'record', record: { ts: now(), owner: record.owner, ...(record.eventId ? { eventId: record.eventId } : {}), outcome: 'queued', reason: `redelivery of ${id}`, result: String(job.id) } },
    ],
  });
  jobAdded();
  return { ...(!r.held ? { id: r.records![0] } : {}), delivery: String(job.id) };
}
