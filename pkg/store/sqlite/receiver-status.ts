// Receiver counters and last delivery, kept on the delivery writer thread: counts are
// committed with every transaction; each receiver's status mirrors them once they are due.
import type { Database } from 'better-sqlite3';
import type { WireRecord } from './delivery-wire.js';
import { RESOURCE_COLUMNS, SQL } from './statements.js';
import type { ResourceRow } from './rows.js';

type Outcome = 'accepted' | 'duplicate' | 'rejected';

/** The status fields a delivery moves (besides the counters). */
interface LastDelivery {
  lastDeliveryTime?: string;
  lastEventID?: string;
  lastTriggeredTask?: string;
  lastError?: string;
}

interface Seen {
  owner: string;
  counts: Record<Outcome, number>;
  last: LastDelivery;
}

function lastOf(record: WireRecord, outcome: Outcome, task: string | undefined): LastDelivery {
  const last: LastDelivery = { lastDeliveryTime: record.ts };
  if (outcome === 'rejected') last.lastError = record.reason ?? undefined;
  else if (record.eventId) last.lastEventID = record.eventId;
  if (task) last.lastTriggeredTask = task;
  return last;
}

/** A status change waits this long, so that a busy receiver's deliveries share one rewrite. */
const COALESCE_MS = 600;
/** Rewrites per transaction: thousands of receivers due at once spread over the next few. */
const MAX_REWRITES = 256;

interface Pending {
  owner: string;
  last: LastDelivery;
  /** When its oldest unwritten change was committed. */
  since: number;
}

export class ReceiverStatus {
  /** This transaction's deliveries per receiver uid; forgotten if it rolls back. */
  private tx = new Map<string, Seen>();
  /** Receivers whose status lags what was committed, oldest change first. */
  private pending = new Map<string, Pending>();
  /** Receivers whose status this transaction rewrote. */
  private written: string[] = [];
  private readonly q;

  constructor(db: Database) {
    this.q = {
      addCounts: db.prepare(SQL.addCounts),
      // json_patch keeps every other status field; RETURNING gives the main thread its watch event.
      status: db.prepare(`UPDATE resources SET rv = @rv, status = json_patch(status, json_set(@patch,
          '$.acceptedCount', c.accepted, '$.duplicateCount', c.duplicate, '$.rejectedCount', c.rejected))
        FROM receiver_counts AS c
        WHERE c.owner_uid = @uid AND resources.kind = @kind AND resources.namespace = @namespace
          AND resources.name = @name AND resources.uid = @uid AND resources.deleted_at IS NULL
        RETURNING ${RESOURCE_COLUMNS}`),
      counted: db.prepare('SELECT owner_uid, owner, accepted, duplicate, rejected FROM receiver_counts WHERE owner IS NOT NULL'),
      shown: db.prepare(`SELECT json_extract(status, '$.acceptedCount') AS accepted, json_extract(status, '$.duplicateCount') AS duplicate,
        json_extract(status, '$.rejectedCount') AS rejected FROM resources
        WHERE kind = ? AND namespace = ? AND name = ? AND uid = ? AND deleted_at IS NULL`),
    };
  }

  /** Counts `n` deliveries of one receiver in the current transaction. */
  saw(uid: string, owner: string, outcome: Outcome, record: WireRecord, task?: string, n = 1): void {
    let s = this.tx.get(uid);
    if (!s) this.tx.set(uid, (s = { owner, counts: { accepted: 0, duplicate: 0, rejected: 0 }, last: {} }));
    s.counts[outcome] += n;
    Object.assign(s.last, lastOf(record, outcome, task));
  }

  writeCounts(): void {
    for (const [uid, s] of this.tx) this.q.addCounts.run(uid, s.owner, s.counts.accepted, s.counts.duplicate, s.counts.rejected);
  }

  /**
   * Rewrites the status of each receiver whose oldest pending change is at least
   * COALESCE_MS old (every one with `all`), with this transaction's deliveries too; returns
   * the rewritten rows in revision order. Spread over the transactions that run anyway,
   * thousands of busy receivers cost a few rewrites each, never one long transaction.
   */
  writeStatuses(rev: { last: number }, nowMs: number, all: boolean): ResourceRow[] {
    const rows: ResourceRow[] = [];
    for (const [uid, p] of this.pending) {
      if (!all && (p.since > nowMs - COALESCE_MS || this.written.length >= MAX_REWRITES)) break;
      const [kind, namespace, name] = p.owner.split('/');
      const patch = JSON.stringify({ ...p.last, ...this.tx.get(uid)?.last });
      // A revision is taken only when a row changes: a receiver deleted meanwhile takes none.
      const row = this.q.status.get({ uid, kind, namespace, name, rv: rev.last + 1, patch }) as ResourceRow | undefined;
      if (row) {
        rev.last++;
        rows.push(row);
      }
      this.written.push(uid);
    }
    return rows;
  }

  committed(nowMs: number): void {
    for (const uid of this.written) this.pending.delete(uid);
    const written = new Set(this.written);
    for (const [uid, s] of this.tx) {
      if (written.has(uid)) continue; // its changes went into the rewrite
      const p = this.pending.get(uid);
      if (p) Object.assign(p.last, s.last);
      else this.pending.set(uid, { owner: s.owner, last: { ...s.last }, since: nowMs });
    }
    this.tx.clear();
    this.written = [];
  }

  rolledBack(): void {
    this.tx.clear();
    this.written = [];
  }

  get hasPending(): boolean {
    return this.pending.size > 0;
  }

  /** After a restart: every receiver whose status shows other counts than were committed is due. */
  catchUp(): void {
    type Counts = { accepted: number; duplicate: number; rejected: number };
    for (const c of this.q.counted.all() as Array<Counts & { owner_uid: string; owner: string }>) {
      const [kind, namespace, name] = c.owner.split('/');
      const shown = this.q.shown.get(kind, namespace, name, c.owner_uid) as Counts | undefined;
      if (shown && (shown.accepted !== c.accepted || shown.duplicate !== c.duplicate || shown.rejected !== c.rejected)) {
        this.pending.set(c.owner_uid, { owner: c.owner, last: {}, since: 0 });
      }
    }
  }
}
