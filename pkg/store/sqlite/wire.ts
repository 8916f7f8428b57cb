// What crosses between the main thread and the writer thread: one JSON string per request
// (a string is copied; an object graph would be walked value by value). Units travel as
// the callers made them, so each value is serialized once and nothing is rebuilt for the
// trip; the writer thread, which has time to spare, turns them into rows.
import type { Maintenance, Unit } from '../types.js';
import type { OpResult } from '../results.js';

/** One batch for the writer: the units as the store's callers made them. */
export interface WireRequest {
  id: number;
  units: Unit[];
  maintenance?: Maintenance;
}

/** What one op wrote (see OpResult). */
export type WireOpResult = OpResult;

/** The failure of one unit, as an ApiError's parts. */
export interface WireError {
  reason: string;
  message: string;
  details?: { kind?: string; name?: string };
}

export type WireUnitResult =
  | { ok: true; ops: WireOpResult[] }
  | { ok: false; held: { result: string; expiresAt: number; op: number } }
  | { ok: false; error: WireError };

export interface WireReply {
  id: number;
  results: WireUnitResult[];
  maintained: number;
}

/** One writer transaction, which may serve several requests; `rev` is the store's revision after it, `from` before it. */
export type WireCommit = { from: number; rev: number; replies: WireReply[] } | { ids: number[]; error: string };
