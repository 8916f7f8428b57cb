// What crosses from the main thread to the delivery writer thread: plain, pre-serialized values.

export interface WireTask {
  kind: string;
  namespace: string;
  /** The name for the first acceptance of the event (see nameForSeq). */
  name: string;
  uid: string;
  generation: number;
  created: string;
  labels: Array<[string, string]>;
  labelsJson: string | null;
  annotationsJson: string | null;
  specJson: string;
  statusJson: string;
}

export interface WireDelivery {
  ownerUid: string;
  eventId: string;
  expiresAt: number;
  nowMs: number;
  record: { ts: string; owner: string; namespace: string; httpStatus: number | null; durationMs: number | null };
  task?: WireTask;
}

export interface WireRequest {
  id: number;
  baseRev: number;
  items: WireDelivery[];
}

export type WireResult = { outcome: 'accepted'; task: string; rv: number } | { outcome: 'duplicate'; task: string } | { outcome: 'untasked' };

export type WireResponse = { id: number; rev: number; results: WireResult[] } | { id: number; error: string };
