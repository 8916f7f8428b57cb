// Group commit on PostgreSQL: one transaction at a time per replica, holding every unit that
// queued while the previous one committed, so batches grow with the load. Its first
// statement locks the revision row: revisions (and record and message ids) are assigned
// inside the lock and become visible in commit order on every replica, as kine requires.
import type { Sql, TransactionSql } from 'postgres';
import { ApiError } from '../../api/errors.js';
import type { ObjectKey, WatchEvent } from '../../api/types.js';
import { unitResult, type OpResult } from '../results.js';
import type { ClaimOp, DeliveryRecord, Maintenance, Op, Unit, UnitResult } from '../types.js';
import { expectedResult, mayFailHalfway } from '../units.js';
import { deleteDocument, dropDocuments, putDocument, requireNoDocuments } from './document-ops.js';
import { uniqueFailure, WriteTx, type OpsContext, type Precreated } from './ops.js';

type Outcome = { ok: true; ops: OpResult[] } | { ok: false; held: { result: string; expiresAt: number; op: number } } | { ok: false; error: ApiError };

interface Waiting {
  unit: Unit;
  resolve(r: UnitResult): void;
  reject(e: Error): void;
}

/** What one commit published: in revision order, before any of its callers is answered. */
export type Publish = (rev: number, changes: WatchEvent[], records: DeliveryRecord[]) => Promise<void>;

/** Errors made from a database error: the transaction is aborted, so the batch must be retried. */
const fromDatabase = new WeakSet<Error>();

function keyOfOp(op: Op): ObjectKey | undefined {
  if (op.op === 'create' || op.op === 'update') return { kind: op.object.kind, namespace: op.object.metadata.namespace, name: op.object.metadata.name };
  if (op.op === 'status' || op.op === 'delete') return op.key;
  return undefined;
}

async function apply(w: WriteTx, op: Op, origin: string, pre?: Precreated): Promise<OpResult> {
  if ((op.op === 'create' || op.op === 'update' || op.op === 'delete') && op.image) return w.withImages(op, origin);
  switch (op.op) {
    case 'create': return w.create(op.object, !!op.uniqueName, origin, pre);
    case 'update': return w.update(op.object, Number(op.expect), origin);
    case 'status': return w.status(op, origin);
    case 'delete': return w.remove(op.key, Number(op.expect ?? 0), origin);
    case 'exists': return w.exists(op.key).then(() => null);
    case 'empty': return w.requireEmpty(op.namespace).then(() => null);
    case 'count': return w.addCounts(op.scope, op.deltas), null;
    case 'record': return w.record(op.record);
    case 'trim': return w.trim(op), null;
    case 'event': return w.event(op), null;
    case 'putDocument': return putDocument(w, op);
    case 'deleteDocument': return deleteDocument(w, op);
    case 'noDocuments': return requireNoDocuments(w, op.collection).then(() => null);
    case 'enqueue': return w.enqueue(op);
    case 'settle': return w.settle(op), null;
    case 'recordUpdate': return w.finishRecord(op.id, op.set), null;
    case 'cursor': return w.cursor(op.name, op.value), null;
    case 'claim': throw new Error('claims must be the first ops of their unit');
  }
}

/** Applies an op; a unique violation becomes the refusal it means (the transaction is aborted all the same). */
async function applyMapped(w: WriteTx, op: Op, origin: string, pre?: Precreated): Promise<OpResult> {
  try {
    return await apply(w, op, origin, pre);
  } catch (e) {
    const cause = w.cause(e);
    const k = keyOfOp(op);
    const mapped = cause === e && k ? uniqueFailure(e, k) : cause instanceof ApiError ? cause : undefined;
    if (!mapped) throw cause;
    fromDatabase.add(mapped);
    throw mapped;
  }
}

const claimsOf = (ops: Op[]): ClaimOp[] => {
  const out: ClaimOp[] = [];
  for (const op of ops) {
    if (op.op !== 'claim') break;
    out.push(op);
  }
  return out;
};

type Held = { result: string; expiresAt: number; op: number };

/** What a unit's claims came to: how many lead it, or the first that is held (the others given back). */
type Claimed = number | Held;

/** Gives back the claims a held unit took, and reads the one that holds it. */
async function heldBy(w: WriteTx, claims: ClaimOp[], taken: boolean[], first: number): Promise<Held> {
  claims.forEach((c, i) => taken[i] && w.dropClaim(c.scope, c.key));
  const [row] = await w.heldClaim(claims[first]!.scope, claims[first]!.key);
  return { ...row!, op: first };
}

/**
 * Takes the claims that lead a unit, one statement each. Claims are rows under a primary key,
 * brief ones too: a copy of the event may reach another replica.
 */
async function takeClaims(w: WriteTx, ops: Op[], result: string): Promise<Claimed> {
  const claims = claimsOf(ops);
  const taken: boolean[] = [];
  for (const [i, c] of claims.entries()) {
    if ((await w.takeClaim(c.scope, c.key, c.expiresAt, c.result ?? result, c.nowMs)).count === 1) taken.push(true);
    else return heldBy(w, claims, taken, i);
  }
  return claims.length;
}

/** Whether two units of the batch claim one key: then one's answer depends on the other's fate, decided in turn. */
function claimsOverlap(units: Unit[]): boolean {
  const seen = new Set<string>();
  for (const u of units) {
    for (const c of claimsOf(u.ops)) {
      const k = `${c.scope}\n${c.key}`;
      if (seen.has(k)) return true;
      seen.add(k);
    }
  }
  return false;
}

/** The claims of every unit given in one flight. */
async function takeAllClaims(w: WriteTx, units: Unit[]): Promise<Claimed[]> {
  const flights = units.map((u) => {
    const result = expectedResult(u.ops);
    return claimsOf(u.ops).map((c) => w.takeClaim(c.scope, c.key, c.expiresAt, c.result ?? result, c.nowMs).execute());
  });
  const answers = await Promise.all(flights.map((f) => Promise.all(f)));
  return Promise.all(answers.map((rows, i) => {
    const taken = rows.map((r) => r.count === 1);
    const first = taken.indexOf(false);
    return first < 0 ? taken.length : heldBy(w, claimsOf(units[i]!.ops), taken, first);
  }));
}

/** The free-name creates that lead their units, tried in one flight, each at a revision of its own. */
async function precreate(w: WriteTx, units: Unit[], claimed: Claimed[]): Promise<Array<Precreated | undefined>> {
  const tries = units.map((u, i) => {
    const n = claimed[i];
    const op = typeof n === 'number' ? u.ops[n] : undefined;
    if (op?.op !== 'create' || !op.uniqueName || op.image || mayFailHalfway(u.ops)) return undefined;
    const rv = ++w.rev;
    return { rv, q: w.insertQuery(op.object, op.object.metadata.name, rv).execute() };
  });
  return Promise.all(tries.map(async (t) => (t ? { rv: t.rv, inserted: (await t.q).count === 1 } : undefined)));
}

async function commitUnit(w: WriteTx, u: Unit, claimed?: Claimed, pre?: Precreated): Promise<Outcome> {
  const expected = expectedResult(u.ops);
  const first = claimed ?? (await takeClaims(w, u.ops, expected));
  if (typeof first !== 'number') return { ok: false, held: first };
  const ops: OpResult[] = new Array<OpResult>(first).fill(null);
  let created: string | undefined;
  try {
    for (let i = first; i < u.ops.length; i++) {
      const op = u.ops[i]!;
      if (op.op === 'record' && op.record.result === undefined && created !== undefined) op.record.result = created;
      const r = await applyMapped(w, op, u.origin, i === first ? pre : undefined);
      if (created === undefined && r && 'name' in r && r.name !== undefined) created = r.name;
      ops.push(r);
    }
  } catch (e) {
    // A refused unit keeps none of its claims: the event can be claimed again.
    for (const c of claimsOf(u.ops)) w.dropClaim(c.scope, c.key);
    throw e;
  }
  for (let i = 0; i < first; i++) {
    const claim = u.ops[i] as ClaimOp;
    const result = claim.result ?? created ?? '';
    if (result !== (claim.result ?? expected)) w.setClaimResult(claim.scope, claim.key, result);
  }
  return { ok: true, ops };
}

/** A unit alone in a savepoint: its failure rolls back what it wrote and nothing else. */
async function commitInSavepoint(w: WriteTx, u: Unit, isolated: boolean): Promise<Outcome> {
  const { rev, tx } = w;
  const counts = new Map(w.counts);
  try {
    return await tx.savepoint(async (sp) => {
      w.tx = sp;
      const out = await commitUnit(w, u);
      // Inside the savepoint: a statement of this unit that fails rolls back this unit only.
      await w.flush();
      return out;
    });
  } catch (e) {
    const cause = w.cause(e);
    w.rev = rev;
    w.counts = counts;
    if (cause instanceof ApiError) return { ok: false, error: cause };
    if (isolated) return { ok: false, error: new ApiError('InternalError', `the store refused the write: ${(cause as { code?: string }).code ?? 'database error'}`) };
    throw cause;
  } finally {
    w.tx = tx;
  }
}

async function runUnit(w: WriteTx, u: Unit, isolated: boolean, claimed?: Claimed, pre?: Precreated): Promise<Outcome> {
  if (isolated || mayFailHalfway(u.ops)) return commitInSavepoint(w, u, isolated);
  try {
    return await commitUnit(w, u, claimed, pre);
  } catch (e) {
    // A refusal of our own left the transaction usable; one from the database did not.
    if (e instanceof ApiError && !fromDatabase.has(e)) return { ok: false, error: e };
    throw e;
  }
}

/**
 * Every unit of a batch: alone in savepoints when `isolated`; otherwise their claims and
 * leading creates in one flight each, then each unit in turn, waiting only for what it reads.
 */
async function runBatch(w: WriteTx, units: Unit[], isolated: boolean): Promise<Outcome[]> {
  const outcomes: Outcome[] = [];
  if (isolated) {
    for (const u of units) outcomes.push(await runUnit(w, u, true));
    return outcomes;
  }
  // A unit that may fail halfway claims inside its savepoint, so it is left out of the flights.
  const alone = units.map((u) => mayFailHalfway(u.ops));
  const flown = units.filter((_, i) => !alone[i]);
  const claims = claimsOverlap(units) ? undefined : await takeAllClaims(w, flown);
  const pre = claims ? await precreate(w, flown, claims) : [];
  let k = 0;
  for (const [i, u] of units.entries()) {
    if (alone[i]) outcomes.push(await runUnit(w, u, false));
    else (outcomes.push(await runUnit(w, u, false, claims?.[k], pre[k])), k++);
  }
  return outcomes;
}

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
