import type { Requirement } from '../api/selector.js';
import type { ObjectKey, Resource, Status, StoredResource, WatchEvent } from '../api/types.js';

export interface ListOptions {
  /** undefined lists every namespace. */
  namespace?: string;
  labelSelector?: Requirement[];
  limit?: number;
  continue?: string;
}

export interface ListResult {
  items: StoredResource[];
  resourceVersion: string;
  continue?: string;
}

export type ApplyOutcome = 'created' | 'configured' | 'unchanged';

export interface WriteOptions {
  dryRun?: boolean;
  /** Fail with 409 AlreadyExists instead of updating. */
  createOnly?: boolean;
}

export interface Precondition {
  resourceVersion?: string;
}

export interface WatchFilter {
  kind?: string;
  namespace?: string;
}

export type EventType = 'Normal' | 'Warning';

export interface ObjectEvent {
  involvedObject: ObjectKey;
  type: EventType;
  reason: string;
  message: string;
  count: number;
  firstTimestamp: string;
  lastTimestamp: string;
}

/** The resource store. Every write bumps one store-wide revision (the resourceVersion). */
export interface ResourceStore {
  get(kind: string, namespace: string, name: string): Promise<StoredResource | undefined>;
  list(kind: string, opts?: ListOptions): Promise<ListResult>;
  /** Create, or update spec/labels/annotations; an identical object writes nothing. */
  apply(obj: Resource, opts?: WriteOptions): Promise<{ outcome: ApplyOutcome; object: StoredResource }>;
  updateStatus(key: ObjectKey, status: Status, pre?: Precondition): Promise<StoredResource>;
  delete(key: ObjectKey, pre?: Precondition): Promise<StoredResource>;
  findByEndpointId(endpointId: string): Promise<StoredResource | undefined>;
  /**
   * Replays changes after `sinceRevision` (410 Gone when compacted away), then streams
   * live changes. Returns an unsubscribe function.
   */
  watch(filter: WatchFilter, sinceRevision: string | undefined, onEvent: (e: WatchEvent) => void): () => void;
  revision(): string;
  recordEvent(key: ObjectKey, type: EventType, reason: string, message: string): Promise<void>;
  listEvents(key: Partial<ObjectKey>, limit?: number): Promise<ObjectEvent[]>;
  close(): Promise<void>;
}
