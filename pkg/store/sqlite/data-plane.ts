// Reads of claims, counters, records, the queue and documents on the main thread's connection; writes go through the writer.
import type { DataPlaneStore, DeliveryQuery, DeliveryRecord, DeliveryWatchFilter, DocumentQuery, DueQuery, Job, OwnerCount, QueuedMessage, StoredDocument } from '../types.js';
import { JOB_COLUMNS } from '../job-rows.js';
import type { DB } from './db.js';
import { SqliteDocuments } from './documents.js';
import { RECORD_COLUMNS, RECORD_PAGE, recordMatches, toRecord, type RecordRow, type RecordWatcher } from '../record-rows.js';

const MESSAGE_COLUMNS = 'id, owner, owner_uid AS ownerUid, message_id AS messageId, body, meta, attempt, due_at AS dueAt';
/** The due index carries the owner: skipping (or keeping) owners reads no row it does not return. */
const DUE = `SELECT ${MESSAGE_COLUMNS} FROM queue WHERE due_at IS NOT NULL AND due_at <= ? AND (due_at, id) > (?, ?)`;

export class SqliteDataPlane implements DataPlaneStore {
  private readonly counterRows;
  private readonly claimRow;
  private readonly recordsAfter;
  private readonly q;
  private readonly watchers = new Set<RecordWatcher>();
  private readonly documents: SqliteDocuments;

  constructor(private readonly db: DB) {
    this.documents = new SqliteDocuments(db);
    this.counterRows = db.prepare('SELECT name, value FROM counters WHERE scope = ?');
    this.claimRow = db.prepare('SELECT result, expires_at AS expiresAt FROM claims WHERE scope = ? AND key = ? AND expires_at > ?');
    this.recordsAfter = db.prepare(`SELECT ${RECORD_COLUMNS} FROM deliveries WHERE id > ? ORDER BY id LIMIT ${RECORD_PAGE}`);
    this.q = {
      record: db.prepare(`SELECT ${RECORD_COLUMNS} FROM deliveries WHERE id = ?`),
      due: db.prepare(`${DUE} ORDER BY due_at, id LIMIT ?`),
      dueOf: db.prepare(`${DUE} AND owner_uid IN (SELECT value FROM json_each(?)) ORDER BY due_at, id LIMIT ?`),
      dueNotOf: db.prepare(`${DUE} AND owner_uid NOT IN (SELECT value FROM json_each(?)) ORDER BY due_at, id LIMIT ?`),
      message: db.prepare(`SELECT ${MESSAGE_COLUMNS} FROM queue WHERE id = ?`),
      cursor: db.prepare('SELECT value FROM meta WHERE key = ?').pluck(),
      job: db.prepare(`SELECT ${JOB_COLUMNS} FROM jobs WHERE id = ?`),
      nextJob: db.prepare(`SELECT due_at FROM jobs WHERE queue = ? AND due_at IS NOT NULL AND (lease_until IS NULL OR lease_until <= ?)
        ORDER BY due_at LIMIT 1`).pluck(),
      // Read from the due index alone, which carries the owner.
      queueDepths: db.prepare('SELECT owner_uid AS ownerUid, count(*) AS count FROM queue WHERE due_at IS NOT NULL GROUP BY owner_uid'),
      jobDepths: db.prepare(`SELECT owner_uid AS ownerUid, min(owner) AS owner, count(*) AS count FROM jobs
        WHERE queue = ? AND due_at IS NOT NULL GROUP BY owner_uid`),
    };
  }

  async job(id: number): Promise<Job | undefined> {
    return this.q.job.get(id) as Job | undefined;
  }

  async nextJobDue(queue: string, nowMs: number): Promise<number | undefined> {
    return (this.q.nextJob.get(queue, nowMs) as number | undefined) ?? undefined;
  }

  async queueDepths(): Promise<Map<string, number>> {
    const rows = this.q.queueDepths.all() as Array<{ ownerUid: string; count: number }>;
    return new Map(rows.map((r) => [r.ownerUid, r.count]));
  }

  async jobDepths(queue: string): Promise<OwnerCount[]> {
    return this.q.jobDepths.all(queue) as OwnerCount[];
  }

  async getDelivery(id: number): Promise<DeliveryRecord | undefined> {
    const r = this.q.record.get(id) as RecordRow | undefined;
    return r ? toRecord(r) : undefined;
  }

  async dueMessages(dueBy: number, limit: number, opts: DueQuery = {}): Promise<QueuedMessage[]> {
    const from = [dueBy, opts.after?.dueAt ?? Number.MIN_SAFE_INTEGER, opts.after?.id ?? 0];
    if (opts.owners) return this.q.dueOf.all(...from, JSON.stringify(opts.owners), limit) as QueuedMessage[];
    if (opts.skipOwners?.length) return this.q.dueNotOf.all(...from, JSON.stringify(opts.skipOwners), limit) as QueuedMessage[];
    return this.q.due.all(...from, limit) as QueuedMessage[];
  }

  async message(id: number): Promise<QueuedMessage | undefined> {
    return this.q.message.get(id) as QueuedMessage | undefined;
  }

  async cursor(name: string): Promise<number | undefined> {
    const v = this.q.cursor.get(`cursor:${name}`) as string | undefined;
    return v === undefined ? undefined : Number(v);
  }

  getDocument(collectionUid: string, id: string): Promise<StoredDocument | undefined> {
    return this.documents.getDocument(collectionUid, id);
  }

  listDocuments(collectionUid: string, q: DocumentQuery): Promise<{ items: StoredDocument[]; more: boolean }> {
    return this.documents.listDocuments(collectionUid, q);
  }

  documentScopes(): Promise<string[]> {
    return this.documents.documentScopes();
  }

  get watched(): boolean {
    return this.watchers.size > 0;
  }

  /** Records the writer committed, in id order. */
  publish(records: DeliveryRecord[]): void {
    for (const r of records) {
      for (const w of this.watchers) {
        if (!w.live || r.id! <= w.cursor) continue;
        w.cursor = r.id!;
        if (recordMatches(w.filter, r)) w.onRecord(r);
      }
    }
  }

  /** Pages through the table until caught up, then goes live in the same synchronous stretch. */
  async watchDeliveries(filter: DeliveryWatchFilter, since: number | undefined, onRecord: (r: DeliveryRecord) => void): Promise<() => void> {
    const w: RecordWatcher = { filter, onRecord, cursor: since ?? Number.MAX_SAFE_INTEGER, live: false };
    this.watchers.add(w);
    const stop = (): void => void this.watchers.delete(w);
    if (since === undefined) {
      w.cursor = 0;
      w.live = true;
      return stop;
    }
    for (;;) {
      const page = (this.recordsAfter.all(w.cursor) as RecordRow[]).map(toRecord);
      for (const r of page) {
        w.cursor = r.id!;
        if (recordMatches(filter, r)) onRecord(r);
      }
      if (page.length < RECORD_PAGE) break;
      await new Promise((r) => setImmediate(r));
      if (!this.watchers.has(w)) return stop;
    }
    w.live = true;
    return stop;
  }

  async claim(scope: string, key: string, nowMs: number): Promise<{ result: string; expiresAt: number } | undefined> {
    return this.claimRow.get(scope, key, nowMs) as { result: string; expiresAt: number } | undefined;
  }

  async listDeliveries(q: DeliveryQuery): Promise<DeliveryRecord[]> {
    const where: string[] = [];
    const args: unknown[] = [];
    const add = (sql: string, v: unknown): void => void (where.push(sql), args.push(v));
    if (q.owner) add('owner = ?', q.owner);
    if (q.eventId) add('event_id = ?', q.eventId);
    if (q.namespace) add('namespace = ?', q.namespace);
    if (q.outcome) add('outcome = ?', q.outcome);
    if (q.before) add('id < ?', q.before);
    if (q.after !== undefined) add('id > ?', q.after);
    const sql = `SELECT ${RECORD_COLUMNS} FROM deliveries
      ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id ${q.after === undefined ? 'DESC' : 'ASC'} LIMIT ?`;
    const rows = this.db.prepare(sql).all(...args, Math.min(q.limit ?? 100, 1000)) as RecordRow[];
    return rows.map(toRecord);
  }

  async counters(scopes: string[]): Promise<Map<string, Record<string, number>>> {
    const out = new Map<string, Record<string, number>>();
    for (const scope of scopes) {
      const rows = this.counterRows.all(scope) as Array<{ name: string; value: number }>;
      if (rows.length) out.set(scope, Object.fromEntries(rows.map((r) => [r.name, r.value])));
    }
    return out;
  }
}
