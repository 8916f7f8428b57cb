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

export interface StatusPatch {
  key: ObjectKey;
  mutate(current: StoredResource): Status | undefined;
}

/** The resource store. Every write bumps one store-wide revision (the resourceVersion). */
export interface ResourceStore {
  get(kind: string, namespace: string, name: string): Promise<StoredResource | undefined>;
  list(kind: string, opts?: ListOptions): Promise<ListResult>;
  /** Create, or update spec/labels/annotations; an identical object writes nothing. */
  apply(obj: Resource, opts?: WriteOptions): Promise<{ outcome: ApplyOutcome; object: StoredResource }>;
  updateStatus(key: ObjectKey, status: Status, pre?: Precondition): Promise<StoredResource>;
  /**
   * Rewrites the status of many objects in one transaction (no conflicts inside it);
   * `mutate` returns undefined to leave an object as it is. Missing objects are skipped.
   */
  patchStatuses(patches: StatusPatch[]): Promise<void>;
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

export type DeliveryOutcome =
  | 'accepted' | 'duplicate' | 'rejected' | 'queued' | 'delivering' | 'delivered' | 'retry_scheduled' | 'dead_letter';

/** One inbound delivery or outbound attempt (SPEC §4). */
export interface DeliveryRecord {
  id?: number;
  ts: string;
  /** `Kind/namespace/name` of the receiver or trigger. */
  owner: string;
  eventId?: string;
  outcome: DeliveryOutcome;
  reason?: string;
  httpStatus?: number;
  durationMs?: number;
  task?: string;
}

export interface DeliveryQuery {
  owner?: string;
  namespace?: string;
  outcome?: string;
  limit?: number;
  /** Only records with an id below this (paging backwards from the newest). */
  before?: number;
}

/** A verified delivery that should create one run task unless its event was seen in the window. */
export interface TaskDelivery {
  ownerUid: string;
  eventId: string;
  windowMs: number;
  nowMs: number;
  /**
   * The run task to create, or undefined when none can be made (the template is gone).
   * When a replay after an expired window is accepted again, the store names the n-th
   * task of the event `<name>-<n>`.
   */
  task?: StoredResource;
  record: DeliveryRecord;
}

/** `untasked`: not a duplicate, but no task could be made; nothing was written. */
export type TaskDeliveryResult = { outcome: 'accepted' | 'duplicate'; task: string } | { outcome: 'untasked' };

/** A delivery that has nothing of its own to commit: a refusal, or a replay answered from memory. */
export type NotedDelivery = DeliveryRecord & { outcome: 'duplicate' | 'rejected' };

/**
 * Delivery-side storage: dedup, run tasks, records and receiver counters. Each receiver's
 * status mirrors its counters (acceptedCount, duplicateCount, rejectedCount) and last
 * delivery (lastDeliveryTime, lastEventID, lastTriggeredTask, lastError) less than a
 * second behind; the counters themselves are committed with the deliveries they count.
 */
export interface DeliveryStore {
  /**
   * Commits a verified delivery: its run task, dedup entry, record and count together, or
   * answers duplicate when the event was accepted within its window. Resolves only after
   * the commit; concurrent deliveries share transactions.
   */
  commitTaskDelivery(item: TaskDelivery): Promise<TaskDeliveryResult>;
  /**
   * The task of an event this process already answered as a duplicate, while its window
   * lasts, from memory. Undefined proves nothing: commitTaskDelivery decides.
   */
  recentTask(ownerUid: string, eventId: string, nowMs: number): string | undefined;
  /** Counts and records a delivery in a later batch: a flood of them costs a write per batch, not each. */
  note(ownerUid: string, record: NotedDelivery): void;
  listDeliveries(q: DeliveryQuery): Promise<DeliveryRecord[]>;
  /**
   * Drops up to `chunk` expired dedup rows and up to `chunk` records beyond the newest
   * `keepRecords`; returns how many went. Small chunks keep each write short.
   */
  prune(nowMs: number, keepRecords: number, chunk: number): Promise<number>;
  close(): Promise<void>;
}
