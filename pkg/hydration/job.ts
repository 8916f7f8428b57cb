// A hydration job: what a thin notification asks for (fetch record X, or delete it), as the
// receiver commits it with the delivery's dedup claim and the worker reads it back.
import type { HydrationSpec } from '../api/kinds/inbound-webhook.js';
import type { StoredResource } from '../api/types.js';
import { idProblem } from '../documents/documents.js';
import { getPath, type JsonObject } from '../mapping/paths.js';
import type { AddJobOp } from '../store/types.js';

export const HYDRATION_QUEUE = 'hydration';

export type HydrationAction = 'upsert' | 'delete';

export interface HydrationJob {
  /** The record's id upstream, which is also the document's id. */
  id: string;
  action: HydrationAction;
  eventId?: string;
  eventType?: string;
}

/** Why a notification names no usable record; `message` goes to the sender, `detail` to lastError. */
export class NotificationProblem extends Error {
  constructor(message: string, readonly detail: string) {
    super(message);
  }
}

/** The record id at `id_path` (a number as its decimal string) and the action its event maps to. */
export function readNotification(h: HydrationSpec, payload: JsonObject): { id: string; action: HydrationAction } {
  const v = getPath(payload, h.id_path);
  const id = typeof v === 'string' ? v : typeof v === 'number' && Number.isFinite(v) ? String(v) : undefined;
  if (id === undefined) {
    const why = v === undefined || v === null ? 'is missing' : 'is not a string or a number';
    throw new NotificationProblem('missing record id', `hydration: the record id at "${h.id_path}" ${why}`);
  }
  const problem = idProblem(id);
  if (problem) throw new NotificationProblem('invalid record id', `hydration: the record id at "${h.id_path}" ${problem}`);
  const event = h.event_path ? getPath(payload, h.event_path) : undefined;
  const action = typeof event === 'string' && h.event_map?.[event] === 'delete' ? 'delete' : 'upsert';
  return { id, action };
}

/** Jobs for one document never run at once: their key is the collection's uid and the record id. */
export const jobKey = (collectionUid: string, id: string): string => `${collectionUid}/${id}`;

export function addJobOp(w: StoredResource, owner: string, collectionUid: string, job: HydrationJob, nowMs: number): AddJobOp {
  return {
    op: 'addJob',
    job: { queue: HYDRATION_QUEUE, key: jobKey(collectionUid, job.id), owner, ownerUid: w.metadata.uid, body: JSON.stringify(job), dueAt: nowMs },
  };
}

/** Tells this process's worker that a job was just committed, so it need not wait for its next poll. */
let wake: () => void = () => {};
export const onJobAdded = (fn: () => void): void => void (wake = fn);
export const jobAdded = (): void => wake();
