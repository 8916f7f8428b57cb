// What crosses between the main thread and the writer thread: plain values, with JSON
// already serialized on the main thread (a string is copied, an object graph cloned).
import type { ResourceRow } from './rows.js';

/** A resource row as written; JSON columns are strings. */
export interface WireRow {
  kind: string;
  namespace: string;
  name: string;
  uid: string;
  generation: number;
  created: string;
  labels: string | null;
  annotations: string | null;
  spec: string;
  status: string;
  endpoint: string | null;
  /** Label keys and values, alternating, for the label index. */
  labelPairs: string[];
}

export interface WireKey {
  kind: string;
  namespace: string;
  name: string;
}

export type WireOp =
  | { o: 'create'; row: WireRow; unique: boolean }
  | { o: 'update'; row: WireRow; expect: number }
  | { o: 'status'; key: WireKey; status: string; merge: boolean; expect: number; uid: string | null }
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
  task: string | null;
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
