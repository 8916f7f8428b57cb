// Reads and watches on the shared store. Changes reach watchers two ways: this replica's
// commits are published from their results; every other commit is read back from the
// change log when its notification arrives (or when the listener reconnects). Revisions
// have no gaps, so a gap before a commit of ours means another replica's commits to read first.
import { ApiError } from '../../api/errors.js';
import type { ObjectKey, StoredResource, WatchEvent } from '../../api/types.js';
import { encodeContinue } from '../continue-token.js';
import { NAMED_COLUMNS, RESOURCE_COLUMNS, rowToNamed, rowToResource, type NamedRow, type ResourceRow } from '../rows.js';
import type { BodyCodec } from '../sealing.js';
import { DOCUMENT_KIND, type BeforePage, type ChangeEntry, type ControlPlaneStore, type ListOptions, type ListResult, type NamedObject, type NameRange, type ObjectEvent, type WatchFilter } from '../types.js';
import { deletedObject, deliver, event, matches, REPLAY_PAGE, toChangeEntry, toObjectEvent, type ChangeRow, type EventRow, type LogRow, type Subscriber } from '../watch-events.js';
import type { Sql } from './connect.js';
import { listQuery } from './list-query.js';

/** A change with the object as it is now, when this change is its newest. */
type JoinedRow = ChangeRow & { object: ResourceRow | null };

const OBJECT = `(SELECT row_to_json(r) FROM (SELECT ${RESOURCE_COLUMNS} FROM resources o
  WHERE o.kind = c.kind AND o.namespace = c.namespace AND o.name = c.name AND o.rv = c.revision AND o.uid = c.uid) r)`;

export class PgControlPlane implements ControlPlaneStore {
  private published = 0;
  private readonly subs = new Set<Subscriber>();
  private readonly revisionListeners = new Set<(rev: number) => void>();

  constructor(
    private readonly sql: Sql,
    private readonly codec: BodyCodec,
  ) {}

  async start(): Promise<void> {
    this.published = await this.storedRevision();
  }

  private async storedRevision(): Promise<number> {
    const [row] = await this.sql<Array<{ rev: number }>>`SELECT rev FROM revision`;
    return row?.rev ?? 0;
  }

  revision(): string {
    return String(this.published);
  }

  onRevision(fn: (rev: number) => void): () => void {
    this.revisionListeners.add(fn);
    return () => void this.revisionListeners.delete(fn);
  }

  /** This replica's commit, up to `rev`; what other replicas committed before it is read first. Callers serialize. */
  async publish(rev: number, changes: WatchEvent[]): Promise<void> {
    const first = changes[0]?.revision ?? rev + 1;
    if (first > this.published + 1) await this.catchUp(Math.min(first - 1, rev));
    for (const e of changes) {
      for (const s of this.subs) if (s.live && e.revision > s.cursor && matches(s.filter, e.key)) deliver(s, e);
    }
    this.advance(rev);
  }

  /** Another replica committed up to `rev` (or an unknown revision: read it). Callers serialize. */
  async caughtUpTo(rev?: number): Promise<void> {
    const to = rev ?? (await this.storedRevision());
    if (to > this.published) await this.catchUp(to);
  }

  private advance(rev: number): void {
    if (rev <= this.published) return;
    this.published = rev;
    for (const fn of this.revisionListeners) fn(rev);
  }

  private async catchUp(to: number): Promise<void> {
    let from = this.published;
    while (from < to) {
      const live = [...this.subs].filter((s) => s.live);
      const page = live.length ? await this.joined(from, to, live) : [];
      for (const s of live) this.replayPage(s, page, from);
      if (page.length < REPLAY_PAGE) break;
      from = page[page.length - 1]!.revision;
    }
    this.advance(to);
  }

  /**
   * Resource changes after `after` up to `to` of the kinds `subs` watch, each with its object
   * when it is the newest change of it: another replica's run tasks are read only if watched.
   */
  private joined(after: number, to: number, subs: Subscriber[]): Promise<JoinedRow[]> {
    const kinds = subs.every((s) => s.filter.kind) ? [...new Set(subs.map((s) => s.filter.kind!))] : undefined;
    const which = kinds ? this.sql`kind = ANY(${kinds})` : this.sql`kind <> ${DOCUMENT_KIND}`;
    return this.sql<JoinedRow[]>`SELECT revision, kind, namespace, name, uid, type, origin, labels,
      CASE WHEN type = 'DELETED' THEN NULL ELSE ${this.sql.unsafe(OBJECT)} END AS object
      FROM changes c WHERE revision > ${after} AND revision <= ${to} AND ${which} ORDER BY revision LIMIT ${REPLAY_PAGE}`;
  }

  /** A change is shown with the object as it is now, if it is its newest; created after `since`, it is ADDED. */
  private replayPage(s: Subscriber, page: JoinedRow[], since: number): void {
    for (const c of page) {
      if (c.revision <= s.cursor && s.live) continue;
      if (!matches(s.filter, c)) continue;
      if (c.type === 'DELETED') {
        deliver(s, event('DELETED', c, deletedObject(c)));
        continue;
      }
      const r = c.object;
      if (!r) continue;
      deliver(s, event(Number(r.create_rv) > since ? 'ADDED' : 'MODIFIED', c, rowToResource(r, this.codec)));
    }
  }

  async get(key: ObjectKey): Promise<StoredResource | undefined> {
    const [r] = await this.sql<ResourceRow[]>`SELECT ${this.sql.unsafe(RESOURCE_COLUMNS)} FROM resources
      WHERE kind = ${key.kind} AND namespace = ${key.namespace} AND name = ${key.name}`;
    return r ? rowToResource(r, this.codec) : undefined;
  }

  async findByEndpointId(endpointId: string): Promise<StoredResource | undefined> {
    const [r] = await this.sql<ResourceRow[]>`SELECT ${this.sql.unsafe(RESOURCE_COLUMNS)} FROM resources WHERE endpoint_id = ${endpointId}`;
    return r ? rowToResource(r, this.codec) : undefined;
  }

  async countNames(r: NameRange): Promise<number> {
    const [row] = await this.sql<Array<{ n: number }>>`SELECT COUNT(*)::int AS n FROM resources
      WHERE kind = ${r.kind} AND namespace = ${r.namespace} AND name > ${r.after} AND name < ${r.before}`;
    return row?.n ?? 0;
  }

  async scanNames(r: NameRange, limit: number, opts: { status?: boolean } = {}): Promise<NamedObject[]> {
    const columns = this.sql.unsafe(opts.status ? `${NAMED_COLUMNS}, status` : NAMED_COLUMNS);
    const rows = await this.sql<NamedRow[]>`SELECT ${columns} FROM resources
      WHERE kind = ${r.kind} AND namespace = ${r.namespace} AND name > ${r.after} AND name < ${r.before} ORDER BY name LIMIT ${limit}`;
    return rows.map(rowToNamed);
  }

  private sealedRows(): Promise<ResourceRow[]> {
    const kinds = [...this.codec.sealedKinds];
    return this.sql<ResourceRow[]>`SELECT ${this.sql.unsafe(RESOURCE_COLUMNS)} FROM resources WHERE kind = ANY(${kinds})`;
  }

  /** Opens every sealed body once, so a missing or wrong key fails the store's open, not some later read. */
  async checkKeys(): Promise<void> {
    for (const r of await this.sealedRows()) rowToResource(r, this.codec);
  }

  async stale(): Promise<StoredResource[]> {
    return (await this.sealedRows()).filter((r) => this.codec.isStale(r.kind, r.spec)).map((r) => rowToResource(r, this.codec));
  }

  /** One snapshot: the page and the revision it was read at agree. */
  async list(kind: string, opts: ListOptions = {}): Promise<ListResult> {
    const { sql: text, args, limit } = listQuery(kind, opts);
    const { rev, rows } = await this.sql.begin('isolation level repeatable read read only', async (tx) => {
      const [r] = await tx<Array<{ rev: number }>>`SELECT rev FROM revision`;
      return { rev: r!.rev, rows: await tx.unsafe<ResourceRow[]>(text, args as never[], { prepare: true }) };
    });
    const more = limit !== undefined && rows.length > limit;
    const page = more ? rows.slice(0, limit) : [...rows];
    const last = page[page.length - 1];
    return {
      items: page.map((r) => rowToResource(r, this.codec)),
      // Never behind what this replica published: a watch from it must not replay what the caller saw.
      resourceVersion: String(Math.max(rev, this.published)),
      continue: more && last ? encodeContinue(last.namespace, last.name) : undefined,
    };
  }

  async watch(filter: WatchFilter, since: string | undefined, onEvent: (e: WatchEvent) => void, beforePage?: BeforePage): Promise<() => void> {
    const sub: Subscriber = { filter, onEvent, cursor: this.published, live: false };
    const unsubscribe = (): void => void this.subs.delete(sub);
    if (since === undefined || since === '' || (since === '0' && (await this.compactedRevision()) > 0)) {
      sub.cursor = this.published;
      sub.live = true;
      this.subs.add(sub);
      return unsubscribe;
    }
    const from = Number(since);
    if (!Number.isInteger(from) || from < 0) throw new ApiError('BadRequest', `invalid resourceVersion "${since}"`);
    await this.requireHistory(from);
    sub.cursor = from;
    this.subs.add(sub);
    // Pages until caught up with what is published; the check and going live happen in one
    // synchronous stretch, so nothing published meanwhile falls between them.
    for (;;) {
      const target = this.published;
      const page = sub.cursor < target ? await this.joined(sub.cursor, target, [sub]) : [];
      this.replayPage(sub, page, from);
      if (!this.subs.has(sub)) return unsubscribe;
      if (page.length === REPLAY_PAGE) {
        sub.cursor = page[page.length - 1]!.revision;
        if ((await beforePage?.()) === false) unsubscribe();
        if (!this.subs.has(sub)) return unsubscribe;
        continue;
      }
      sub.cursor = Math.max(sub.cursor, target);
      if (this.published === target) break;
    }
    sub.live = true;
    return unsubscribe;
  }

  private async compactedRevision(): Promise<number> {
    const [row] = await this.sql<Array<{ value: string }>>`SELECT value FROM meta WHERE key = 'compacted_revision'`;
    return Number(row?.value ?? 0);
  }

  private async requireHistory(from: number): Promise<void> {
    const compacted = await this.compactedRevision();
    if (from < compacted) {
      throw new ApiError('Gone', `too old resource version: ${from} (${compacted}); list again and watch from the list's resourceVersion`);
    }
  }

  async changes(after: number, limit: number): Promise<ChangeEntry[]> {
    await this.requireHistory(after);
    const rows = await this.sql<LogRow[]>`
      SELECT revision, kind, namespace, name, uid, type, origin, item, image_after, image_before FROM changes
      WHERE revision > ${after} AND revision <= ${this.published} ORDER BY revision LIMIT ${limit}`;
    return rows.map(toChangeEntry);
  }

  async listEvents(key: Partial<ObjectKey>, limit = 50): Promise<ObjectEvent[]> {
    const rows = await this.sql<EventRow[]>`SELECT kind, namespace, name, type, reason, message, count, first_ts, last_ts FROM events
      WHERE (${key.kind ?? null}::text IS NULL OR kind = ${key.kind ?? null})
        AND (${key.namespace ?? null}::text IS NULL OR namespace = ${key.namespace ?? null})
        AND (${key.name ?? null}::text IS NULL OR name = ${key.name ?? null})
      ORDER BY seq DESC LIMIT ${limit}`;
    return rows.map(toObjectEvent);
  }

  close(): void {
    this.subs.clear();
  }
}
