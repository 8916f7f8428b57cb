// Group commit on PostgreSQL: one transaction at a time per replica, holding every unit that
// queued while the previous one committed, so batches grow with the load. Its first
// statement locks the revision row: revisions (and record and message ids) are assigned
// inside the lock and become visible in commit order on every replica, as kine requires.
import type { Sql, TransactionSql } from 'postgres';
import { ApiError } from '../../api/errors.js';
import type { WatchEvent } from '../../api/types.js';
import { unitResult } from '../results.js';
import type { DeliveryRecord, Maintenance, Unit, UnitResult } from '../types.js';
import { runBatch, type Outcome } from './batch.js';
import { dropDocuments } from './document-ops.js';
import { WriteTx, type OpsContext } from './ops.js';

interface Waiting {
  unit: Unit;
  resolve(r: UnitResult): void;
  reject(e: Error): void;
}

/** What one commit published: in revision order, before any of its callers is answered. */
export type Publish = (rev: number, changes: WatchEvent[], records: DeliveryRecord[]) => Promise<void>;

export class PgWriter {
  private waiting: Waiting[] = [];
  private maintenance?: { m: Maintenance; done(n: number): void };
  private running = false;
  private closed = false;
  private idle: Array<() => void> = [];
  /** Units of another origin than `delivery` taken and not yet published (see unpublished()). */
  private control = 0;

  constructor(
    private readonly sql: Sql,
    private readonly ctx: OpsContext,
    private readonly publish: Publish,
    /** Whether anyone watches records: they are not built for nobody. */
    private readonly wantRecords: () => boolean,
  ) {}

  commit(unit: Unit): Promise<UnitResult> {
    if (this.closed) return Promise.reject(new ApiError('ServiceUnavailable', 'the store is closed'));
    return new Promise((resolve, reject) => {
      this.waiting.push({ unit, resolve, reject });
      this.kick();
    });
  }

  unpublished(): boolean {
    return this.control > 0;
  }

  maintain(m: Maintenance): Promise<number> {
    return new Promise((done) => {
      this.maintenance?.done(0);
      this.maintenance = { m, done };
      this.kick();
    });
  }

  private kick(): void {
    if (this.running) return;
    this.running = true;
    // The rest of this turn's units join the first transaction.
    setImmediate(() => void this.loop());
  }

  private async loop(): Promise<void> {
    while (this.waiting.length || this.maintenance) {
      const batch = this.waiting;
      const maint = this.maintenance;
      this.waiting = [];
      this.maintenance = undefined;
      if (batch.length) await this.run(batch);
      if (maint) maint.done(await this.maintainNow(maint.m).catch(() => 0));
    }
    this.running = false;
    for (const r of this.idle.splice(0)) r();
  }

  private async run(batch: Waiting[]): Promise<void> {
    let control = 0;
    for (const w of batch) if (w.unit.origin !== 'delivery') control++;
    this.control += control;
    try {
      let done: { rev: number; outcomes: Outcome[] };
      try {
        done = await this.transact(batch, false);
      } catch {
        // One unit the database refused takes its batch down: try again, each unit alone.
        done = await this.transact(batch, true);
      }
      const changes: WatchEvent[] = [];
      const records: DeliveryRecord[] = [];
      const answers = batch.map((w, i) => this.answer(w, done.outcomes[i]!, changes, records));
      // Leading creates took their revisions ahead of the rest of their units: watchers see revision order.
      changes.sort((x, y) => x.revision - y.revision);
      await this.publish(done.rev, changes, records).catch(() => undefined);
      for (const a of answers) a();
    } catch (e) {
      const err = new ApiError('ServiceUnavailable', `the store could not commit: ${(e as { code?: string }).code ?? (e as Error).message}`);
      for (const w of batch) w.reject(err);
    } finally {
      this.control -= control;
    }
  }

  private transact(batch: Waiting[], isolated: boolean): Promise<{ rev: number; outcomes: Outcome[] }> {
    return this.sql.begin(async (tx: TransactionSql) => {
      const [row] = await tx<Array<{ rev: number }>>`SELECT rev FROM revision FOR UPDATE`;
      const start = row!.rev;
      const w = new WriteTx(tx, start, this.ctx);
      const outcomes = await runBatch(w, batch.map((b) => b.unit), isolated);
      w.writeCounts();
      if (w.rev !== start) w.defer(tx`UPDATE revision SET rev = ${w.rev}`);
      // Delivered at commit, to every replica's listener (this one's too).
      w.defer(tx`SELECT pg_notify('orloj', ${String(w.rev)})`);
      await w.flush();
      return { rev: w.rev, outcomes };
    });
  }

  private answer(w: Waiting, out: Outcome, changes: WatchEvent[], records: DeliveryRecord[]): () => void {
    if (!out.ok) {
      if ('held' in out) return () => w.resolve({ held: true, ...out.held });
      return () => w.reject(out.error);
    }
    const result = unitResult(w.unit, out.ops, this.ctx.codec, changes, this.wantRecords() ? records : undefined);
    return () => w.resolve(result);
  }

  private async maintainNow(m: Maintenance): Promise<number> {
    let n = 0;
    const sql = this.sql;
    if (m.compactTo) {
      // History a reader with a cursor has not read yet is kept (e.g. changes not yet dispatched).
      const [low] = await sql<Array<{ v: number | null }>>`SELECT MIN(value::bigint) AS v FROM meta WHERE key LIKE 'cursor:%'`;
      const upTo = Math.min(m.compactTo, low?.v ?? Infinity);
      if (upTo > 0) {
        const gone = await sql`DELETE FROM changes WHERE revision <= LEAST(${upTo}, (SELECT MIN(revision) FROM changes) + ${m.chunk})`;
        n += gone.count;
        await sql`INSERT INTO meta (key, value) VALUES ('compacted_revision', ${String(upTo)})
          ON CONFLICT (key) DO UPDATE SET value = GREATEST(meta.value::bigint, excluded.value::bigint)::text`;
      }
    }
    if (m.claimsBefore) {
      n += (await sql`DELETE FROM claims WHERE (scope, key) IN (SELECT scope, key FROM claims WHERE expires_at <= ${m.claimsBefore} ORDER BY expires_at LIMIT ${m.chunk})`).count;
    }
    if (m.keepRecords) {
      const [c] = await sql<Array<{ n: number }>>`SELECT COUNT(*)::bigint AS n FROM deliveries`;
      const over = (c?.n ?? 0) - m.keepRecords;
      if (over > 0) n += (await sql`DELETE FROM deliveries WHERE id IN (SELECT id FROM deliveries ORDER BY id LIMIT ${Math.min(m.chunk, over)})`).count;
    }
    if (m.dropDocuments) n += await dropDocuments(sql, m.dropDocuments, m.chunk);
    if (m.purge) {
      // Rewrites the tables Secrets live in, so no dead tuple keeps a replaced value.
      await sql`VACUUM FULL resources, changes`;
      n += 1;
    }
    return n;
  }

  /** Commits what is queued; later commits are refused. */
  async close(): Promise<void> {
    if (this.running) await new Promise<void>((r) => this.idle.push(r));
    this.closed = true;
  }
}
