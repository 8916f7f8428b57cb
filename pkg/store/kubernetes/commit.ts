// A unit in Kubernetes mode: its object ops go to the cluster, in op order; every other op
// goes to the data store as one unit, after them. The two are not one transaction, so the
// order is chosen for crash safety: claims are read first (a held one writes nothing), the
// cluster is written next, and the data unit (which takes the claims) last. A retry after a
// crash in between finds the object the first attempt made (see ClusterOps.create); what a
// unit made in the cluster is taken back when the rest of it is refused or held.
// Each change the cluster ops made is journaled in the data unit, so that the data store's
// change log (what the trigger dispatcher reads) holds resource changes as the other
// drivers' logs do.
import type { ObjectKey, StoredResource, WatchEventType } from '../../api/types.js';
import type { ClaimOp, DocumentWrite, JournalOp, Op, Store, Unit, UnitResult, WriteResult } from '../types.js';
import type { ClusterOps } from './objects-ops.js';

const OBJECT_OPS = new Set<Op['op']>(['create', 'update', 'status', 'delete', 'deleteMany', 'exists', 'empty']);
export const isObjectOp = (op: Op): boolean => OBJECT_OPS.has(op.op);

type Held = Extract<UnitResult, { held: true }>;

/** The first claim (indexed ones only: brief claims are the data unit's) an earlier unit holds. */
async function heldClaim(unit: Unit, data: Store): Promise<Held | undefined> {
  for (let i = 0; i < unit.ops.length; i++) {
    const op = unit.ops[i]!;
    if (op.op !== 'claim') break;
    if (op.brief) continue;
    const held = await data.data.claim(op.scope, op.key, op.nowMs);
    if (held) return { held: true, result: held.result, expiresAt: held.expiresAt, op: i };
  }
  return undefined;
}

/** Where a delivery's dedup window began: an object made since then is this event's. */
function windowStart(unit: Unit): number | undefined {
  const c = unit.ops.find((op): op is ClaimOp => op.op === 'claim');
  return c ? 2 * c.nowMs - c.expiresAt : undefined;
}

/** Data ops as the data store gets them: claims and records name what the cluster ops created. */
function named(op: Op, created: string | undefined): Op {
  if (created === undefined) return op;
  if (op.op === 'record' && op.record.result === undefined) return { ...op, record: { ...op.record, result: created } };
  if (op.op === 'claim' && op.result === undefined) return { ...op, result: created };
  return op;
}

interface ClusterPart {
  writes: Array<WriteResult | DocumentWrite | undefined>;
  made: StoredResource[];
  created?: string;
  deleted: string[];
  journal: JournalOp[];
}

/** Kinds whose objects are never imaged: their images would hold their secrets in the clear. */
const UNIMAGED = new Set(['Secret']);

function entry(type: WatchEventType, o: StoredResource, images?: { after?: StoredResource; before?: StoredResource }): JournalOp {
  const m = o.metadata;
  const j: JournalOp = { op: 'journal', key: { kind: o.kind, namespace: m.namespace, name: m.name }, uid: m.uid, type };
  if (m.labels) j.labels = m.labels;
  if (images && !UNIMAGED.has(o.kind)) {
    if (images.after) j.after = JSON.stringify(images.after);
    if (images.before) j.before = JSON.stringify(images.before);
  }
  return j;
}

const keyOfObject = (o: StoredResource): ObjectKey => ({ kind: o.kind, namespace: o.metadata.namespace, name: o.metadata.name });

async function clusterPart(unit: Unit, ops: ClusterOps, namespacedKinds: readonly string[]): Promise<ClusterPart> {
  const part: ClusterPart = { writes: new Array<undefined>(unit.ops.length).fill(undefined), made: [], deleted: [], journal: [] };
  const start = windowStart(unit);
  const { origin } = unit;
  try {
    for (let i = 0; i < unit.ops.length; i++) {
      const op = unit.ops[i]!;
      switch (op.op) {
        case 'create': {
          const r = await ops.create(op, origin, start);
          part.writes[i] = r.result;
          if (r.made) part.made.push(r.result.object);
          // Found rather than made, it is journaled now: the attempt that made it never got this far.
          part.journal.push(entry('ADDED', r.result.object, op.image ? { after: r.result.object } : undefined));
          part.created ??= r.result.name;
          break;
        }
        case 'update': {
          const before = op.image ? ops.peek(keyOfObject(op.object)) : undefined;
          const r = await ops.update(op, origin);
          part.writes[i] = r;
          part.journal.push(entry('MODIFIED', r.object, op.image ? { after: r.object, before } : undefined));
          break;
        }
        case 'status': {
          const r = await ops.status(op, origin);
          part.writes[i] = r;
          if (r) part.journal.push(entry('MODIFIED', r.object));
          break;
        }
        case 'delete': {
          const r = await ops.delete(op, origin);
          part.writes[i] = r;
          part.journal.push(entry('DELETED', r.object, op.image ? { before: r.object } : undefined));
          break;
        }
        case 'deleteMany': {
          const gone = await ops.deleteMany(op, origin);
          part.deleted.push(...gone.map((o) => o.name));
          for (const o of gone) part.journal.push({ op: 'journal', key: { kind: op.kind, namespace: op.namespace, name: o.name }, uid: o.uid, type: 'DELETED' });
          break;
        }
        case 'exists': await ops.exists(op.key); break;
        case 'empty': ops.empty(op.namespace, namespacedKinds); break;
        default: break;
      }
    }
  } catch (e) {
    await ops.undo(part.made);
    throw e;
  }
  return part;
}

export async function commitUnit(unit: Unit, ops: ClusterOps, data: Store, namespacedKinds: readonly string[]): Promise<UnitResult> {
  // A unit of data ops alone is the data store's, claims and all.
  if (!unit.ops.some(isObjectOp)) return data.commit(unit);
  const held = await heldClaim(unit, data);
  if (held) return held;
  const part = await clusterPart(unit, ops, namespacedKinds);
  const dataAt = unit.ops.flatMap((op, i) => (isObjectOp(op) ? [] : [i]));
  const deleted = part.deleted.length ? { deleted: part.deleted } : {};
  if (!dataAt.length && !part.journal.length) return { held: false, writes: part.writes, ...deleted };
  // Claims lead the unit; the journal follows them, in the order the cluster ops wrote.
  const claims = dataAt.filter((i) => unit.ops[i]!.op === 'claim');
  const rest = dataAt.slice(claims.length);
  const dataOps = [...claims.map((i) => named(unit.ops[i]!, part.created)), ...part.journal, ...rest.map((i) => named(unit.ops[i]!, part.created))];
  const at = (j: number): number | undefined => (j < claims.length ? claims[j] : j < claims.length + part.journal.length ? undefined : rest[j - claims.length - part.journal.length]);
  let r: UnitResult;
  try {
    r = await data.commit({ origin: unit.origin, ops: dataOps });
  } catch (e) {
    await ops.undo(part.made);
    throw e;
  }
  if (r.held) {
    // A copy of this delivery got the claim first: its object stands, this one goes. Unless
    // they are one: the copy found this unit's object in its cache and claimed it as its own.
    const held = r.result;
    await ops.undo(part.made.filter((o) => o.metadata.name !== held));
    return { ...r, op: at(r.op) ?? r.op };
  }
  r.writes.forEach((w, j) => {
    const i = at(j);
    if (w && i !== undefined) part.writes[i] = w;
  });
  const { records, queued, jobs, leased } = r;
  const all = [...part.deleted, ...(r.deleted ?? [])];
  return {
    held: false, writes: part.writes, ...(records ? { records } : {}), ...(queued ? { queued } : {}), ...(jobs ? { jobs } : {}), ...(leased ? { leased } : {}),
    ...(all.length ? { deleted: all } : {}),
  };
}
