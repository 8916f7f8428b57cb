// Delivery records as drivers store them: the same columns in every driver.
import type { DeliveryRecord, DeliveryWatchFilter } from './types.js';

export interface RecordRow {
  id: number;
  ts: string;
  owner: string;
  event_id: string | null;
  outcome: DeliveryRecord['outcome'];
  reason: string | null;
  http_status: number | null;
  duration_ms: number | null;
  result: string | null;
  attempt: number | null;
  response: string | null;
  /** 1 (SQLite) or true (PostgreSQL) for a test delivery, else null. */
  test: number | boolean | null;
}

export function toRecord(r: RecordRow): DeliveryRecord {
  return {
    id: r.id,
    ts: r.ts,
    owner: r.owner,
    outcome: r.outcome,
    ...(r.event_id !== null ? { eventId: r.event_id } : {}),
    ...(r.reason !== null ? { reason: r.reason } : {}),
    ...(r.http_status !== null ? { httpStatus: r.http_status } : {}),
    ...(r.duration_ms !== null ? { durationMs: r.duration_ms } : {}),
    ...(r.result !== null ? { result: r.result } : {}),
    ...(r.attempt !== null ? { attempt: r.attempt } : {}),
    ...(r.response !== null ? { response: r.response } : {}),
    ...(r.test ? { test: true } : {}),
  };
}

export interface RecordWatcher {
  filter: DeliveryWatchFilter;
  onRecord: (r: DeliveryRecord) => void;
  /** The newest record id given. */
  cursor: number;
  live: boolean;
}

/** Records read per page of a replay. */
export const RECORD_PAGE = 500;
export const RECORD_COLUMNS = 'id, ts, owner, event_id, outcome, reason, http_status, duration_ms, result, attempt, response, test';

export const recordMatches = (f: DeliveryWatchFilter, r: DeliveryRecord): boolean =>
  (!f.owner || f.owner === r.owner) && (!f.namespace || f.namespace === r.owner.split('/')[1]);
