// What every driver shows watchers, built from the same change-log and event rows.
import { API_VERSION, type ObjectKey, type StoredResource, type WatchEvent, type WatchEventType, type WriteOrigin } from '../api/types.js';
import { DOCUMENT_KIND, type ChangeEntry, type ObjectEvent, type WatchFilter } from './types.js';

export interface Subscriber {
  filter: WatchFilter;
  onEvent: (e: WatchEvent) => void;
  /** The newest revision this subscriber has been given (or told it has, by a list). */
  cursor: number;
  live: boolean;
}

/** A change-log row, as drivers read it for watchers. */
export interface ChangeRow {
  revision: number;
  kind: string;
  namespace: string;
  name: string;
  uid: string;
  type: WatchEventType;
  origin: WriteOrigin;
  labels: string | null;
}

/** Change-log rows read per page of a replay: bounded memory, and the event loop breathes between pages. */
export const REPLAY_PAGE = 1000;

/** Resource watches; document changes are in the same log but are not resources. */
export const matches = (f: WatchFilter, k: ObjectKey): boolean =>
  (f.kind ? f.kind === k.kind : k.kind !== DOCUMENT_KIND) && (f.namespace === undefined || f.namespace === k.namespace);

export function deliver(s: Subscriber, e: WatchEvent): void {
  s.cursor = e.revision;
  try {
    s.onEvent(e);
  } catch {
    // A failing subscriber must not break publication or other subscribers.
  }
}

/** What a replayed deletion shows: the object's identity and labels (its data is gone). */
export function deletedObject(c: ChangeRow): StoredResource {
  const metadata: StoredResource['metadata'] = {
    name: c.name, namespace: c.namespace, uid: c.uid, resourceVersion: String(c.revision), generation: 0, creationTimestamp: '',
  };
  if (c.labels) metadata.labels = JSON.parse(c.labels) as Record<string, string>;
  return { apiVersion: API_VERSION, kind: c.kind, metadata, spec: {}, status: {} };
}

export const event = (type: WatchEventType, c: ChangeRow, object: StoredResource): WatchEvent => ({
  type, key: { kind: c.kind, namespace: c.namespace, name: c.name }, object, origin: c.origin, revision: c.revision,
});

export interface EventRow {
  kind: string;
  namespace: string;
  name: string;
  type: ObjectEvent['type'];
  reason: string;
  message: string;
  count: number;
  first_ts: string;
  last_ts: string;
}

export const toObjectEvent = (r: EventRow): ObjectEvent => ({
  involvedObject: { kind: r.kind, namespace: r.namespace, name: r.name },
  type: r.type,
  reason: r.reason,
  message: r.message,
  count: r.count,
  firstTimestamp: r.first_ts,
  lastTimestamp: r.last_ts,
});

/** A change-log row with what a reader of the log (the trigger dispatcher) needs too. */
export type LogRow = ChangeRow & { item: string | null; image_after: string | null; image_before: string | null };

export const toChangeEntry = (c: LogRow): ChangeEntry => ({
  revision: c.revision, key: { kind: c.kind, namespace: c.namespace, name: c.name }, uid: c.uid, type: c.type, origin: c.origin, ...(c.item ? { item: c.item } : {}),
  ...(c.image_after ? { after: c.image_after } : {}), ...(c.image_before ? { before: c.image_before } : {}),
});
