// Jobs as drivers store them, and the one rule of leasing them, the same in every driver.
import { ApiError } from '../api/errors.js';
import type { Job } from './types.js';

export const JOB_COLUMNS = 'id, queue, key, owner, owner_uid AS "ownerUid", body, attempt, due_at AS "dueAt"';

/** How many due jobs a lease reads per job it wants: some are passed over for a key already taken. */
export const LEASE_READ_FACTOR = 4;

/**
 * Which of the due jobs (in due order) a lease takes: at most one per key, none whose key
 * another lease holds, at most `limit`.
 */
export function pickLeases<T extends Pick<Job, 'id' | 'key'>>(due: T[], limit: number, held: (key: string) => boolean): T[] {
  const out: T[] = [];
  const seen = new Set<string>();
  for (const j of due) {
    if (out.length >= limit) break;
    if (seen.has(j.key)) continue;
    seen.add(j.key);
    if (!held(j.key)) out.push(j);
  }
  return out;
}

/** A settle whose lease lapsed (another replica may run the job now): its result must not be written. */
export const leaseLost = (id: number): ApiError => new ApiError('Conflict', `job ${id}: its lease was lost`);

/** Rows come back with BIGINTs as numbers in every driver, but SQLite has no quoted aliases in its output names. */
export const numbersOf = (j: Job): Job => ({ ...j, id: Number(j.id), attempt: Number(j.attempt), dueAt: j.dueAt === null ? null : Number(j.dueAt) });
