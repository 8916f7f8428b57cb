// What crosses between the main thread and the writer thread: one JSON string per request
// (a string is copied; an object graph would be walked value by value). Objects travel as
// themselves, so each value is serialized once, and the writer thread, which has time to
// spare, turns them into the stored JSON columns.
import type { ResourceRow } from './rows.js';

/** A resource row as written. */
export interface WireRow {
  kind: string;
  namespace: string;
  name: string;
  uid: string;
  generation: number;
  created: string;
  labels: Record<string, string> | null;
  annotations: Record<string, string> | null;
  spec: object;
  status: object;
  endpoint: string | null;
}

export interface WireKey {
  kind: string;
  namespace: string;
  name: string;
}

export type WireOp =
  | { o: 'create'; row: WireRow; unique: boolean }
  | { o: 'update'; row: WireRow; expect: number }
  | { o: 'status'; key: WireKey; status: object; merge: boolean; expect: number; uid: string | null }
  | { o: 'delete'; key: WireKey; expect: number }
  | { o: 'exists'; key: WireKey }
  | { o: 'empty'; namespace: string; kinds: string[] }
  | { o: 'claim'; scope: string; key: string; expiresAt: number; nowMs: number; result: string | null }
  | { o: 'count'; scope: string; names: string[]; deltas: number[] }
  | { o: 'record'; r: WireRecord }
  | { o: 'event'; key: WireKey; type: string; reason: string; message: string };

export interface WireRecord {
  ts: string;
  owner: string;
  namespace: string;
  eventId: string | null;
  outcome: string;
  reason: string | null;
  httpStatus: number | null;
  durationMs: number | null;
  result: string | null;
}

export interface WireUnit {
  origin: string;
  ops: WireOp[];
}

export interface WireMaintenance {
  compactTo: number;
  claimsBefore: number;
  keepRecords: number;
  chunk: number;
}

export interface WireRequest {
  id: number;
  units: WireUnit[];
  maintenance?: WireMaintenance;
}

/**
 * What one op wrote: its revision, the name it took (create), and the stored row where the
 * main thread does not know the result (status writes, and the deleted object).
 */
export type WireOpResult = null | { rv: number; name?: string; row?: ResourceRow };

/** The failure of one unit, as an ApiError's parts. */
export interface WireError {
  reason: string;
  message: string;
  details?: { kind?: string; name?: string };
}

export type WireUnitResult =
  | { ok: true; ops: WireOpResult[] }
  | { ok: false; held: { result: string; expiresAt: number } }
  | { ok: false; error: WireError };

export interface WireReply {
  id: number;
  results: WireUnitResult[];
  maintained: number;
}

/** One writer transaction, which may serve several requests; `rev` is the store's revision after it. */
export type WireCommit = { rev: number; replies: WireReply[] } | { ids: number[]; error: string };
