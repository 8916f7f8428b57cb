// One batch of units inside a write transaction: claims, then the creates that lead their
// units, in a statement each for the whole batch; then each unit in turn, waiting only for what
// it reads. A unit that may fail halfway runs in a savepoint of its own.
import { ApiError } from '../../api/errors.js';
import type { ObjectKey } from '../../api/types.js';
import type { OpResult } from '../results.js';
import type { ClaimOp, Op, Unit } from '../types.js';
import { expectedResult, mayFailHalfway } from '../units.js';
import { insertClaims, renewExpiredClaims } from './bulk.js';
import { deleteMany } from './delete-ops.js';
import { deleteDocument, putDocument, requireNoDocuments } from './document-ops.js';
import { addJob, leaseJobs, renewJobs, settleJob } from './job-ops.js';
import { uniqueFailure, type Precreated, type WriteTx } from './ops.js';

export type Outcome = { ok: true; ops: OpResult[] } | { ok: false; held: { result: string; expiresAt: number; op: number } } | { ok: false; error: ApiError };

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
    case 'deleteMany': return deleteMany(w, op, origin);
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
    case 'addJob': return addJob(w, op);
    case 'leaseJobs': return leaseJobs(w, op);
    case 'renewJobs': return renewJobs(w, op);
    case 'settleJob': return settleJob(w, op);
    case 'journal': {
      const labels = op.labels && Object.keys(op.labels).length ? JSON.stringify(op.labels) : null;
      return w.logChange(op.key, op.uid, op.type, origin, { labels, after: op.after ?? null, before: op.before ?? null }), null;
    }
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

/**
 * The claims of every unit given, in two statements: one inserts the keys nobody holds, one
 * takes over those whose claim expired (each at its own unit's time). No two claim one key.
 */
async function takeAllClaims(w: WriteTx, units: Unit[]): Promise<Claimed[]> {
  const all = units.flatMap((u) => {
    const result = expectedResult(u.ops);
    return claimsOf(u.ops).map((c) => ({ scope: c.scope, key: c.key, expiresAt: c.expiresAt, result: c.result ?? result, nowMs: c.nowMs }));
  });
  const keyOf = (c: { scope: string; key: string }) => `${c.scope}\n${c.key}`;
  const taken = new Set<string>();
  if (all.length) {
    for (const r of await insertClaims(w.tx, all)) taken.add(keyOf(r));
    const rest = all.filter((c) => !taken.has(keyOf(c)));
    if (rest.length) for (const r of await renewExpiredClaims(w.tx, rest)) taken.add(keyOf(r));
  }
  return Promise.all(units.map((u) => {
    const claims = claimsOf(u.ops);
    const got = claims.map((c) => taken.has(keyOf(c)));
    const first = got.indexOf(false);
    return first < 0 ? got.length : heldBy(w, claims, got, first);
  }));
}

/** The free-name creates that lead their units, tried in one statement, each at a revision of its own. */
async function precreate(w: WriteTx, units: Unit[], claimed: Claimed[]): Promise<Array<Precreated | undefined>> {
  const tries = units.map((u, i) => {
    const n = claimed[i];
    const op = typeof n === 'number' ? u.ops[n] : undefined;
    if (op?.op !== 'create' || !op.uniqueName || op.image || mayFailHalfway(u.ops)) return undefined;
    return { object: op.object, rv: ++w.rev };
  });
  const wanted = tries.filter((t) => t !== undefined);
  const inserted = wanted.length ? new Set(await w.insertAll(wanted)) : new Set<number>();
  return tries.map((t) => (t ? { rv: t.rv, inserted: inserted.has(t.rv) } : undefined));
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
  // What earlier units gathered goes before the savepoint: a rollback to it must keep that.
  w.sendAppends();
  const gathered = w.appends.mark();
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
    w.appends.forget(gathered);
    w.documents.clear();
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
export async function runBatch(w: WriteTx, units: Unit[], isolated: boolean): Promise<Outcome[]> {
  const outcomes: Outcome[] = [];
  if (isolated) {
    for (const u of units) outcomes.push(await runUnit(w, u, true));
    return outcomes;
  }
  // A unit that may fail halfway claims inside its savepoint, so it is left out of the flights.
  const alone = units.map((u) => mayFailHalfway(u.ops));
  const flown = units.filter((_, i) => !alone[i]);
  const documents = flown.flatMap((u) => u.ops.flatMap((op) => (op.op === 'putDocument' || op.op === 'deleteDocument' ? [{ collection: op.collection.uid, id: op.id }] : [])));
  // Both in one flight: neither reads what the other writes.
  const [claims] = await Promise.all([claimsOverlap(units) ? undefined : takeAllClaims(w, flown), w.documents.prefetch(w, documents)]);
  const pre = claims ? await precreate(w, flown, claims) : [];
  let k = 0;
  for (const [i, u] of units.entries()) {
    if (alone[i]) outcomes.push(await runUnit(w, u, false));
    else (outcomes.push(await runUnit(w, u, false, claims?.[k], pre[k])), k++);
  }
  return outcomes;
}

