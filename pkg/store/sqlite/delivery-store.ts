import type { BufferedCounts, DeliveryQuery, DeliveryRecord, DeliveryStore, ReceiverCounts, TaskDelivery, TaskDeliveryResult } from '../types.js';
import type { StoredResource } from '../../api/types.js';
import type { WireDelivery } from './delivery-wire.js';
import { DeliveryWriter } from './delivery-writer.js';
import { DedupFilter, dedupKey } from './dedup-filter.js';
import type { SqliteResourceStore } from './resource-store.js';
import { SQL } from './statements.js';

interface RecordRow {
  id: number;
  ts: string;
  owner: string;
  event_id: string | null;
  outcome: DeliveryRecord['outcome'];
  reason: string | null;
  http_status: number | null;
  duration_ms: number | null;
  task: string | null;
}

const namespaceOfOwner = (owner: string): string => owner.split('/')[1] ?? '';

function toWire(d: TaskDelivery): WireDelivery {
  const t = d.task;
  const labels = t?.metadata.labels ?? {};
  return {
    ownerUid: d.ownerUid,
    eventId: d.eventId,
    expiresAt: d.nowMs + d.windowMs,
    nowMs: d.nowMs,
    record: { ts: d.record.ts, owner: d.record.owner, namespace: namespaceOfOwner(d.record.owner), httpStatus: d.record.httpStatus ?? null, durationMs: d.record.durationMs ?? null },
    task: t && {
      kind: t.kind,
      namespace: t.metadata.namespace,
      name: t.metadata.name,
      uid: t.metadata.uid,
      generation: t.metadata.generation,
      created: t.metadata.creationTimestamp,
      labels: Object.entries(labels),
      labelsJson: Object.keys(labels).length ? JSON.stringify(labels) : null,
      annotationsJson: t.metadata.annotations && Object.keys(t.metadata.annotations).length ? JSON.stringify(t.metadata.annotations) : null,
      specJson: JSON.stringify(t.spec),
      statusJson: JSON.stringify(t.status),
    },
  };
}

/**
 * Dedup, run tasks, delivery records and counters share the resource store's database
 * and transactions, so one commit makes a delivery's whole effect durable at once.
 */
export class SqliteDeliveryStore implements DeliveryStore {
  private readonly q;

  private readonly writer: DeliveryWriter;
  private filter: DedupFilter;
  /** While a larger filter is being filled from the table, new keys go to both. */
  private next?: DedupFilter;

  constructor(
    private readonly resources: SqliteResourceStore,
    dataDir: string,
  ) {
    this.writer = new DeliveryWriter(dataDir);
    const db = resources.db;
    const keys = db.prepare('SELECT COUNT(*) FROM dedup').pluck().get() as number;
    this.filter = new DedupFilter(Math.max(1 << 20, keys * 2));
    for (const r of db.prepare('SELECT owner_uid, event_id FROM dedup').raw().iterate() as Iterable<[string, string]>) {
      this.filter.add(dedupKey(r[0], r[1]));
    }
    this.q = {
      record: db.prepare(SQL.addRecord),
      dedup: db.prepare(SQL.getDedup),
      count: db.prepare(SQL.addCounts),
      counts: db.prepare('SELECT accepted, duplicate, rejected FROM receiver_counts WHERE owner_uid = ?'),
      pruneDedup: db.prepare(`DELETE FROM dedup WHERE (owner_uid, event_id) IN
        (SELECT owner_uid, event_id FROM dedup WHERE expires_at <= ? ORDER BY expires_at LIMIT ?)`),
      pruneRecords: db.prepare(`DELETE FROM deliveries WHERE id IN
        (SELECT id FROM deliveries WHERE id <= (SELECT MAX(id) FROM deliveries) - ? ORDER BY id LIMIT ?)`),
    };
  }

  /** Runs on the writer thread while the main thread keeps serving; see DeliveryWriter. */
  async commitTaskDeliveries(items: TaskDelivery[]): Promise<TaskDeliveryResult[]> {
    return this.resources.exclusive(async (baseRev) => {
      const { rev, results } = await this.writer.commit(baseRev, items.map(toWire));
      const created: StoredResource[] = [];
      results.forEach((r, i) => {
        const task = items[i]!.task;
        if (r.outcome === 'accepted') this.remember(dedupKey(items[i]!.ownerUid, items[i]!.eventId));
        if (r.outcome === 'accepted' && task) {
          created.push({ ...task, metadata: { ...task.metadata, name: r.task, resourceVersion: String(r.rv) } });
        }
      });
      return { rev, created, result: results.map((r): TaskDeliveryResult => (r.outcome === 'untasked' ? r : { outcome: r.outcome, task: r.task })) };
    });
  }

  private insertRecord(r: DeliveryRecord): void {
    this.q.record.run(r.ts, r.owner, namespaceOfOwner(r.owner), r.eventId ?? null, r.outcome, r.reason ?? null, r.httpStatus ?? null, r.durationMs ?? null, r.task ?? null);
  }

  async findDuplicate(ownerUid: string, eventId: string, nowMs: number): Promise<string | undefined> {
    if (!this.filter.mightContain(dedupKey(ownerUid, eventId))) return undefined;
    const row = this.q.dedup.get(ownerUid, eventId) as { expires_at: number; task: string } | undefined;
    return row && row.expires_at > nowMs ? row.task : undefined;
  }

  private remember(key: string): void {
    this.filter.add(key);
    this.next?.add(key);
    if (this.filter.full && !this.next) void this.grow();
  }

  /** Refills a filter twice the size from the table in small chunks, then swaps it in. */
  private async grow(): Promise<void> {
    const next = (this.next = new DedupFilter(this.filter.capacity * 2));
    const page = this.resources.db.prepare(
      'SELECT owner_uid, event_id FROM dedup WHERE (owner_uid, event_id) > (?, ?) ORDER BY owner_uid, event_id LIMIT 5000',
    ).raw();
    let after: [string, string] = ['', ''];
    for (;;) {
      const rows = page.all(...after) as Array<[string, string]>;
      for (const r of rows) next.add(dedupKey(r[0], r[1]));
      if (rows.length < 5000) break;
      after = rows[rows.length - 1]!;
      await new Promise((r) => setImmediate(r));
    }
    this.filter = next;
    this.next = undefined;
  }

  async recordBuffered(records: DeliveryRecord[], counts: Map<string, BufferedCounts>): Promise<void> {
    if (!records.length && !counts.size) return;
    await this.resources.write(() => {
      for (const r of records) this.insertRecord(r);
      for (const [uid, c] of counts) this.q.count.run(uid, 0, c.duplicate, c.rejected);
    });
  }

  async counts(ownerUid: string): Promise<ReceiverCounts> {
    const r = this.q.counts.get(ownerUid) as Omit<ReceiverCounts, 'ownerUid'> | undefined;
    return { ownerUid, accepted: r?.accepted ?? 0, duplicate: r?.duplicate ?? 0, rejected: r?.rejected ?? 0 };
  }

  async listDeliveries(q: DeliveryQuery): Promise<DeliveryRecord[]> {
    const where: string[] = [];
    const args: unknown[] = [];
    const add = (sql: string, v: unknown): void => void (where.push(sql), args.push(v));
    if (q.owner) add('owner = ?', q.owner);
    if (q.namespace) add('namespace = ?', q.namespace);
    if (q.outcome) add('outcome = ?', q.outcome);
    if (q.before) add('id < ?', q.before);
    const sql = `SELECT id, ts, owner, event_id, outcome, reason, http_status, duration_ms, task FROM deliveries
      ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT ?`;
    const rows = this.resources.db.prepare(sql).all(...args, Math.min(q.limit ?? 100, 1000)) as RecordRow[];
    return rows.map((r) => ({
      id: r.id,
      ts: r.ts,
      owner: r.owner,
      outcome: r.outcome,
      ...(r.event_id !== null ? { eventId: r.event_id } : {}),
      ...(r.reason !== null ? { reason: r.reason } : {}),
      ...(r.http_status !== null ? { httpStatus: r.http_status } : {}),
      ...(r.duration_ms !== null ? { durationMs: r.duration_ms } : {}),
      ...(r.task !== null ? { task: r.task } : {}),
    }));
  }

  async close(): Promise<void> {
    await this.writer.close();
  }

  async prune(nowMs: number, keepRecords: number, chunk: number): Promise<number> {
    return this.resources.write(() => this.q.pruneDedup.run(nowMs, chunk).changes + this.q.pruneRecords.run(keepRecords, chunk).changes);
  }
}
