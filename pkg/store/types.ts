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

export interface BufferedCounts {
  duplicate: number;
  rejected: number;
}

export interface ReceiverCounts {
  ownerUid: string;
  accepted: number;
  duplicate: number;
  rejected: number;
}

/** Delivery-side storage: dedup, run tasks, records and counters, committed together. */
export interface DeliveryStore {
  /** One transaction for the whole batch: dedup rows, run tasks, records and counters. */
  commitTaskDeliveries(items: TaskDelivery[]): Promise<TaskDeliveryResult[]>;
  /**
   * The task of an event already accepted within its window, if any: a replay is
   * answered from this read alone.
   */
  findDuplicate(ownerUid: string, eventId: string, nowMs: number): Promise<string | undefined>;
  /**
   * Records and counts what needs no commit of its own (rejections, replays) in one write;
   * records may be fewer than counted under a flood.
   */
  recordBuffered(records: DeliveryRecord[], counts: Map<string, BufferedCounts>): Promise<void>;
  counts(ownerUid: string): Promise<ReceiverCounts>;
  listDeliveries(q: DeliveryQuery): Promise<DeliveryRecord[]>;
  /**
   * Drops up to `chunk` expired dedup rows and up to `chunk` records beyond the newest
   * `keepRecords`; returns how many went. Small chunks keep each write short.
   */
  prune(nowMs: number, keepRecords: number, chunk: number): Promise<number>;
  close(): Promise<void>;
}
