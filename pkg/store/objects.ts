// Resource semantics on top of any store driver, as the Kubernetes API server's registry
// does on top of its storage: create-or-update with generation and resourceVersion rules,
// an identical apply writing nothing, optimistic concurrency, and the admission
// preconditions kinds declare. Drivers only commit units.
import { randomUUID } from 'node:crypto';
import { alreadyExists, ApiError, conflict, notFound } from '../api/errors.js';
import { DEFAULT_NAMESPACE, now } from '../api/meta.js';
import { lookupKind } from '../api/registry.js';
import type { ObjectKey, Resource, Status, StoredResource, WatchEvent, WriteOrigin } from '../api/types.js';
import { deepEqual } from '../util/json.js';
import type { BeforePage, EventType, ListOptions, ListResult, ObjectEvent, Op, Store, WatchFilter } from './types.js';

export type ApplyOutcome = 'created' | 'configured' | 'unchanged';

export interface WriteOptions {
  dryRun?: boolean;
  /** Fail with 409 AlreadyExists instead of updating. */
  createOnly?: boolean;
}

export interface Precondition {
  resourceVersion?: string;
  /** Delete even what a kind's admission would keep (a collection that holds documents). */
  force?: boolean;
}

/** Retries of a write whose read went stale meanwhile (the caller named no resourceVersion). */
const RETRIES = 5;

const isReason = (e: unknown, ...reasons: string[]): boolean => e instanceof ApiError && reasons.includes(e.reason);

/** A resourceVersion a caller names is a revision: a decimal number, or it is a bad request (not a conflict). */
function checkVersion(rv: string | undefined): void {
  if (rv !== undefined && !/^\d{1,16}$/.test(rv)) throw new ApiError('BadRequest', `invalid resourceVersion "${rv.slice(0, 40)}": a revision is a decimal number`);
}

/** A new object's system metadata. */
export function draft(obj: Resource, namespace: string): StoredResource {
  return {
    apiVersion: obj.apiVersion,
    kind: obj.kind,
    metadata: { ...obj.metadata, namespace, uid: randomUUID(), resourceVersion: '0', generation: 1, creationTimestamp: now() },
    spec: obj.spec,
    status: (obj.status as Status | undefined) ?? {},
  };
}

/** The object after an apply over `existing`, or undefined when nothing would change. */
export function merged(existing: StoredResource, obj: Resource): StoredResource | undefined {
  const specChanged = !deepEqual(existing.spec, obj.spec);
  const metadata = { ...existing.metadata, labels: obj.metadata.labels, annotations: obj.metadata.annotations };
  if (!metadata.labels) delete metadata.labels;
  if (!metadata.annotations) delete metadata.annotations;
  if (!specChanged && deepEqual(existing.metadata, metadata)) return undefined;
  if (specChanged) metadata.generation = existing.metadata.generation + 1;
  return { ...existing, metadata, spec: obj.spec };
}

/** Objects of every kind, read and written with the semantics of SPEC §2, by one origin. */
export class Objects {
  constructor(
    readonly store: Store,
    readonly origin: WriteOrigin = 'api',
  ) {}

  /** The same store, writing as another origin. */
  as(origin: WriteOrigin): Objects {
    return new Objects(this.store, origin);
  }

  get(kind: string, namespace: string, name: string): Promise<StoredResource | undefined> {
    return this.store.control.get({ kind, namespace, name });
  }

  list(kind: string, opts?: ListOptions): Promise<ListResult> {
    return this.store.control.list(kind, opts);
  }

  findByEndpointId(id: string): Promise<StoredResource | undefined> {
    return this.store.control.findByEndpointId(id);
  }

  watch(filter: WatchFilter, since: string | undefined, onEvent: (e: WatchEvent) => void, beforePage?: BeforePage): Promise<() => void> {
    return this.store.control.watch(filter, since, onEvent, beforePage);
  }

  revision(): string {
    return this.store.control.revision();
  }

  listEvents(key: Partial<ObjectKey>, limit?: number): Promise<ObjectEvent[]> {
    return this.store.control.listEvents(key, limit);
  }

  /** Create, or update spec/labels/annotations; an identical object writes nothing. */
  async apply(obj: Resource, opts: WriteOptions = {}): Promise<{ outcome: ApplyOutcome; object: StoredResource }> {
    const ns = obj.metadata.namespace ?? '';
    const { kind } = obj;
    const { name } = obj.metadata;
    const wantRv = obj.metadata.resourceVersion;
    checkVersion(wantRv);
    for (let attempt = 1; ; attempt++) {
      const existing = await this.get(kind, ns, name);
      if (existing && opts.createOnly) throw alreadyExists(kind, name);
      if (!existing && wantRv) throw notFound(kind, name, ns);
      if (existing && wantRv && wantRv !== existing.metadata.resourceVersion) throw conflict(kind, name);
      const next = existing ? merged(existing, obj) : draft(obj, ns);
      if (!next) return { outcome: 'unchanged', object: existing! };
      const outcome = existing ? 'configured' : 'created';
      if (opts.dryRun) return { outcome, object: next };
      const write: Op = existing ? { op: 'update', object: next, expect: existing.metadata.resourceVersion } : { op: 'create', object: next };
      try {
        return { outcome, object: await this.write([...this.admit(next, existing ? 'update' : 'create'), write]) };
      } catch (e) {
        // Someone else wrote first: read again and redo, unless the caller pinned a version.
        if (wantRv || opts.createOnly || attempt >= RETRIES || !isReason(e, 'Conflict', 'AlreadyExists')) throw e;
      }
    }
  }

  async updateStatus(key: ObjectKey, status: Status, pre: Precondition = {}): Promise<StoredResource> {
    checkVersion(pre.resourceVersion);
    const o = await this.written([{ op: 'status', key, status, expect: pre.resourceVersion }]);
    return o ?? (await this.mustGet(key));
  }

  /** Merges `patch` into the status of the object with this uid, if it still exists (no conflicts). */
  async mergeStatus(key: ObjectKey, uid: string, patch: Status): Promise<void> {
    await this.store.commit({ origin: this.origin, ops: [{ op: 'status', key, status: patch, merge: true, uid }] });
  }

  async delete(key: ObjectKey, pre: Precondition = {}): Promise<StoredResource> {
    checkVersion(pre.resourceVersion);
    const existing = await this.mustGet(key);
    return this.write([...this.admit(existing, 'delete', !!pre.force), { op: 'delete', key, expect: pre.resourceVersion }]);
  }

  async recordEvent(key: ObjectKey, type: EventType, reason: string, message: string): Promise<void> {
    await this.store.commit({ origin: this.origin, ops: [{ op: 'event', key, type, reason, message }] });
  }

  private async mustGet(key: ObjectKey): Promise<StoredResource> {
    const o = await this.get(key.kind, key.namespace, key.name);
    if (!o) throw notFound(key.kind, key.name, key.namespace);
    return o;
  }

  /** Commits ops and returns what the last one wrote (undefined: it found nothing to change). */
  private async written(ops: Op[]): Promise<StoredResource | undefined> {
    const r = await this.store.commit({ origin: this.origin, ops });
    if (r.held) throw new Error('a unit without a claim was answered as held');
    const last = r.writes[r.writes.length - 1];
    return last && 'object' in last ? last.object : undefined;
  }

  private async write(ops: Op[]): Promise<StoredResource> {
    const o = await this.written(ops);
    if (!o) throw new Error('the store wrote no object');
    return o;
  }

  /**
   * Preconditions committed with the write: a namespaced object's namespace exists, and
   * whatever its kind declares (a Namespace must be empty to go).
   */
  private admit(o: StoredResource, action: 'create' | 'update' | 'delete', force = false): Op[] {
    const def = lookupKind(o.kind);
    const ops: Op[] = [];
    const ns = o.metadata.namespace;
    if (action === 'create' && def?.namespaced && ns !== DEFAULT_NAMESPACE) ops.push({ op: 'exists', key: { kind: 'Namespace', namespace: '', name: ns } });
    return [...ops, ...(def?.admit?.(o, action, { force }) ?? [])];
  }
}

