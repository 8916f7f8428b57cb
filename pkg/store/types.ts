// The store's contracts. A driver (SQLite today) implements ControlPlaneStore and
// DataPlaneStore; every write of either goes through `commit(unit)`, the one write
// primitive. Product rules (dedup windows, object names, which status fields mirror which
// counters) live above the drivers, in the kind and receiver code.
import type { Requirement } from '../api/selector.js';
import type { ObjectKey, OwnerReference, Status, StoredResource, WatchEvent, WatchEventType, WriteOrigin } from '../api/types.js';

// ---------------------------------------------------------------------------------------
// Units of work

/** Creates an object; fails AlreadyExists when the name is taken, unless `uniqueName`. */
export interface CreateOp {
  op: 'create';
  object: StoredResource;
  /** Takes the first free name of `name`, `name-2`, `name-3`, ... instead of failing. */
  uniqueName?: boolean;
  /** Keeps the object as written in its change-log row (see ChangeEntry.after). */
  image?: boolean;
}

/** Replaces metadata and spec (and status) of an object at `expect`, its current resourceVersion. */
export interface UpdateOp {
  op: 'update';
  object: StoredResource;
  expect: string;
  /** Keeps the object before and after in its change-log row. */
  image?: boolean;
}

/** Writes status only; `merge` applies it as a JSON merge patch. An unchanged status writes nothing. */
export interface StatusOp {
  op: 'status';
  key: ObjectKey;
  status: Status;
  merge?: boolean;
  /** Fails Conflict unless the object is at this resourceVersion. */
  expect?: string;
  /** Skips the write (no error) unless the object has this uid: a re-created name is another object. */
  uid?: string;
}

export interface DeleteOp {
  op: 'delete';
  key: ObjectKey;
  expect?: string;
  /** Keeps the deleted object in its change-log row (ChangeEntry.before). */
  image?: boolean;
}

/**
 * Deletes many objects of one kind and namespace in one op: each that still exists with the
 * uid given; the others are skipped, never an error. Each deletion takes a revision and a
 * change-log row as a delete does, but nothing reads the objects first: watchers see each go
 * as a replayed deletion shows it (identity and labels), and the unit's `deleted` names them.
 */
export interface DeleteManyOp {
  op: 'deleteMany';
  kind: string;
  namespace: string;
  objects: Array<{ name: string; uid: string }>;
}

/** Fails the unit unless the object exists (e.g. the namespace of what it creates). */
export interface ExistsOp {
  op: 'exists';
  key: ObjectKey;
}

/** Fails the unit unless the namespace holds no objects. */
export interface EmptyOp {
  op: 'empty';
  namespace: string;
}

/**
 * An idempotency key. The first unit to claim `key` in `scope` commits and the claim
 * remembers what it created (the first created object's name, or `result`); until
 * `expiresAt`, a later unit claiming it commits nothing else and is answered `held`
 * with that result. Claims are the unit's first ops; a unit with several (an event id and
 * a signature) is held when any one of them is, by the first held in op order.
 */
export interface ClaimOp {
  op: 'claim';
  scope: string;
  key: string;
  expiresAt: number;
  nowMs: number;
  result?: string;
  /**
   * The claim expires within minutes and its key is random (a signature under a timestamp
   * that is refused once out of skew): a driver may keep such claims in memory beside a log
   * it reads back on start, rather than index them. Only units see them, not `claim()`.
   */
  brief?: boolean;
}

/** Adds to named counters of a scope (e.g. a receiver's accepted/duplicate/rejected). */
export interface CountOp {
  op: 'count';
  scope: string;
  deltas: Record<string, number>;
}

/** A delivery record; committed with a unit that creates an object, it names it (`result`) unless set. */
export interface RecordOp {
  op: 'record';
  record: DeliveryRecord;
}

/** Finishes a record written before its outcome was known (an outbound attempt, `delivering` until answered). */
export interface RecordUpdateOp {
  op: 'recordUpdate';
  id: number;
  set: Pick<DeliveryRecord, 'outcome' | 'reason' | 'httpStatus' | 'durationMs' | 'response'>;
}

/** Keeps only the newest `keep` rejected records of `owner`: refusals are bounded per owner (a flood leaves nothing lasting). */
export interface TrimOp {
  op: 'trim';
  owner: string;
  outcome: 'rejected';
  keep: number;
}

export interface EventOp {
  op: 'event';
  key: ObjectKey;
  type: EventType;
  reason: string;
  message: string;
}

// ---------------------------------------------------------------------------------------
// Documents: data-plane objects of a collection, keyed by the collection's uid (a
// re-created collection of the same name starts empty). Every write appends to the change
// log under kind DOCUMENT_KIND with the document's origin.

export const DOCUMENT_KIND = 'Document';

/** The counter (scope: the collection's uid) that drivers keep at its number of live documents. */
export const DOCUMENT_COUNTER = 'documents';

/** Who last wrote a document (SPEC §3): the API, a receiver, a hook-marked API write, a trigger. */
export type DocumentOrigin = 'api' | 'inbound_webhook' | 'hook' | 'trigger';

export interface CollectionRef {
  uid: string;
  namespace: string;
  name: string;
}

/** A JSON object, or opaque bytes (base64) with their content type. */
export type DocumentBody = { data: Record<string, unknown> } | { raw: string; contentType: string };

/**
 * Writes a document: creates it, or replaces the body of the existing one (a deleted one
 * comes back). `version` grows by one per write; createdAt stays.
 */
export interface PutDocumentOp {
  op: 'putDocument';
  collection: CollectionRef;
  id: string;
  body: DocumentBody;
  origin: DocumentOrigin;
  externalId?: string;
  eventType?: string;
  /** ISO timestamp of the write. */
  now: string;
  /** Fails AlreadyExists when a live document has this id. */
  ifAbsent?: boolean;
  /** Fails PreconditionFailed unless the live document is at this version. */
  expectVersion?: number;
  /** Keeps the document before and after in its change-log row. */
  image?: boolean;
  /** The fields a sync from the upstream wrote (meta.syncedFields). */
  syncedFields?: string[];
}

/** Soft-deletes a live document (meta.deletedAt); NotFound when there is none. */
export interface DeleteDocumentOp {
  op: 'deleteDocument';
  collection: CollectionRef;
  id: string;
  origin: DocumentOrigin;
  now: string;
  expectVersion?: number;
  /** Keeps the document before and after in its change-log row. */
  image?: boolean;
}

/** Fails the unit (Conflict) while the collection holds live documents. */
export interface NoDocumentsOp {
  op: 'noDocuments';
  collection: CollectionRef;
}

// ---------------------------------------------------------------------------------------
// Queued messages: durable work for a sender (outbound deliveries), with a due time. The
// store keeps them; what they mean and when they are due is decided above it.

export interface DueQuery {
  /** Only those after this one, in due order. */
  after?: { dueAt: number; id: number };
  /** Only these owners' (uids), or none of these owners'. */
  owners?: readonly string[];
  skipOwners?: readonly string[];
}

export interface QueuedMessage {
  /** The store's id (given by enqueue). */
  id: number;
  /** Who sends it, `Kind/namespace/name`, and that object's uid. */
  owner: string;
  ownerUid: string;
  /** The message's own id, the same for every attempt. */
  messageId: string;
  /** The payload and whatever the sender needs with it, as the enqueuer wrote them. */
  body: string;
  meta: string;
  /** Attempts finished in the current chain. */
  attempt: number;
  /** When it is due (ms); null once parked (a dead letter kept for redelivery). */
  dueAt: number | null;
}

/** Adds a message; its id is the op's result (`{ queued: id }`). */
export interface EnqueueOp {
  op: 'enqueue';
  message: Omit<QueuedMessage, 'id' | 'attempt'>;
}

/** Sets a message's attempt count and due time (null parks it); `done` removes it. Absent messages are skipped. */
export interface SettleOp {
  op: 'settle';
  id: number;
  attempt?: number;
  dueAt?: number | null;
  done?: boolean;
}

// ---------------------------------------------------------------------------------------
// Jobs: durable work that any replica may run. A job is leased before it runs, so it runs on
// one replica at a time; jobs sharing a key are never leased at once. A lease that is not
// renewed lapses, and the job is due again for whoever leases next.

export interface Job {
  /** The store's id (given by addJob), never reused. */
  id: number;
  /** Which worker runs it (e.g. `hydration`). */
  queue: string;
  /** Jobs with the same key never run at once (e.g. one document's). */
  key: string;
  /** Who it is for, `Kind/namespace/name`, and that object's uid. */
  owner: string;
  ownerUid: string;
  body: string;
  /** Attempts finished in the current chain. */
  attempt: number;
  /** When it is due (ms); null once parked (kept for redelivery). */
  dueAt: number | null;
}

/** How many of something an owner (`Kind/namespace/name`, and its uid) has. */
export interface OwnerCount {
  owner: string;
  ownerUid: string;
  count: number;
}

/** Adds a job; its id is the op's result (`jobs` of the unit's result), and what the unit created for its claims and records. */
export interface AddJobOp {
  op: 'addJob';
  job: Omit<Job, 'id' | 'attempt'>;
}

/**
 * Leases up to `limit` due jobs of `queue` to `holder` until `untilMs`, oldest due first, at
 * most one per key and none whose key another lease holds. The unit's `leased` lists them.
 */
export interface LeaseJobsOp {
  op: 'leaseJobs';
  queue: string;
  holder: string;
  nowMs: number;
  untilMs: number;
  limit: number;
}

/** Extends the leases `holder` still has on these jobs. */
export interface RenewJobsOp {
  op: 'renewJobs';
  ids: number[];
  holder: string;
  untilMs: number;
}

/**
 * Ends a job's lease: sets its attempt count and due time (null parks it), or removes it
 * (`done`). With `holder`, the unit fails (Conflict) unless that holder still has the lease:
 * a replica whose lease lapsed cannot write its stale result.
 */
export interface SettleJobOp {
  op: 'settleJob';
  id: number;
  holder?: string;
  attempt?: number;
  dueAt?: number | null;
  done?: boolean;
}

/**
 * Appends a change of an object another system keeps (a Kubernetes cluster) to the change
 * log, with the unit's origin: readers of changes() (the trigger dispatcher) see it as they
 * see the store's own. Writes nothing else, and watchers are not shown it.
 */
export interface JournalOp {
  op: 'journal';
  key: ObjectKey;
  uid: string;
  type: WatchEventType;
  labels?: Record<string, string>;
  /** As ChangeEntry.after and before. */
  after?: string;
  before?: string;
}

/** Stores a named position (e.g. how far a reader of the change log got). */
export interface CursorOp {
  op: 'cursor';
  name: string;
  value: number;
}

export type Op =
  | CreateOp | UpdateOp | StatusOp | DeleteOp | DeleteManyOp | ExistsOp | EmptyOp | ClaimOp | CountOp | RecordOp | TrimOp | EventOp
  | PutDocumentOp | DeleteDocumentOp | NoDocumentsOp | EnqueueOp | SettleOp | CursorOp | RecordUpdateOp
  | AddJobOp | LeaseJobsOp | RenewJobsOp | SettleJobOp | JournalOp;

export interface Unit {
  origin: WriteOrigin;
  ops: Op[];
}

/** An object a unit wrote, as stored; `object` is built on first read. */
export interface WriteResult {
  readonly name: string;
  readonly resourceVersion: string;
  readonly object: StoredResource;
}

/** A document a unit wrote. */
export interface DocumentWrite {
  /** The document's id. */
  readonly name: string;
  readonly resourceVersion: string;
  readonly version: number;
  readonly type: 'ADDED' | 'MODIFIED' | 'DELETED';
}

export type UnitResult =
  /** `writes[i]` is what op i wrote (undefined for ops that write no object, or wrote nothing); `deleted`, what deleteMany ops deleted. */
  | { held: false; writes: Array<WriteResult | DocumentWrite | undefined>; records?: number[]; queued?: number[]; jobs?: number[]; leased?: Job[]; deleted?: string[] }
  /** A claim of the unit (op `op`) was held by an earlier unit: nothing was written. */
  | { held: true; result: string; expiresAt: number; op: number };

/** Store maintenance, written through the same writer as units. */
export interface Maintenance {
  /** Drops change-log entries at or below this revision: a watch from before then gets 410 Gone. */
  compactTo?: number;
  /** Expired claims older than this. */
  claimsBefore?: number;
  /** Delivery records beyond the newest `keepRecords` (counted, whatever gaps trimming left in their ids). */
  keepRecords?: number;
  /** Every document of these collections (uids of deleted collections). */
  dropDocuments?: string[];
  /** At most this many rows of each, so one write stays short. */
  chunk: number;
  /**
   * Rewrites the store's files from the live rows alone, so that no free page or old log
   * frame keeps a copy of what was replaced: after Secrets stored in plain text (or sealed
   * with a retired key) were sealed again. Counts 1 when done.
   */
  purge?: boolean;
}

// ---------------------------------------------------------------------------------------
// Reads

export interface ListOptions {
  /** undefined lists every namespace. */
  namespace?: string;
  labelSelector?: Requirement[];
  limit?: number;
  continue?: string;
}

/** Names of one kind in one namespace strictly between `after` and `before`, in byte order. */
export interface NameRange {
  kind: string;
  namespace: string;
  after: string;
  before: string;
}

/** An object found by a name scan: who it is and whose, without its spec. */
export interface NamedObject {
  name: string;
  uid: string;
  labels?: Record<string, string>;
  ownerReferences?: OwnerReference[];
  /** Only when the scan asked for it. */
  status?: Status;
}

export interface ListResult {
  items: StoredResource[];
  resourceVersion: string;
  continue?: string;
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

/** One mutation in the change log. */
export interface ChangeEntry {
  revision: number;
  key: ObjectKey;
  uid: string;
  type: WatchEvent['type'];
  origin: WriteOrigin | DocumentOrigin;
  /** A document change: the document's id (key names its collection). */
  item?: string;
  /**
   * Kept only for ops written with `image`: the object or document (JSON, as StoredResource or
   * StoredDocument) after the change, and before it (updates and deletes).
   */
  after?: string;
  before?: string;
}

export type BeforePage = () => Promise<boolean | void> | boolean | void;

/** Resources: objects, their change log and indexes. */
export interface ControlPlaneStore {
  get(key: ObjectKey): Promise<StoredResource | undefined>;
  list(kind: string, opts?: ListOptions): Promise<ListResult>;
  findByEndpointId(endpointId: string): Promise<StoredResource | undefined>;
  /**
   * Replays the change log after `since` (410 Gone when compacted away) in pages, then
   * streams committed changes. Resolves once subscribed; `onEvent` may be called before.
   * `beforePage` is awaited between replayed pages: a slow consumer holds the replay back,
   * and `false` (the consumer went away) ends the watch.
   */
  watch(filter: WatchFilter, since: string | undefined, onEvent: (e: WatchEvent) => void, beforePage?: BeforePage): Promise<() => void>;
  /** The newest revision published to watchers. */
  revision(): string;
  /** Change-log entries after `after`, oldest first, up to the published revision (410 Gone when compacted away). */
  changes(after: number, limit: number): Promise<ChangeEntry[]>;
  /** Calls `fn` with each newly published revision (any commit, documents and deliveries included). */
  onRevision(fn: (rev: number) => void): () => void;
  listEvents(key: Partial<ObjectKey>, limit?: number): Promise<ObjectEvent[]>;
  /** How many objects the range holds, counted on the key index alone (no object is read). */
  countNames(range: NameRange): Promise<number>;
  /** The first `limit` objects of the range in name order, with their status when `status` is set. */
  scanNames(range: NameRange, limit: number, opts?: { status?: boolean }): Promise<NamedObject[]>;
  /**
   * Objects not stored as a write would store them now: a sensitive kind's body in plain
   * text or sealed with a key that is no longer the primary. Rewritten through commit(),
   * they are sealed with the primary key (see pkg/store/reseal.ts).
   */
  stale(): Promise<StoredResource[]>;
}

export type DeliveryOutcome =
  | 'accepted' | 'duplicate' | 'rejected' | 'queued' | 'delivering' | 'delivered' | 'retry_scheduled' | 'failed' | 'dead_letter';

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
  /** What the delivery created or found (a run task's name, a document's id; an attempt's queued message). */
  result?: string;
  /** An outbound attempt's number in its chain (1, 2, ...). */
  attempt?: number;
  /** The start of the answer to an outbound attempt. */
  response?: string;
  /** A test delivery the server signed itself (POST /v1/{plural}/{name}/test-delivery); absent on every other record. */
  test?: boolean;
}

export interface DeliveryQuery {
  owner?: string;
  /** Only this event's records (an owner's records of one event: a delivery, its duplicates, its attempts). */
  eventId?: string;
  namespace?: string;
  outcome?: string;
  limit?: number;
  /** Only records with an id below this (paging backwards from the newest). */
  before?: number;
  /** Only records with an id above this, oldest first (reading on from the newest seen). */
  after?: number;
}

export interface DeliveryWatchFilter {
  owner?: string;
  namespace?: string;
}

/** Data: claims, counters, delivery records, documents (later queues). */
export interface DataPlaneStore extends DocumentStore {
  /**
   * Replays the records after id `since` (all kept ones for 0) in pages, then streams
   * committed ones. Resolves once subscribed.
   */
  watchDeliveries(filter: DeliveryWatchFilter, since: number | undefined, onRecord: (r: DeliveryRecord) => void): Promise<() => void>;
  listDeliveries(q: DeliveryQuery): Promise<DeliveryRecord[]>;
  /** The unexpired claim of `key` in `scope`, if any (brief claims are not read here). */
  claim(scope: string, key: string, nowMs: number): Promise<{ result: string; expiresAt: number } | undefined>;
  /** Every counter of each scope asked for (missing scopes are absent). */
  counters(scopes: string[]): Promise<Map<string, Record<string, number>>>;
  getDelivery(id: number): Promise<DeliveryRecord | undefined>;
  /** Queued messages due at or before `dueBy` (parked ones never), oldest due first. */
  dueMessages(dueBy: number, limit: number, opts?: DueQuery): Promise<QueuedMessage[]>;
  message(id: number): Promise<QueuedMessage | undefined>;
  job(id: number): Promise<Job | undefined>;
  /** When the next job of `queue` that no live lease holds is due (ms), if any is. */
  nextJobDue(queue: string, nowMs: number): Promise<number | undefined>;
  /** Queued messages not parked (due now or later), by owner uid: what a queue-depth gauge shows. */
  queueDepths(): Promise<Map<string, number>>;
  /** Jobs of `queue` not parked (leased ones included), by owner. */
  jobDepths(queue: string): Promise<OwnerCount[]>;
  /** A position stored with a cursor op. */
  cursor(name: string): Promise<number | undefined>;
}

export interface StoredDocument {
  id: string;
  /** null for a raw document. */
  data: Record<string, unknown> | null;
  /** A raw document's bytes, base64. */
  raw?: string;
  meta: {
    origin: DocumentOrigin;
    externalId?: string;
    version: number;
    eventType?: string;
    contentType?: string;
    createdAt: string;
    updatedAt: string;
    deletedAt?: string;
    /** The fields the last sync from its upstream wrote (hydration): a merge owns these. */
    syncedFields?: string[];
    /** The store revision of its last write. */
    revision: number;
  };
}

export interface DocumentQuery {
  /** Equality on top-level fields; a value matches a string or the JSON scalar it spells. */
  where?: Record<string, string>;
  includeDeleted?: boolean;
  limit: number;
  /** Ids after this one (the continue token's content). */
  after?: string;
}

/** Documents of collections. */
export interface DocumentStore {
  getDocument(collectionUid: string, id: string): Promise<StoredDocument | undefined>;
  listDocuments(collectionUid: string, q: DocumentQuery): Promise<{ items: StoredDocument[]; more: boolean }>;
  /** Uids of the collections that hold documents (live or deleted). */
  documentScopes(): Promise<string[]>;
}

/** Decides where what must run once runs (reconcilers, pruning). */
export interface Elector {
  isLeader(): boolean;
  /** Calls `fn` whenever leadership changes (true: this process leads now). */
  onChange(fn: (leader: boolean) => void): () => void;
  close(): Promise<void>;
}

/** Values every replica of a shared store agrees on: the first one kept wins. */
export interface SharedSettings {
  /** Keeps `value` under `key` unless a value is kept there already; returns the kept one. */
  setOnce(key: string, value: string): Promise<string>;
  put(key: string, value: string): Promise<void>;
}

/** One store: both planes and their single write path. */
export interface Store {
  readonly control: ControlPlaneStore;
  readonly data: DataPlaneStore;
  readonly elector: Elector;
  /** Only a store several processes share has them. */
  readonly shared?: SharedSettings;
  /** Commits a unit of work atomically; resolves after the commit, once watchers have it. */
  commit(unit: Unit): Promise<UnitResult>;
  /**
   * True while a unit of another origin than `delivery` may be committed without its watch
   * events published yet: a read can then see what no watch has shown (e.g. a new endpoint ID).
   */
  unpublished(): boolean;
  maintain(m: Maintenance): Promise<number>;
  /** Idempotent: a second call waits for the first. */
  close(): Promise<void>;
}

