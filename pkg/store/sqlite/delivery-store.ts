import type { DeliveryQuery, DeliveryRecord, DeliveryStore, ReceiverCounts, TaskDelivery, TaskDeliveryResult } from '../types.js';
import type { SqliteResourceStore } from './resource-store.js';

interface DedupRow {
  expires_at: number;
  seq: number;
  task: string;
}

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

/**
 * Dedup, run tasks, delivery records and counters share the resource store's database
 * and transactions, so one commit makes a delivery's whole effect durable at once.
 */
export class SqliteDeliveryStore implements DeliveryStore {
  private readonly q;

  constructor(private readonly resources: SqliteResourceStore) {
    const db = resources.db;
    this.q = {
      dedup: db.prepare('SELECT expires_at, seq, task FROM dedup WHERE owner_uid = ? AND event_id = ?'),
      putDedup: db.prepare('INSERT OR REPLACE INTO dedup (owner_uid, event_id, expires_at, seq, task) VALUES (?, ?, ?, ?, ?)'),
      record: db.prepare(`INSERT INTO deliveries (ts, owner, namespace, event_id, outcome, reason, http_status, duration_ms, task)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`),
      count: db.prepare(`INSERT INTO receiver_counts (owner_uid, accepted, duplicate, rejected) VALUES (?, ?, ?, ?)
        ON CONFLICT (owner_uid) DO UPDATE SET accepted = accepted + excluded.accepted,
          duplicate = duplicate + excluded.duplicate, rejected = rejected + excluded.rejected`),
      counts: db.prepare('SELECT accepted, duplicate, rejected FROM receiver_counts WHERE owner_uid = ?'),
      pruneDedup: db.prepare(`DELETE FROM dedup WHERE (owner_uid, event_id) IN
        (SELECT owner_uid, event_id FROM dedup WHERE expires_at <= ? ORDER BY expires_at LIMIT ?)`),
      pruneRecords: db.prepare(`DELETE FROM deliveries WHERE id IN
        (SELECT id FROM deliveries WHERE id <= (SELECT MAX(id) FROM deliveries) - ? ORDER BY id LIMIT ?)`),
    };
  }

  async commitTaskDeliveries(items: TaskDelivery[]): Promise<TaskDeliveryResult[]> {
    return this.resources.tx(() => {
      const tally = new Map<string, [number, number]>();
      const results = items.map((it) => {
        const r = this.commitOne(it);
        if (r.outcome === 'untasked') return r;
        const t = tally.get(it.ownerUid) ?? [0, 0];
        t[r.outcome === 'duplicate' ? 1 : 0]++;
        tally.set(it.ownerUid, t);
        return r;
      });
      for (const [uid, [acc, dup]] of tally) this.q.count.run(uid, acc, dup, 0);
      return results;
    });
  }

  private commitOne(it: TaskDelivery): TaskDeliveryResult {
    const seen = this.q.dedup.get(it.ownerUid, it.eventId) as DedupRow | undefined;
    if (seen && seen.expires_at > it.nowMs) {
      this.insertRecord({ ...it.record, outcome: 'duplicate', task: seen.task });
      return { outcome: 'duplicate', task: seen.task };
    }
    // After an expired window the event is new again; a fresh sequence number keeps the
    // deterministic name from colliding with the earlier run task.
    let seq = (seen?.seq ?? 0) + 1;
    let task = it.makeTask(seq);
    if (!task) return { outcome: 'untasked' };
    while (this.resources.getSync(task.kind, task.metadata.namespace, task.metadata.name)) task = it.makeTask(++seq)!;
    this.resources.insert(task);
    this.q.putDedup.run(it.ownerUid, it.eventId, it.nowMs + it.windowMs, seq, task.metadata.name);
    this.insertRecord({ ...it.record, outcome: 'accepted', task: task.metadata.name });
    return { outcome: 'accepted', task: task.metadata.name };
  }

  private insertRecord(r: DeliveryRecord): void {
    this.q.record.run(r.ts, r.owner, namespaceOfOwner(r.owner), r.eventId ?? null, r.outcome, r.reason ?? null, r.httpStatus ?? null, r.durationMs ?? null, r.task ?? null);
  }

  async recordRejections(records: DeliveryRecord[], rejectedByOwnerUid: Map<string, number>): Promise<void> {
    if (!records.length && !rejectedByOwnerUid.size) return;
    this.resources.tx(() => {
      for (const r of records) this.insertRecord(r);
      for (const [uid, n] of rejectedByOwnerUid) this.q.count.run(uid, 0, 0, n);
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

  async prune(nowMs: number, keepRecords: number, chunk: number): Promise<number> {
    return this.resources.tx(() => this.q.pruneDedup.run(nowMs, chunk).changes + this.q.pruneRecords.run(keepRecords, chunk).changes);
  }
}
