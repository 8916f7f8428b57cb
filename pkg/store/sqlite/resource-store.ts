import { randomUUID } from 'node:crypto';
import { ApiError, notFound } from '../../api/errors.js';
import { DEFAULT_NAMESPACE } from '../../api/meta.js';
import { watchEvent, type ObjectKey, type Resource, type Status, type StoredResource, type WatchEvent } from '../../api/types.js';
import { deepEqual } from '../../util/json.js';
import type {
  ApplyOutcome, EventType, ListOptions, ListResult, ObjectEvent, Precondition, ResourceStore, StatusPatch, WatchFilter, WriteOptions,
} from '../types.js';
import type { DB } from './db.js';
import { RESOURCE_COLUMNS, resourceToRow, rowToResource, type ResourceRow } from './rows.js';
import { SQL } from './statements.js';
import { listEvents, recordEvent } from './event-log.js';
import { encodeContinue, listQuery } from './list-query.js';

/** A writer on another connection that main-thread writes must wait for (see shareWrites). */
export interface SharedWriter {
  /** Resolves once it has nothing in flight; it starts nothing new until resume(). */
  quiesce(): Promise<void>;
  resume(): void;
}

interface Subscriber {
  filter: WatchFilter;
  onEvent: (e: WatchEvent) => void;
}

const conflict = (kind: string, name: string): ApiError =>
  new ApiError('Conflict', `Operation cannot be fulfilled on ${kind} "${name}": the object has been modified; please apply your changes to the latest version and try again`, { kind, name });

/** The SQLite resource store: one writer, one store-wide revision, watch from memory after commit. */
export class SqliteResourceStore implements ResourceStore {
  private rev: number;
  private compactedRev: number;
  private pending: WatchEvent[] = [];
  private readonly subs = new Set<Subscriber>();
  private inTx = false;
  private co?: SharedWriter;
  private readonly q;

  constructor(readonly db: DB) {
    this.q = {
      get: db.prepare(`SELECT ${RESOURCE_COLUMNS} FROM resources WHERE kind = ? AND namespace = ? AND name = ? AND deleted_at IS NULL`),
      getAny: db.prepare(`SELECT create_rv, deleted_at FROM resources WHERE kind = ? AND namespace = ? AND name = ?`),
      upsert: db.prepare(SQL.upsertResource),
      updateStatus: db.prepare('UPDATE resources SET status = ?, rv = ?, endpoint_id = ? WHERE kind = ? AND namespace = ? AND name = ?'),
      tombstone: db.prepare('UPDATE resources SET rv = ?, deleted_at = ?, endpoint_id = NULL WHERE kind = ? AND namespace = ? AND name = ?'),
      delLabel: db.prepare('DELETE FROM labels WHERE kind = ? AND key = ? AND value = ? AND create_rv = ?'),
      addLabel: db.prepare(SQL.addLabel),
      byEndpoint: db.prepare(`SELECT ${RESOURCE_COLUMNS} FROM resources WHERE endpoint_id = ? AND deleted_at IS NULL`),
      setMeta: db.prepare(SQL.setMeta),
      getMeta: db.prepare('SELECT value FROM meta WHERE key = ?'),
      countInNs: db.prepare('SELECT COUNT(*) AS n FROM resources WHERE namespace = ? AND deleted_at IS NULL'),
    };
    this.rev = Number(this.meta('revision') ?? 0);
    this.compactedRev = Number(this.meta('compacted_revision') ?? 0);
  }

  private meta(key: string): string | undefined {
    return (this.q.getMeta.get(key) as { value: string } | undefined)?.value;
  }

  revision(): string {
    return String(this.rev);
  }

  /**
   * Another connection that writes through this store's revision (the delivery writer).
   * Writes here hold it, so nothing else commits meanwhile and revisions stay in commit order.
   */
  shareWrites(co: SharedWriter): void {
    this.co = co;
  }

  /** Runs `fn` in one transaction once the shared writer has nothing in flight. */
  async write<T>(fn: () => T): Promise<T> {
    if (!this.co) return this.tx(fn);
    await this.co.quiesce();
    try {
      return this.tx(fn);
    } finally {
      this.co.resume();
    }
  }

  /**
   * What the shared writer committed, published as if written here: revisions `from + 1`
   * to `rev`. A gap before `from` (a writer that died between its commit and its answer)
   * is published from the stored rows first.
   */
  publishCommitted(from: number, rev: number, events: WatchEvent[]): void {
    this.catchUpTo(from);
    this.rev = rev;
    this.pending.push(...events);
    this.publish();
  }

  /** Runs `fn` in one transaction; watch events are published only after it commits. */
  tx<T>(fn: () => T): T {
    if (this.inTx) return fn();
    const startRev = this.catchUpTo(Number(this.meta('revision') ?? 0));
    this.inTx = true;
    try {
      const result = this.db.transaction(() => {
        const r = fn();
        if (this.rev !== startRev) this.q.setMeta.run('revision', String(this.rev));
        return r;
      }).immediate();
      this.inTx = false;
      this.publish();
      return result;
    } catch (e) {
      this.inTx = false;
      this.rev = startRev;
      this.pending = [];
      throw e;
    }
  }

  private publish(): void {
    const events = this.pending;
    this.pending = [];
    for (const e of events) {
      for (const s of this.subs) if (matches(s.filter, e.key)) deliver(s, e);
    }
  }

  /**
   * Publishes what another connection committed up to `rev` without telling us (a shared
   * writer that died between its commit and its answer), so revisions stay gapless for
   * watchers and the next one follows the stored one.
   */
  private catchUpTo(rev: number): number {
    if (rev > this.rev) {
      const since = this.rev;
      this.rev = rev;
      this.pending.push(...this.changesSince({}, since));
      this.publish();
    }
    return this.rev;
  }

  getSync(kind: string, namespace: string, name: string): StoredResource | undefined {
    const row = this.q.get.get(kind, namespace, name) as ResourceRow | undefined;
    return row ? rowToResource(row) : undefined;
  }

  async get(kind: string, namespace: string, name: string): Promise<StoredResource | undefined> {
    return this.getSync(kind, namespace, name);
  }

  async findByEndpointId(endpointId: string): Promise<StoredResource | undefined> {
    const row = this.q.byEndpoint.get(endpointId) as ResourceRow | undefined;
    return row ? rowToResource(row) : undefined;
  }

  async list(kind: string, opts: ListOptions = {}): Promise<ListResult> {
    // Up to the published revision: rows another connection committed but not yet published stay out.
    const { sql, args, limit } = listQuery(kind, this.rev, opts);
    const rows = this.db.prepare(sql).all(...args) as ResourceRow[];
    const more = limit !== undefined && rows.length > limit;
    const page = more ? rows.slice(0, limit) : rows;
    const last = page[page.length - 1];
    return {
      items: page.map(rowToResource),
      resourceVersion: this.revision(),
      continue: more && last ? encodeContinue(last.namespace, last.name) : undefined,
    };
  }

  async apply(obj: Resource, opts: WriteOptions = {}): Promise<{ outcome: ApplyOutcome; object: StoredResource }> {
    return this.write(() => this.applySync(obj, opts));
  }

  applySync(obj: Resource, opts: WriteOptions = {}): { outcome: ApplyOutcome; object: StoredResource } {
    const ns = obj.metadata.namespace ?? '';
    const { kind } = obj;
    const { name } = obj.metadata;
    // A dry run may preview a Namespace and its contents together, before either exists.
    if (ns && !opts.dryRun) this.requireNamespace(ns);
    const existing = this.getSync(kind, ns, name);
    const wantRv = obj.metadata.resourceVersion;
    if (!existing) {
      if (wantRv) throw notFound(kind, name, ns);
      return { outcome: 'created', object: opts.dryRun ? this.draft(obj, ns) : this.insert(this.draft(obj, ns)) };
    }
    if (opts.createOnly) throw new ApiError('AlreadyExists', `${kind} "${name}" already exists`, { kind, name });
    if (wantRv && wantRv !== existing.metadata.resourceVersion) throw conflict(kind, name);
    const specChanged = !deepEqual(existing.spec, obj.spec);
    const next: StoredResource = {
      ...existing,
      metadata: { ...existing.metadata, labels: obj.metadata.labels, annotations: obj.metadata.annotations },
      spec: obj.spec,
    };
    if (!next.metadata.labels) delete next.metadata.labels;
    if (!next.metadata.annotations) delete next.metadata.annotations;
    if (!specChanged && deepEqual(existing.metadata, next.metadata)) return { outcome: 'unchanged', object: existing };
    if (specChanged) next.metadata.generation = existing.metadata.generation + 1;
    if (opts.dryRun) return { outcome: 'configured', object: next };
    return { outcome: 'configured', object: this.writeRow(next, existing, 'MODIFIED') };
  }

  private draft(obj: Resource, ns: string): StoredResource {
    return {
      apiVersion: obj.apiVersion,
      kind: obj.kind,
      metadata: {
        ...obj.metadata,
        namespace: ns,
        uid: randomUUID(),
        resourceVersion: '0',
        generation: 1,
        creationTimestamp: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
      },
      spec: obj.spec,
      status: (obj.status as Status | undefined) ?? {},
    };
  }

  /** Inserts a new object (status may be preset by the server, e.g. a run task). */
  insert(obj: StoredResource): StoredResource {
    return this.writeRow(obj, undefined, 'ADDED');
  }

  private writeRow(next: StoredResource, prev: StoredResource | undefined, type: 'ADDED' | 'MODIFIED'): StoredResource {
    const rv = ++this.rev;
    const stored = { ...next, metadata: { ...next.metadata, resourceVersion: String(rv) } };
    const row = resourceToRow(stored, prev ? this.createRv(prev) : rv);
    try {
      this.q.upsert.run(row);
    } catch (e) {
      throw uniqueViolation(e, stored);
    }
    if (!prev || !deepEqual(prev.metadata.labels, stored.metadata.labels)) {
      this.writeLabels(stored.kind, row.create_rv, stored.metadata.labels, prev?.metadata.labels);
    }
    this.pending.push(watchEvent(type, stored));
    return stored;
  }

  private createRv(o: { kind: string; metadata: { namespace: string; name: string } }): number {
    const r = this.q.getAny.get(o.kind, o.metadata.namespace, o.metadata.name) as { create_rv: number };
    return r.create_rv;
  }

  /** Label index rows are keyed by label first, so the old labels say which rows to drop. */
  private writeLabels(kind: string, createRv: number, labels?: Record<string, string>, old?: Record<string, string>): void {
    for (const [k, v] of Object.entries(old ?? {})) this.q.delLabel.run(kind, k, v, createRv);
    for (const [k, v] of Object.entries(labels ?? {})) this.q.addLabel.run(kind, k, v, createRv);
  }

  private requireNamespace(ns: string): void {
    if (ns === DEFAULT_NAMESPACE) return;
    if (!this.q.get.get('Namespace', '', ns)) throw new ApiError('NotFound', `namespace "${ns}" not found`, { kind: 'Namespace', name: ns });
  }

  async updateStatus(key: ObjectKey, status: Status, pre: Precondition = {}): Promise<StoredResource> {
    return this.write(() => this.updateStatusSync(key, status, pre));
  }

  updateStatusSync(key: ObjectKey, status: Status, pre: Precondition = {}): StoredResource {
    const existing = this.getSync(key.kind, key.namespace, key.name);
    if (!existing) throw notFound(key.kind, key.name, key.namespace);
    if (pre.resourceVersion && pre.resourceVersion !== existing.metadata.resourceVersion) throw conflict(key.kind, key.name);
    return deepEqual(existing.status, status) ? existing : this.replaceStatus(existing, status);
  }

  private replaceStatus(existing: StoredResource, status: Status): StoredResource {
    const key = { kind: existing.kind, namespace: existing.metadata.namespace, name: existing.metadata.name };
    const rv = ++this.rev;
    const next: StoredResource = { ...existing, metadata: { ...existing.metadata, resourceVersion: String(rv) }, status };
    const endpoint = typeof status.endpointID === 'string' && status.endpointID ? status.endpointID : null;
    try {
      this.q.updateStatus.run(JSON.stringify(status), rv, endpoint, key.kind, key.namespace, key.name);
    } catch (e) {
      throw uniqueViolation(e, next);
    }
    this.pending.push(watchEvent('MODIFIED', next));
    return next;
  }

  async patchStatuses(patches: StatusPatch[]): Promise<void> {
    await this.write(() => {
      for (const p of patches) {
        const cur = this.getSync(p.key.kind, p.key.namespace, p.key.name);
        const next = cur && p.mutate(cur);
        // mutate answers undefined for "no change", so no deep comparison here.
        if (cur && next) this.replaceStatus(cur, next);
      }
    });
  }

  async delete(key: ObjectKey, pre: Precondition = {}): Promise<StoredResource> {
    return this.write(() => {
      const existing = this.getSync(key.kind, key.namespace, key.name);
      if (!existing) throw notFound(key.kind, key.name, key.namespace);
      if (pre.resourceVersion && pre.resourceVersion !== existing.metadata.resourceVersion) throw conflict(key.kind, key.name);
      if (key.kind === 'Namespace') this.requireEmpty(key.name);
      const rv = ++this.rev;
      this.q.tombstone.run(rv, Date.now(), key.kind, key.namespace, key.name);
      this.writeLabels(key.kind, this.createRv(existing), undefined, existing.metadata.labels);
      const gone = { ...existing, metadata: { ...existing.metadata, resourceVersion: String(rv) } };
      this.pending.push(watchEvent('DELETED', gone));
      return gone;
    });
  }

  private requireEmpty(ns: string): void {
    const { n } = this.q.countInNs.get(ns) as { n: number };
    if (n > 0) throw new ApiError('Conflict', `namespace "${ns}" is not empty: delete its ${n} object(s) first`, { kind: 'Namespace', name: ns });
  }

  /** Forgets tombstones older than `maxAgeMs`; a watch from before them then gets 410 Gone. */
  async compact(maxAgeMs: number): Promise<number> {
    return this.write(() => {
      const cutoff = Date.now() - maxAgeMs;
      const r = this.db.prepare('SELECT MAX(rv) AS rv, COUNT(*) AS n FROM resources WHERE deleted_at IS NOT NULL AND deleted_at <= ?').get(cutoff) as { rv: number | null; n: number };
      if (!r.n) return 0;
      this.db.prepare('DELETE FROM resources WHERE deleted_at IS NOT NULL AND deleted_at <= ?').run(cutoff);
      this.compactedRev = Math.max(this.compactedRev, r.rv ?? 0);
      this.q.setMeta.run('compacted_revision', String(this.compactedRev));
      return r.n;
    });
  }

  watch(filter: WatchFilter, sinceRevision: string | undefined, onEvent: (e: WatchEvent) => void): () => void {
    const sub: Subscriber = { filter, onEvent };
    if (sinceRevision !== undefined && sinceRevision !== '' && sinceRevision !== '0') {
      const since = Number(sinceRevision);
      if (!Number.isInteger(since) || since < 0) throw new ApiError('BadRequest', `invalid resourceVersion "${sinceRevision}"`);
      if (since < this.compactedRev) {
        throw new ApiError('Gone', `too old resource version: ${since} (${this.compactedRev}); list again and watch from the list's resourceVersion`);
      }
      for (const e of this.changesSince(filter, since)) deliver(sub, e);
    }
    // Synchronous replay then subscribe: no write can slip in between.
    this.subs.add(sub);
    return () => this.subs.delete(sub);
  }

  private changesSince(filter: WatchFilter, since: number): WatchEvent[] {
    const where = ['rv > ?', 'rv <= ?'];
    const args: unknown[] = [since, this.rev];
    if (filter.kind) (where.push('kind = ?'), args.push(filter.kind));
    if (filter.namespace !== undefined) (where.push('namespace = ?'), args.push(filter.namespace));
    const rows = this.db.prepare(`SELECT ${RESOURCE_COLUMNS} FROM resources WHERE ${where.join(' AND ')} ORDER BY rv`).all(...args) as ResourceRow[];
    return rows.map((r) => watchEvent(r.deleted_at ? 'DELETED' : r.create_rv > since ? 'ADDED' : 'MODIFIED', rowToResource(r)));
  }

  async recordEvent(key: ObjectKey, type: EventType, reason: string, message: string): Promise<void> {
    await this.write(() => recordEvent(this.db, key, type, reason, message));
  }

  async listEvents(key: Partial<ObjectKey>, limit = 50): Promise<ObjectEvent[]> {
    return listEvents(this.db, key, limit);
  }

  async close(): Promise<void> {
    this.subs.clear();
    this.db.close();
  }
}

function matches(f: WatchFilter, k: ObjectKey): boolean {
  return (!f.kind || f.kind === k.kind) && (f.namespace === undefined || f.namespace === k.namespace);
}

function deliver(s: Subscriber, e: WatchEvent): void {
  try {
    s.onEvent(e);
  } catch {
    // A failing subscriber must not break the writer or other subscribers.
  }
}

function uniqueViolation(e: unknown, o: StoredResource): unknown {
  if (String((e as Error).message).includes('UNIQUE')) {
    return new ApiError('Conflict', `endpoint ID of ${o.kind} "${o.metadata.name}" is already in use`);
  }
  return e;
}
