import { ApiError } from '../../api/errors.js';
import type { ObjectKey, StoredResource, WatchEvent } from '../../api/types.js';
import type { BodyCodec } from '../sealing.js';
import { DOCUMENT_KIND, type BeforePage, type ChangeEntry, type ControlPlaneStore, type ListOptions, type ListResult, type NamedObject, type NameRange, type ObjectEvent, type WatchFilter } from '../types.js';
import { deletedObject, deliver, event, matches, REPLAY_PAGE, toChangeEntry, toObjectEvent, type ChangeRow, type EventRow, type LogRow, type Subscriber } from '../watch-events.js';
import type { DB } from './db.js';
import { encodeContinue } from '../continue-token.js';
import { listQuery } from './list-query.js';
import { documentJson, JOINED_DOCUMENT_COLUMNS, joinedDocument, type JoinedDocumentRow } from '../document-rows.js';
import { NAMED_COLUMNS, RESOURCE_COLUMNS, rowToNamed, rowToResource, type NamedRow, type ResourceRow } from '../rows.js';

const immediate = (): Promise<void> => new Promise((r) => setImmediate(r));

/** Reads on the main thread's connection (WAL: never blocked by the writer), watches from the change log. */
export class SqliteControlPlane implements ControlPlaneStore {
  private published: number;
  private readonly subs = new Set<Subscriber>();
  private readonly revisionListeners = new Set<(rev: number) => void>();
  private readonly q;

  constructor(
    private readonly db: DB,
    private readonly codec: BodyCodec,
  ) {
    this.q = {
      get: db.prepare(`SELECT ${RESOURCE_COLUMNS} FROM resources WHERE kind = ? AND namespace = ? AND name = ?`),
      byEndpoint: db.prepare(`SELECT ${RESOURCE_COLUMNS} FROM resources WHERE endpoint_id = ?`),
      meta: db.prepare('SELECT value FROM meta WHERE key = ?').pluck(),
      // Both walk the key index (kind, namespace, name): the count reads nothing else.
      countNames: db.prepare('SELECT COUNT(*) FROM resources WHERE kind = ? AND namespace = ? AND name > ? AND name < ?').pluck(),
      scanNames: db.prepare(`SELECT ${NAMED_COLUMNS} FROM resources WHERE kind = ? AND namespace = ? AND name > ? AND name < ? ORDER BY name LIMIT ?`),
      scanNamesWithStatus: db.prepare(`SELECT ${NAMED_COLUMNS}, status FROM resources WHERE kind = ? AND namespace = ? AND name > ? AND name < ? ORDER BY name LIMIT ?`),
      changes: db.prepare(`SELECT revision, kind, namespace, name, uid, type, origin, labels FROM changes
        WHERE revision > ? AND revision <= ? ORDER BY revision LIMIT ${REPLAY_PAGE}`),
      // A document change's after image is the document's row while that is still at its revision.
      entries: db.prepare(`SELECT c.revision, c.kind, c.namespace, c.name, c.uid, c.type, c.origin, c.item, c.image_after, c.image_before,
        ${JOINED_DOCUMENT_COLUMNS}
        FROM changes c LEFT JOIN documents d
          ON c.image_after IS NULL AND c.kind = '${DOCUMENT_KIND}' AND d.collection = c.uid AND d.id = c.item AND d.revision = c.revision
        WHERE c.revision > ? AND c.revision <= ? ORDER BY c.revision LIMIT ?`),
    };
    this.published = this.storedRevision();
  }

  private storedRevision(): number {
    return Number(this.q.meta.get('revision') ?? 0);
  }

  revision(): string {
    return String(this.published);
  }

  /**
   * What the writer committed after `from`, up to `rev`, in revision order. Revisions a writer
   * committed without reporting (it died between its commit and its answer) are replayed from
   * the log first. The gap is between transactions, not between object changes: documents and
   * records take revisions too, and reading them back for each write would cost a query.
   */
  publish(from: number, rev: number, changes: WatchEvent[]): void {
    const before = this.published;
    if (from > this.published) this.catchUp(from);
    for (const e of changes) {
      for (const s of this.subs) if (s.live && e.revision > s.cursor && matches(s.filter, e.key)) deliver(s, e);
    }
    this.published = Math.max(this.published, rev);
    if (this.published > before) for (const fn of this.revisionListeners) fn(this.published);
  }

  onRevision(fn: (rev: number) => void): () => void {
    this.revisionListeners.add(fn);
    return () => void this.revisionListeners.delete(fn);
  }

  private catchUp(to: number): void {
    const live = [...this.subs].filter((s) => s.live);
    let from = this.published;
    for (;;) {
      const page = this.q.changes.all(from, to) as ChangeRow[];
      for (const s of live) this.replayPage(s, page, from);
      if (page.length < REPLAY_PAGE) break;
      from = page[page.length - 1]!.revision;
    }
    this.published = to;
  }

  private row(kind: string, namespace: string, name: string): ResourceRow | undefined {
    return this.q.get.get(kind, namespace, name) as ResourceRow | undefined;
  }

  async get(key: ObjectKey): Promise<StoredResource | undefined> {
    const r = this.row(key.kind, key.namespace, key.name);
    return r ? rowToResource(r, this.codec) : undefined;
  }

  async findByEndpointId(endpointId: string): Promise<StoredResource | undefined> {
    const r = this.q.byEndpoint.get(endpointId) as ResourceRow | undefined;
    return r ? rowToResource(r, this.codec) : undefined;
  }

  async countNames(r: NameRange): Promise<number> {
    return Number(this.q.countNames.get(r.kind, r.namespace, r.after, r.before));
  }

  async scanNames(r: NameRange, limit: number, opts: { status?: boolean } = {}): Promise<NamedObject[]> {
    const stmt = opts.status ? this.q.scanNamesWithStatus : this.q.scanNames;
    return (stmt.all(r.kind, r.namespace, r.after, r.before, limit) as NamedRow[]).map(rowToNamed);
  }

  /** Every object of the sensitive kinds, as stored. */
  private sealedRows(): ResourceRow[] {
    const { sealedKinds } = this.codec;
    if (!sealedKinds.length) return [];
    const kinds = sealedKinds.map(() => '?').join(', ');
    return this.db.prepare(`SELECT ${RESOURCE_COLUMNS} FROM resources WHERE kind IN (${kinds})`).all(...sealedKinds) as ResourceRow[];
  }

  /** Opens every sealed body once, so a missing or wrong key fails the store's open, not some later read. */
  checkKeys(): void {
    for (const r of this.sealedRows()) rowToResource(r, this.codec);
  }

  async stale(): Promise<StoredResource[]> {
    return this.sealedRows().filter((r) => this.codec.isStale(r.kind, r.spec)).map((r) => rowToResource(r, this.codec));
  }

  /** One read transaction: the page and the revision it was read at agree. */
  async list(kind: string, opts: ListOptions = {}): Promise<ListResult> {
    const { sql, args, limit } = listQuery(kind, opts);
    const read = this.db.transaction(() => ({ rev: this.storedRevision(), rows: this.db.prepare(sql).all(...args) as ResourceRow[] }));
    const { rev, rows } = read.deferred();
    const more = limit !== undefined && rows.length > limit;
    const page = more ? rows.slice(0, limit) : rows;
    const last = page[page.length - 1];
    return {
      items: page.map((r) => rowToResource(r, this.codec)),
      resourceVersion: String(Math.max(rev, this.published)),
      continue: more && last ? encodeContinue(last.namespace, last.name) : undefined,
    };
  }

  async watch(filter: WatchFilter, since: string | undefined, onEvent: (e: WatchEvent) => void, beforePage?: BeforePage): Promise<() => void> {
    const sub: Subscriber = { filter, onEvent, cursor: this.published, live: false };
    const unsubscribe = (): void => void this.subs.delete(sub);
    // "0" is what a list of an empty store answers: everything, while the log still has it
    // all; otherwise, as in Kubernetes, "any point", which is now.
    if (since === undefined || since === '' || (since === '0' && this.compactedRevision() > 0)) {
      sub.live = true;
      this.subs.add(sub);
      return unsubscribe;
    }
    const from = Number(since);
    if (!Number.isInteger(from) || from < 0) throw new ApiError('BadRequest', `invalid resourceVersion "${since}"`);
    this.requireHistory(from);
    sub.cursor = from;
    this.subs.add(sub);
    // Pages until caught up with what is published; the last step and going live happen in
    // one synchronous stretch, so no change can fall between them.
    for (;;) {
      const page = this.q.changes.all(sub.cursor, this.published) as ChangeRow[];
      this.replayPage(sub, page, from);
      if (page.length < REPLAY_PAGE) break;
      sub.cursor = page[page.length - 1]!.revision;
      await immediate();
      if ((await beforePage?.()) === false) unsubscribe();
      if (!this.subs.has(sub)) return unsubscribe;
    }
    sub.cursor = Math.max(sub.cursor, this.published);
    sub.live = true;
    return unsubscribe;
  }

  private compactedRevision(): number {
    return Number(this.q.meta.get('compacted_revision') ?? 0);
  }

  /** 410 Gone when the log no longer covers what came after `from`. */
  private requireHistory(from: number): void {
    const compacted = this.compactedRevision();
    if (from < compacted) {
      throw new ApiError('Gone', `too old resource version: ${from} (${compacted}); list again and watch from the list's resourceVersion`);
    }
  }

  async changes(after: number, limit: number): Promise<ChangeEntry[]> {
    this.requireHistory(after);
    const rows = this.q.entries.all(after, this.published, limit) as Array<LogRow & JoinedDocumentRow>;
    return rows.map((r) => {
      const doc = joinedDocument(r);
      return toChangeEntry(doc ? { ...r, image_after: documentJson(doc) } : r);
    });
  }

  /**
   * Each change is shown with the object as it is now, if this change is its newest; an
   * older one is skipped (its newer change comes later in the log). An object created
   * after `since` is new to the watcher: ADDED.
   */
  private replayPage(s: Subscriber, page: ChangeRow[], since: number): void {
    for (const c of page) {
      if (c.revision <= s.cursor && s.live) continue;
      if (!matches(s.filter, c)) continue;
      if (c.type === 'DELETED') {
        deliver(s, event('DELETED', c, deletedObject(c)));
        continue;
      }
      const r = this.row(c.kind, c.namespace, c.name);
      if (!r || r.uid !== c.uid || r.rv !== c.revision) continue;
      deliver(s, event(r.create_rv > since ? 'ADDED' : 'MODIFIED', c, rowToResource(r, this.codec)));
    }
  }

  async listEvents(key: Partial<ObjectKey>, limit = 50): Promise<ObjectEvent[]> {
    const where: string[] = [];
    const args: unknown[] = [];
    for (const f of ['kind', 'namespace', 'name'] as const) {
      if (key[f] !== undefined) (where.push(`${f} = ?`), args.push(key[f]));
    }
    const rows = this.db
      .prepare(`SELECT * FROM events ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY seq DESC LIMIT ?`)
      .all(...args, limit) as EventRow[];
    return rows.map(toObjectEvent);
  }

  close(): void {
    this.subs.clear();
  }
}
