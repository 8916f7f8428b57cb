// Object ops of a unit, written to the cluster one by one, in op order. Each waits until the
// informer cache has seen what it wrote, so a read after commit() sees it and watchers have
// had it. Failures are ApiErrors worded as the other drivers word them.
import { alreadyExists, ApiError, conflict, notFound, type StatusReason } from '../../api/errors.js';
import { LABEL_EVENT_ID } from '../../api/kinds/task.js';
import type { ObjectKey, Status, StoredResource, WriteOrigin } from '../../api/types.js';
import { mergePatch } from '../../documents/merge-patch.js';
import type { Json } from '../../mapping/paths.js';
import { deepEqual } from '../../util/json.js';
import type { CreateOp, DeleteManyOp, DeleteOp, StatusOp, UpdateOp, WriteResult } from '../types.js';
import type { Indexes, KindCache } from './cache.js';
import { finalizersOf, fromKube, kubeKind, objectPath, STATUS_ANNOTATION, statusAnnotation, toKube, type KubeKind, type KubeObject } from './kinds.js';
import { KubeError, MERGE_PATCH, reasonOf, toApiError, type Method, type Rest } from './rest.js';
import type { Origins } from './watch.js';

/** Status writes tried again after a concurrent write (those without `expect`). */
const STATUS_RETRIES = 5;
/** How long a write waits for its informer to show it before answering anyway. */
const SEEN_TIMEOUT_MS = 30_000;

export interface ClusterDeps {
  rest: Rest;
  cache(kind: string): KindCache;
  indexes: Indexes;
  origins: Origins;
  log: (msg: string) => void;
}

const written = (o: StoredResource): WriteResult => ({ name: o.metadata.name, resourceVersion: o.metadata.resourceVersion, object: o });

function errorFor(kind: string, namespace: string, name: string) {
  return (reason: StatusReason, message: string): ApiError => {
    if (reason === 'NotFound') return notFound(kind, name, namespace);
    if (reason === 'AlreadyExists') return alreadyExists(kind, name);
    if (reason === 'Conflict') return conflict(kind, name);
    return new ApiError(reason, message, { kind, name });
  };
}

const isReason = (e: unknown, ...reasons: StatusReason[]): boolean => e instanceof KubeError && reasons.includes(reasonOf(e));

export class ClusterOps {
  constructor(private readonly d: ClusterDeps) {}

  private kind(kind: string): KubeKind {
    const k = kubeKind(kind);
    if (!k) throw new ApiError('BadRequest', `kind "${kind}" is not stored in the cluster`);
    return k;
  }

  /** Runs one cluster request for `key`, mapping its failure. */
  private async call<T>(key: ObjectKey, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (e) {
      throw toApiError(e, key.kind, key.name, errorFor(key.kind, key.namespace, key.name));
    }
  }

  /** Waits until the kind's informer shows what a write did (its stream is in revision order). */
  private async seen(kind: string, done: () => boolean): Promise<void> {
    if (!(await this.d.cache(kind).waitFor(done, SEEN_TIMEOUT_MS))) this.d.log(`kubernetes: a write of ${kind} was not seen by its informer within ${SEEN_TIMEOUT_MS} ms`);
  }

  /**
   * A write to the cluster. Its informer's events wait for it (see KindCache.begin), so the
   * origin of what it wrote is known before any watcher sees the change.
   */
  private async send(k: KubeKind, origin: WriteOrigin, method: Method, path: string, body: unknown, contentType?: string): Promise<StoredResource> {
    const cache = this.d.cache(k.kind);
    const id = cache.begin();
    try {
      const o = fromKube(k, await this.d.rest.request<KubeObject>(method, path, body, contentType));
      this.d.origins.remember(o.metadata.resourceVersion, origin);
      return o;
    } finally {
      cache.end(id);
    }
  }

  private async landed(kind: string, o: StoredResource): Promise<StoredResource> {
    const rv = Number(o.metadata.resourceVersion);
    const cache = this.d.cache(kind);
    await this.seen(kind, () => cache.rv >= rv);
    return o;
  }

  /**
   * The task an earlier attempt of this delivery made (a retry after a crash between the
   * cluster write and the data store's): same webhook, same event, within the claim's window.
   */
  private sameDelivery(o: StoredResource, windowStart: number | undefined): StoredResource | undefined {
    const ev = o.metadata.labels?.[LABEL_EVENT_ID];
    const owner = o.metadata.ownerReferences?.[0]?.uid;
    if (!ev || !owner || windowStart === undefined || o.kind !== 'Task') return undefined;
    for (const t of this.d.indexes.byEvent.get(ev) ?? []) {
      const m = t.metadata;
      if (m.namespace === o.metadata.namespace && m.ownerReferences?.[0]?.uid === owner && Date.parse(m.creationTimestamp) >= windowStart) return t;
    }
    return undefined;
  }

  /** The object as the cache has it now. */
  peek(key: ObjectKey): StoredResource | undefined {
    return this.d.cache(key.kind).get(key.namespace, key.name);
  }

  /** Creates; `made` is false when an earlier attempt's object was found instead. */
  async create(op: CreateOp, origin: WriteOrigin, windowStart?: number): Promise<{ result: WriteResult; made: boolean }> {
    const o = op.object;
    const k = this.kind(o.kind);
    if (k.kind === 'Secret' && (o.spec.type ?? 'Opaque') !== 'Opaque') {
      throw new ApiError('Invalid', `Secret "${o.metadata.name}": only type Opaque is stored in Kubernetes mode`, { kind: 'Secret', name: o.metadata.name });
    }
    if (op.uniqueName && origin === 'delivery') {
      const earlier = this.sameDelivery(o, windowStart);
      if (earlier) return { result: written(earlier), made: false };
    }
    const cache = this.d.cache(o.kind);
    const ns = o.metadata.namespace;
    for (let n = 1; ; n++) {
      const name = n === 1 ? o.metadata.name : `${o.metadata.name}-${n}`;
      if (op.uniqueName && cache.get(ns, name)) continue;
      const body = toKube(k, { ...o, metadata: { ...o.metadata, name } }, false);
      try {
        const made = await this.send(k, origin, 'POST', k.path(k.namespaced ? ns : undefined), body);
        return { result: written(await this.landed(o.kind, await this.initialStatus(k, origin, made, o.status))), made: true };
      } catch (e) {
        if (!(op.uniqueName && isReason(e, 'AlreadyExists'))) throw toApiError(e, o.kind, name, errorFor(o.kind, ns, name));
      }
    }
  }

  /** A CRD ignores the status a create carries: it is written next, or the object taken back. */
  private async initialStatus(k: KubeKind, origin: WriteOrigin, made: StoredResource, status: Status | undefined): Promise<StoredResource> {
    if (k.core || !status || !Object.keys(status).length) return made;
    const key = { kind: made.kind, namespace: made.metadata.namespace, name: made.metadata.name };
    try {
      for (let cur = made, attempt = 1; ; attempt++) {
        try {
          return await this.putStatus(k, origin, cur, status, cur.metadata.resourceVersion);
        } catch (e) {
          // Another replica's controller, which cannot know this status is coming, wrote one
          // first: this one, the creator's, is written over it.
          if (attempt >= STATUS_RETRIES || !isReason(e, 'Conflict')) throw e;
          const fresh = await this.current(key, true);
          if (fresh?.metadata.uid !== made.metadata.uid) throw e;
          cur = fresh;
        }
      }
    } catch (e) {
      await this.undo([made]);
      throw e;
    }
  }

  /** A CRD's status through /status, at `rv` when given. */
  private async putStatus(k: KubeKind, origin: WriteOrigin, cur: StoredResource, status: Status, rv: string | undefined): Promise<StoredResource> {
    const body = { ...toKube(k, cur, false), status };
    if (rv) body.metadata.resourceVersion = rv;
    body.metadata.uid = cur.metadata.uid;
    const path = `${objectPath(k, cur.metadata.namespace, cur.metadata.name)}/status`;
    return this.send(k, origin, 'PUT', path, body);
  }

  async update(op: UpdateOp, origin: WriteOrigin): Promise<WriteResult> {
    const o = op.object;
    const k = this.kind(o.kind);
    const key = { kind: o.kind, namespace: o.metadata.namespace, name: o.metadata.name };
    const body = toKube(k, o, false);
    if (op.expect && op.expect !== '0') body.metadata.resourceVersion = op.expect;
    const kept = finalizersOf(this.peek(key));
    if (kept) body.metadata.finalizers = kept;
    const path = objectPath(k, key.namespace, key.name);
    const r = await this.call(key, () => this.send(k, origin, 'PUT', path, body));
    return written(await this.landed(o.kind, r));
  }

  /** The current object: from the cache, or the cluster when the cache has not seen it yet (or `fresh`). */
  private async current(key: ObjectKey, fresh = false): Promise<StoredResource | undefined> {
    const cached = fresh ? undefined : this.d.cache(key.kind).get(key.namespace, key.name);
    if (cached) return cached;
    const k = this.kind(key.kind);
    try {
      const o = await this.d.rest.request<KubeObject>('GET', objectPath(k, key.namespace, key.name));
      // Being deleted (a Namespace its finalizers hold) is gone, as the caches show it.
      return o.metadata.deletionTimestamp ? undefined : fromKube(k, o);
    } catch (e) {
      if (isReason(e, 'NotFound')) return undefined;
      throw toApiError(e, key.kind, key.name, errorFor(key.kind, key.namespace, key.name));
    }
  }

  private checkEndpoint(key: ObjectKey, status: Status): void {
    const id = status.endpointID;
    if (typeof id !== 'string' || !id) return;
    const holder = this.d.indexes.endpoints.get(id);
    const m = holder?.metadata;
    if (holder && !(holder.kind === key.kind && m!.namespace === key.namespace && m!.name === key.name)) {
      throw new ApiError('Conflict', `endpoint ID of ${key.kind} "${key.name}" is already in use`, { kind: key.kind, name: key.name });
    }
  }

  /** undefined: nothing written (unchanged, or another object than `uid` names). */
  async status(op: StatusOp, origin: WriteOrigin): Promise<WriteResult | undefined> {
    const k = this.kind(op.key.kind);
    // Only a CRD's merge is the server's; any other status is written whole, at the version
    // it was computed from: without `expect`, a concurrent write makes it read and try again.
    const retries = !op.expect && !(op.merge && !k.core) ? STATUS_RETRIES : 1;
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.statusOnce(k, op, origin, attempt > 1);
      } catch (e) {
        if (attempt >= retries || !(e instanceof ApiError && e.reason === 'Conflict')) throw e;
      }
    }
  }

  private async statusOnce(k: KubeKind, op: StatusOp, origin: WriteOrigin, fresh: boolean): Promise<WriteResult | undefined> {
    const { key } = op;
    const cur = await this.current(key, fresh);
    if (!cur) {
      if (op.uid) return undefined;
      throw notFound(key.kind, key.name, key.namespace);
    }
    if (op.uid && cur.metadata.uid !== op.uid) return undefined;
    const next = op.merge ? (mergePatch(cur.status as Json, op.status as Json) as Status) : op.status;
    if (deepEqual(next, cur.status) && (!op.expect || op.expect === cur.metadata.resourceVersion)) return undefined;
    this.checkEndpoint(key, next);
    try {
      const r = await this.writeStatus(k, origin, cur, op, next);
      return written(await this.landed(key.kind, r));
    } catch (e) {
      // A uid precondition that fails is another object of the name, or none: skipped (a
      // Conflict of a write at a version is tried again, and then the uid is compared).
      if (op.uid && isReason(e, 'NotFound')) return undefined;
      if (op.uid && op.merge && !k.core && !op.expect && isReason(e, 'Conflict')) return undefined;
      throw toApiError(e, key.kind, key.name, errorFor(key.kind, key.namespace, key.name));
    }
  }

  private async writeStatus(k: KubeKind, origin: WriteOrigin, cur: StoredResource, op: StatusOp, next: Status): Promise<StoredResource> {
    const path = objectPath(k, cur.metadata.namespace, cur.metadata.name);
    const uid = op.uid ?? cur.metadata.uid;
    if (op.merge && !k.core) {
      const metadata = { uid, ...(op.expect ? { resourceVersion: op.expect } : {}) };
      return this.send(k, origin, 'PATCH', `${path}/status`, { metadata, status: op.status }, MERGE_PATCH);
    }
    // Written whole, at a version: /status takes no unconditional PUT, and a core kind's annotation is one value.
    const rv = op.expect ?? cur.metadata.resourceVersion;
    if (!k.core) return this.putStatus(k, origin, { ...cur, metadata: { ...cur.metadata, uid } }, next, rv);
    const patch = { metadata: { uid, resourceVersion: rv, annotations: { [STATUS_ANNOTATION]: statusAnnotation(next) } } };
    return this.send(k, origin, 'PATCH', path, patch, MERGE_PATCH);
  }

  private async deleteOne(k: KubeKind, key: ObjectKey, uid: string, expect: string | undefined): Promise<StoredResource> {
    const body = { kind: 'DeleteOptions', apiVersion: 'v1', preconditions: { uid, ...(expect ? { resourceVersion: expect } : {}) } };
    return fromKube(k, await this.d.rest.request<KubeObject>('DELETE', objectPath(k, key.namespace, key.name), body));
  }

  private async gone(kind: string, key: ObjectKey, uid: string): Promise<void> {
    const cache = this.d.cache(kind);
    await this.seen(kind, () => cache.get(key.namespace, key.name)?.metadata.uid !== uid);
  }

  async delete(op: DeleteOp, origin: WriteOrigin): Promise<WriteResult> {
    const { key } = op;
    const k = this.kind(key.kind);
    const cur = await this.current(key);
    if (!cur) throw notFound(key.kind, key.name, key.namespace);
    const uid = cur.metadata.uid;
    this.d.origins.remember(`uid:${uid}`, origin);
    const expect = op.expect && op.expect !== '0' ? op.expect : undefined;
    const r = await this.call(key, () => this.deleteOne(k, key, uid, expect));
    await this.gone(key.kind, key, uid);
    return written({ ...cur, metadata: { ...cur.metadata, resourceVersion: r.metadata.resourceVersion || cur.metadata.resourceVersion } });
  }

  /**
   * Deletes each named object still there with its uid; the others are skipped. One at a
   * time, so that they go in op order (each at a revision of its own, as the drivers do);
   * the informer is waited for once, at the end. Returns those deleted.
   */
  async deleteMany(op: DeleteManyOp, origin: WriteOrigin): Promise<Array<{ name: string; uid: string }>> {
    const k = this.kind(op.kind);
    const deleted: Array<{ name: string; uid: string }> = [];
    for (const o of op.objects) {
      const key = { kind: op.kind, namespace: op.namespace, name: o.name };
      this.d.origins.remember(`uid:${o.uid}`, origin);
      try {
        await this.deleteOne(k, key, o.uid, undefined);
        deleted.push(o);
      } catch (e) {
        if (!isReason(e, 'NotFound', 'Conflict')) throw toApiError(e, op.kind, o.name, errorFor(op.kind, op.namespace, o.name));
      }
    }
    const cache = this.d.cache(op.kind);
    await this.seen(op.kind, () => deleted.every((o) => cache.get(op.namespace, o.name)?.metadata.uid !== o.uid));
    return deleted;
  }

  async exists(key: ObjectKey): Promise<void> {
    if (!(await this.current(key))) throw notFound(key.kind, key.name, key.namespace);
  }

  empty(namespace: string, kinds: readonly string[]): void {
    let n = 0;
    for (const kind of kinds) n += this.d.cache(kind).range(namespace, '', '\u{10ffff}').length;
    if (n > 0) throw new ApiError('Conflict', `namespace "${namespace}" is not empty: delete its ${n} object(s) first`, { kind: 'Namespace', name: namespace });
  }

  /** Takes back what a unit created when the rest of it could not commit (best effort, by uid). */
  async undo(created: StoredResource[]): Promise<void> {
    for (const o of created.reverse()) {
      const key = { kind: o.kind, namespace: o.metadata.namespace, name: o.metadata.name };
      try {
        await this.deleteOne(this.kind(o.kind), key, o.metadata.uid, undefined);
        await this.gone(o.kind, key, o.metadata.uid);
      } catch (e) {
        if (!isReason(e, 'NotFound', 'Conflict')) this.d.log(`kubernetes: could not take back ${o.kind} ${key.namespace}/${key.name}: ${(e as Error).message}`);
      }
    }
  }
}
