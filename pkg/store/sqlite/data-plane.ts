import type { DataPlaneStore, DeliveryQuery, DeliveryRecord } from '../types.js';
import type { DB } from './db.js';

interface RecordRow {
  id: number;
  ts: string;
  owner: string;
  event_id: string | null;
  outcome: DeliveryRecord['outcome'];
  reason: string | null;
  http_status: number | null;
  duration_ms: number | null;
  result: string | null;
}

function toRecord(r: RecordRow): DeliveryRecord {
  return {
    id: r.id,
    ts: r.ts,
    owner: r.owner,
    outcome: r.outcome,
    ...(r.event_id !== null ? { eventId: r.event_id } : {}),
    ...(r.reason !== null ? { reason: r.reason } : {}),
    ...(r.http_status !== null ? { httpStatus: r.http_status } : {}),
    ...(r.duration_ms !== null ? { durationMs: r.duration_ms } : {}),
    ...(r.result !== null ? { result: r.result } : {}),
  };
}

/** Reads of claims, counters and records on the main thread's connection; writes go through the writer. */
export class SqliteDataPlane implements DataPlaneStore {
  private readonly counterRows;
  private readonly claimRow;

  constructor(private readonly db: DB) {
    this.counterRows = db.prepare('SELECT name, value FROM counters WHERE scope = ?');
    this.claimRow = db.prepare('SELECT result, expires_at AS expiresAt FROM claims WHERE scope = ? AND key = ? AND expires_at > ?');
  }

  async claim(scope: string, key: string, nowMs: number): Promise<{ result: string; expiresAt: number } | undefined> {
    return this.claimRow.get(scope, key, nowMs) as { result: string; expiresAt: number } | undefined;
  }

  async listDeliveries(q: DeliveryQuery): Promise<DeliveryRecord[]> {
    const where: string[] = [];
    const args: unknown[] = [];
    const add = (sql: string, v: unknown): void => void (where.push(sql), args.push(v));
    if (q.owner) add('owner = ?', q.owner);
    if (q.namespace) add('namespace = ?', q.namespace);
    if (q.outcome) add('outcome = ?', q.outcome);
    if (q.before) add('id < ?', q.before);
    const sql = `SELECT id, ts, owner, event_id, outcome, reason, http_status, duration_ms, result FROM deliveries
      ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT ?`;
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
