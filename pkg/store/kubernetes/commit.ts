// A unit in Kubernetes mode: its object ops go to the cluster, in op order; every other op
// goes to the data store as one unit, after them. The two are not one transaction, so the
// order is chosen for crash safety: claims are read first (a held one writes nothing), the
// cluster is written next, and the data unit (which takes the claims) last. A retry after a
// crash in between finds the object the first attempt made (see ClusterOps.create); what a
// unit made in the cluster is taken back when the rest of it is refused or held.
import type { StoredResource } from '../../api/types.js';
import type { ClaimOp, DocumentWrite, Op, Store, Unit, UnitResult, WriteResult } from '../types.js';
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
}

async function clusterPart(unit: Unit, ops: ClusterOps, namespacedKinds: readonly string[]): Promise<ClusterPart> {
  const part: ClusterPart = { writes: new Array<undefined>(unit.ops.length).fill(undefined), made: [], deleted: [] };
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
          part.created ??= r.result.name;
          break;
        }
        case 'update': part.writes[i] = await ops.update(op, origin); break;
        case 'status': part.writes[i] = await ops.status(op, origin); break;
        case 'delete': part.writes[i] = await ops.delete(op, origin); break;
        case 'deleteMany': part.deleted.push(...(await ops.deleteMany(op, origin))); break;
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
  const held = await heldClaim(unit, data);
  if (held) return held;
  const part = await clusterPart(unit, ops, namespacedKinds);
  const dataAt = unit.ops.flatMap((op, i) => (isObjectOp(op) ? [] : [i]));
  const deleted = part.deleted.length ? { deleted: part.deleted } : {};
  if (!dataAt.length) return { held: false, writes: part.writes, ...deleted };
  let r: UnitResult;
  try {
    r = await data.commit({ origin: unit.origin, ops: dataAt.map((i) => named(unit.ops[i]!, part.created)) });
  } catch (e) {
    await ops.undo(part.made);
    throw e;
  }
  if (r.held) {
    // A copy of this delivery got the claim first: its object stands, this one goes.
    await ops.undo(part.made);
    return { ...r, op: dataAt[r.op]! };
  }
  r.writes.forEach((w, j) => {
    if (w) part.writes[dataAt[j]!] = w;
  });
  const { records, queued, jobs, leased } = r;
  const all = [...part.deleted, ...(r.deleted ?? [])];
  return {
    held: false, writes: part.writes, ...(records ? { records } : {}), ...(queued ? { queued } : {}), ...(jobs ? { jobs } : {}), ...(leased ? { leased } : {}),
    ...(all.length ? { deleted: all } : {}),
  };
}
