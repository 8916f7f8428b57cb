import type { ObjectKey } from '../../api/types.js';
import type { EventType, ObjectEvent } from '../types.js';
import type { DB } from './db.js';

let seq = Date.now();

/** Events about objects (kubectl-describe style): a repeat bumps the count of its row. */
export function recordEvent(db: DB, key: ObjectKey, type: EventType, reason: string, message: string): void {
  const now = new Date().toISOString();
  db.prepare(`INSERT INTO events (kind, namespace, name, type, reason, message, count, first_ts, last_ts, seq)
      VALUES (?, ?, ?, ?, ?, ?, 1, ?, ?, ?)
      ON CONFLICT (kind, namespace, name, reason, message) DO UPDATE SET count = count + 1, last_ts = excluded.last_ts, seq = excluded.seq, type = excluded.type`)
    .run(key.kind, key.namespace, key.name, type, reason, message, now, now, ++seq);
}

interface EventRow {
  kind: string;
  namespace: string;
  name: string;
  type: EventType;
  reason: string;
  message: string;
  count: number;
  first_ts: string;
  last_ts: string;
}

export function listEvents(db: DB, key: Partial<ObjectKey>, limit: number): ObjectEvent[] {
  const where: string[] = [];
  const args: unknown[] = [];
  for (const f of ['kind', 'namespace', 'name'] as const) {
    if (key[f] !== undefined) (where.push(`${f} = ?`), args.push(key[f]));
  }
  const rows = db
    .prepare(`SELECT * FROM events ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY seq DESC LIMIT ?`)
    .all(...args, limit) as EventRow[];
  return rows.map((r) => ({
    involvedObject: { kind: r.kind, namespace: r.namespace, name: r.name },
    type: r.type,
    reason: r.reason,
    message: r.message,
    count: r.count,
    firstTimestamp: r.first_ts,
    lastTimestamp: r.last_ts,
  }));
}
