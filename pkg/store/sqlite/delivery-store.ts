import { join } from 'node:path';
import { LRUCache } from 'lru-cache';
import type { DeliveryQuery, DeliveryRecord, DeliveryStore, NotedDelivery, TaskDelivery, TaskDeliveryResult } from '../types.js';
import type { WireDelivery, WireRecord } from './delivery-wire.js';
import { DeliveryWriter } from './delivery-writer.js';
import type { SqliteResourceStore } from './resource-store.js';

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

function toWireRecord(r: DeliveryRecord): WireRecord {
  return {
    ts: r.ts, owner: r.owner, eventId: r.eventId ?? null, outcome: r.outcome, reason: r.reason ?? null,
    httpStatus: r.httpStatus ?? null, durationMs: r.durationMs ?? null, task: r.task ?? null,
  };
}

/** Objects shared by many tasks (a run task's initial status) are serialized once. */
const serialized = new WeakMap<object, string>();
function json(o: object): string {
  let s = serialized.get(o);
  if (s === undefined) {
    s = JSON.stringify(o);
    if (Object.isFrozen(o)) serialized.set(o, s);
  }
  return s;
}

const hasKeys = (o: object | undefined): o is object => !!o && Object.keys(o).length > 0;

function toWire(d: TaskDelivery): WireDelivery {
  const t = d.task;
  return {
    ownerUid: d.ownerUid,
    eventId: d.eventId,
    expiresAt: d.nowMs + d.windowMs,
    nowMs: d.nowMs,
    record: toWireRecord(d.record),
    task: t && {
      kind: t.kind,
      namespace: t.metadata.namespace,
      name: t.metadata.name,
      uid: t.metadata.uid,
      generation: t.metadata.generation,
      created: t.metadata.creationTimestamp,
      labels: Object.entries(t.metadata.labels ?? {}).flat(),
      labelsJson: hasKeys(t.metadata.labels) ? JSON.stringify(t.metadata.labels) : null,
      annotationsJson: hasKeys(t.metadata.annotations) ? JSON.stringify(t.metadata.annotations) : null,
      specJson: JSON.stringify(t.spec),
      statusJson: json(t.status),
    },
  };
}

/** Replayed events remembered: a replay storm is answered from memory after one read each. */
const RECENT_REPLAYS = 10_000;
/** How often an idle writer is given a transaction for due statuses and waiting notes. */
const TICK_MS = 200;

const eventKey = (ownerUid: string, eventId: string): string => `${ownerUid}\n${eventId}`;

/**
 * Dedup, run tasks, delivery records and counters live in the resource store's database,
 * written by the delivery writer thread (see DeliveryWriter), so one commit makes a
 * delivery's whole effect durable at once while the main thread keeps serving.
 */
export class SqliteDeliveryStore implements DeliveryStore {
  private readonly writer: DeliveryWriter;
  /** Events seen again within their window, by receiver and event id. */
  private readonly recent = new LRUCache<string, { task: string; expiresAt: number }>({ max: RECENT_REPLAYS });
  private readonly ticker: NodeJS.Timeout;

  constructor(
    private readonly resources: SqliteResourceStore,
    dataDir: string,
  ) {
    this.writer = new DeliveryWriter(join(dataDir, 'orloj.db'), (from, rev, events) => resources.publishCommitted(from, rev, events));
    resources.shareWrites(this.writer);
    this.ticker = setInterval(() => this.writer.tick(), TICK_MS);
    this.ticker.unref();
  }

  async commitTaskDelivery(item: TaskDelivery): Promise<TaskDeliveryResult> {
    const r = await this.writer.submit(toWire(item));
    if (r.outcome === 'untasked') return r;
    // Only replayed events: caching every new one would churn the heap at full speed for nothing.
    if (r.outcome === 'duplicate') this.recent.set(eventKey(item.ownerUid, item.eventId), { task: r.task, expiresAt: r.expiresAt });
    return { outcome: r.outcome, task: r.task };
  }

  recentTask(ownerUid: string, eventId: string, nowMs: number): string | undefined {
    const hit = this.recent.get(eventKey(ownerUid, eventId));
    return hit && hit.expiresAt > nowMs ? hit.task : undefined;
  }

  note(ownerUid: string, record: NotedDelivery): void {
    this.writer.note(ownerUid, record.outcome, toWireRecord(record));
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

  prune(nowMs: number, keepRecords: number, chunk: number): Promise<number> {
    return this.writer.prune({ nowMs, keepRecords, chunk });
  }

  async close(): Promise<void> {
    clearInterval(this.ticker);
    await this.writer.close();
  }
}
