// What crosses between the main thread and the delivery writer thread: plain, pre-serialized values.
import type { ResourceRow } from './rows.js';

export interface WireTask {
  kind: string;
  namespace: string;
  /** The name for the first acceptance of the event (see nameForSeq). */
  name: string;
  uid: string;
  generation: number;
  created: string;
  /** Label keys and values, alternating, for the label index. */
  labels: string[];
  labelsJson: string | null;
  annotationsJson: string | null;
  specJson: string;
  statusJson: string;
}

/** A delivery record as stored; `owner` is `Kind/namespace/name`. */
export interface WireRecord {
  ts: string;
  owner: string;
  eventId: string | null;
  outcome: string;
  reason: string | null;
  httpStatus: number | null;
  durationMs: number | null;
  task: string | null;
}

/** A verified delivery: one run task unless its event was accepted within the window. */
export interface WireDelivery {
  ownerUid: string;
  eventId: string;
  expiresAt: number;
  nowMs: number;
  record: WireRecord;
  task?: WireTask;
}

/** Deliveries with nothing to commit of their own (refusals, replays answered from memory): counted and recorded. */
export interface WireNote {
  ownerUid: string;
  outcome: 'duplicate' | 'rejected';
  /** How many deliveries this note stands for: more than one once a flood used up the record budget. */
  count: number;
  /** The newest of them; stored as a delivery record when `keep`, else it only updates the status. */
  record: WireRecord;
  keep: boolean;
}

export interface WirePrune {
  nowMs: number;
  keepRecords: number;
  chunk: number;
}

export interface WireRequest {
  id: number;
  deliveries: WireDelivery[];
  notes: WireNote[];
  /**
   * Every transaction writes the receiver statuses that are due; this writes all that lag
   * (on shutdown). A request with nothing else just gives due statuses a transaction.
   */
  flushStatus: boolean;
  prune?: WirePrune;
}

export type WireResult =
  | { outcome: 'accepted'; task: string; rv: number }
  | { outcome: 'duplicate'; task: string; expiresAt: number }
  | { outcome: 'untasked' }
  /** This delivery alone could not be stored; the rest of its transaction was. */
  | { outcome: 'failed'; error: string };

export interface WireReply {
  id: number;
  results: WireResult[];
  pruned: number;
}

/**
 * One writer transaction, which may serve several requests. `modified` are the receivers
 * whose status it rewrote, in revision order after every task it created.
 */
/** `from` is the store's revision when the transaction began, `rev` when it committed. */
export type WireOutcome = { from: number; rev: number; replies: WireReply[]; modified: ResourceRow[] } | { ids: number[]; error: string };

export type WireCommit = WireOutcome & {
  /** Some receiver's status still lags its committed counters: a flush is due. */
  statusPending: boolean;
};
