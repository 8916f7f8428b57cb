// Reads of claims, counters, records, the queue and documents on the shared store, and the
// record watch: this replica's records from its commits, other replicas' read back by id
// (ids are assigned under the revision lock, so they too become visible in order).
import { ApiError } from '../../api/errors.js';
import { DOCUMENT_COLUMNS, DOCUMENT_SCOPES_SQL, FILTER_FIELD, jsonTextsOf, toDocument, type DocumentRow } from '../document-rows.js';
import type { DataPlaneStore, DeliveryQuery, DeliveryRecord, DeliveryWatchFilter, DocumentQuery, DueQuery, Job, OwnerCount, QueuedMessage, StoredDocument } from '../types.js';
import { JOB_COLUMNS } from '../job-rows.js';
import type { Sql } from './connect.js';
import { RECORD_COLUMNS, RECORD_PAGE, recordMatches, toRecord, type RecordRow, type RecordWatcher } from '../record-rows.js';

const MESSAGE_COLUMNS = 'id, owner, owner_uid AS "ownerUid", message_id AS "messageId", body, meta, attempt, due_at AS "dueAt"';

export class PgDataPlane implements DataPlaneStore {
  private readonly watchers = new Set<RecordWatcher>();
  /** The newest record id shown to live watchers. */
  private seen = 0;

  constructor(private readonly sql: Sql) {}

  async start(): Promise<void> {
    const [row] = await this.sql<Array<{ id: number | null }>>`SELECT MAX(id) AS id FROM deliveries`;
    this.seen = row?.id ?? 0;
  }

  get watched(): boolean {
    return this.watchers.size > 0;
  }

  private recordsAfter(id: number, below = Number.MAX_SAFE_INTEGER): Promise<RecordRow[]> {
    return this.sql<RecordRow[]>`SELECT ${this.sql.unsafe(RECORD_COLUMNS)} FROM deliveries WHERE id > ${id} AND id < ${below} ORDER BY id LIMIT ${RECORD_PAGE}`;
  }

  private show(records: DeliveryRecord[]): void {
    for (const r of records) {
      if (r.id! <= this.seen) continue;
      this.seen = r.id!;
      for (const w of this.watchers) {
        if (!w.live || r.id! <= w.cursor) continue;
        w.cursor = r.id!;
        if (recordMatches(w.filter, r)) w.onRecord(r);
      }
    }
  }

  /** Records other replicas committed before `below` (all of them when not given). Callers serialize. */
  async catchUp(below?: number): Promise<void> {
    if (!this.watched) return;
    for (;;) {
      const page = await this.recordsAfter(this.seen, below);
      this.show(page.map(toRecord));
      if (page.length < RECORD_PAGE) return;
    }
  }

  /** This replica's records, after whatever other replicas committed before them. Callers serialize. */
  async publish(records: DeliveryRecord[]): Promise<void> {
    if (!records.length) return;
    await this.catchUp(records[0]!.id);
    this.show(records);
  }

  async watchDeliveries(filter: DeliveryWatchFilter, since: number | undefined, onRecord: (r: DeliveryRecord) => void): Promise<() => void> {
    const w: RecordWatcher = { filter, onRecord, cursor: since ?? this.seen, live: false };
    this.watchers.add(w);
    const stop = (): void => void this.watchers.delete(w);
    for (;;) {
      const target = this.seen;
      const page = since === undefined || w.cursor >= target ? [] : await this.recordsAfter(w.cursor, target + 1);
      for (const r of page.map(toRecord)) {
        w.cursor = r.id!;
        if (recordMatches(filter, r)) onRecord(r);
      }
      if (!this.watchers.has(w)) return stop;
      if (page.length === RECORD_PAGE) continue;
      w.cursor = Math.max(w.cursor, target);
      if (this.seen === target) break;
    }
    w.live = true;
    return stop;
  }

  async claim(scope: string, key: string, nowMs: number): Promise<{ result: string; expiresAt: number } | undefined> {
    const [row] = await this.sql<Array<{ result: string; expiresAt: number }>>`SELECT result, expires_at AS "expiresAt" FROM claims
      WHERE scope = ${scope} AND key = ${key} AND expires_at > ${nowMs}`;
    return row;
  }

  async listDeliveries(q: DeliveryQuery): Promise<DeliveryRecord[]> {
    const rows = await this.sql<RecordRow[]>`SELECT ${this.sql.unsafe(RECORD_COLUMNS)} FROM deliveries
      WHERE (${q.owner ?? null}::text IS NULL OR owner = ${q.owner ?? null})
        AND (${q.namespace ?? null}::text IS NULL OR namespace = ${q.namespace ?? null})
        AND (${q.eventId ?? null}::text IS NULL OR event_id = ${q.eventId ?? null})
        AND (${q.outcome ?? null}::text IS NULL OR outcome = ${q.outcome ?? null})
        AND id < ${q.before ?? Number.MAX_SAFE_INTEGER} AND id > ${q.after ?? 0}
      ORDER BY id ${this.sql.unsafe(q.after === undefined ? 'DESC' : 'ASC')} LIMIT ${Math.min(q.limit ?? 100, 1000)}`;
    return rows.map(toRecord);
  }

  async counters(scopes: string[]): Promise<Map<string, Record<string, number>>> {
    const out = new Map<string, Record<string, number>>();
    if (!scopes.length) return out;
    const rows = await this.sql<Array<{ scope: string; name: string; value: number }>>`SELECT scope, name, value FROM counters WHERE scope = ANY(${scopes})`;
    for (const r of rows) (out.get(r.scope) ?? out.set(r.scope, {}).get(r.scope)!)[r.name] = r.value;
    return out;
  }

  async getDelivery(id: number): Promise<DeliveryRecord | undefined> {
    const [r] = await this.sql<RecordRow[]>`SELECT ${this.sql.unsafe(RECORD_COLUMNS)} FROM deliveries WHERE id = ${id}`;
    return r ? toRecord(r) : undefined;
  }

  async dueMessages(dueBy: number, limit: number, opts: DueQuery = {}): Promise<QueuedMessage[]> {
    const afterDue = opts.after?.dueAt ?? Number.MIN_SAFE_INTEGER;
    const afterId = opts.after?.id ?? 0;
    const cols = this.sql.unsafe(MESSAGE_COLUMNS);
    const base = this.sql`due_at IS NOT NULL AND due_at <= ${dueBy} AND (due_at, id) > (${afterDue}, ${afterId})`;
    if (opts.owners) return this.sql<QueuedMessage[]>`SELECT ${cols} FROM queue WHERE ${base} AND owner_uid = ANY(${[...opts.owners]}) ORDER BY due_at, id LIMIT ${limit}`;
    if (opts.skipOwners?.length) return this.sql<QueuedMessage[]>`SELECT ${cols} FROM queue WHERE ${base} AND owner_uid <> ALL(${[...opts.skipOwners]}) ORDER BY due_at, id LIMIT ${limit}`;
    return this.sql<QueuedMessage[]>`SELECT ${cols} FROM queue WHERE ${base} ORDER BY due_at, id LIMIT ${limit}`;
  }

  async job(id: number): Promise<Job | undefined> {
    const [j] = await this.sql<Job[]>`SELECT ${this.sql.unsafe(JOB_COLUMNS)} FROM jobs WHERE id = ${id}`;
    return j;
  }

  async nextJobDue(queue: string, nowMs: number): Promise<number | undefined> {
    const [r] = await this.sql<Array<{ dueAt: number }>>`SELECT due_at AS "dueAt" FROM jobs WHERE queue = ${queue} AND due_at IS NOT NULL
      AND (lease_until IS NULL OR lease_until <= ${nowMs}) ORDER BY due_at LIMIT 1`;
    return r?.dueAt;
  }

  async queueDepths(): Promise<Map<string, number>> {
    const rows = await this.sql<Array<{ ownerUid: string; count: string }>>`SELECT owner_uid AS "ownerUid", count(*) AS count FROM queue
      WHERE due_at IS NOT NULL GROUP BY owner_uid`;
    return new Map(rows.map((r) => [r.ownerUid, Number(r.count)]));
  }

  async jobDepths(queue: string): Promise<OwnerCount[]> {
    const rows = await this.sql<Array<{ ownerUid: string; owner: string; count: string }>>`SELECT owner_uid AS "ownerUid", min(owner) AS owner,
      count(*) AS count FROM jobs WHERE queue = ${queue} AND due_at IS NOT NULL GROUP BY owner_uid`;
    return rows.map((r) => ({ ...r, count: Number(r.count) }));
  }

  async message(id: number): Promise<QueuedMessage | undefined> {
    const [m] = await this.sql<QueuedMessage[]>`SELECT ${this.sql.unsafe(MESSAGE_COLUMNS)} FROM queue WHERE id = ${id}`;
    return m;
  }

  async cursor(name: string): Promise<number | undefined> {
    const [row] = await this.sql<Array<{ value: string }>>`SELECT value FROM meta WHERE key = ${`cursor:${name}`}`;
    return row === undefined ? undefined : Number(row.value);
  }

  async getDocument(collectionUid: string, id: string): Promise<StoredDocument | undefined> {
    const [r] = await this.sql<DocumentRow[]>`SELECT ${this.sql.unsafe(DOCUMENT_COLUMNS)} FROM documents WHERE collection = ${collectionUid} AND id = ${id}`;
    return r ? toDocument(r) : undefined;
  }

  async listDocuments(collectionUid: string, q: DocumentQuery): Promise<{ items: StoredDocument[]; more: boolean }> {
    const args: unknown[] = [collectionUid];
    const arg = (v: unknown): string => (args.push(v), `$${args.length}`);
    const where = ['collection = $1'];
    if (!q.includeDeleted) where.push('deleted_at IS NULL');
    if (q.after !== undefined) where.push(`id > ${arg(q.after)}`);
    for (const [field, value] of Object.entries(q.where ?? {})) {
      if (!FILTER_FIELD.test(field)) throw new ApiError('BadRequest', `cannot filter on "${field}": a filter names a top-level field (letters, digits, _ and -)`);
      // Compared as jsonb, so a number matches however it was written (3 and 3.0).
      where.push(`(data::jsonb -> ${arg(field)}::text) = ANY(${arg(jsonTextsOf(value))}::text[]::jsonb[])`);
    }
    const rows = await this.sql.unsafe<DocumentRow[]>(`SELECT ${DOCUMENT_COLUMNS} FROM documents WHERE ${where.join(' AND ')} ORDER BY id LIMIT ${arg(q.limit + 1)}`, args as never[], { prepare: true });
    const more = rows.length > q.limit;
    return { items: (more ? rows.slice(0, q.limit) : [...rows]).map(toDocument), more };
  }

  async documentScopes(): Promise<string[]> {
    const rows = await this.sql.unsafe<Array<{ collection: string }>>(DOCUMENT_SCOPES_SQL, [], { prepare: true });
    return rows.map((r) => r.collection);
  }
}
