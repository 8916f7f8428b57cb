// Deletes of many objects at once: one statement for the rows, their change-log rows gathered
// with the batch's others. Nothing is read first, and a name already gone is skipped.
import type { DeletedRow, OpResult } from '../results.js';
import type { DeleteManyOp } from '../types.js';
import type { WriteTx } from './ops.js';

export async function deleteMany(w: WriteTx, op: DeleteManyOp, origin: string): Promise<OpResult> {
  if (!op.objects.length) return { deleted: [] };
  // By name, so the key index finds each row (a join with the list could scan the table); a
  // uid is an object's alone, so a row whose uid is among those given is the one named with it.
  const rows = await w.tx<Array<{ name: string; uid: string; labels: string | null }>>`DELETE FROM resources
    WHERE kind = ${op.kind} AND namespace = ${op.namespace} AND name = ANY(${op.objects.map((o) => o.name)}::text[]) AND uid = ANY(${op.objects.map((o) => o.uid)}::text[])
    RETURNING name, uid, labels`;
  const gone = new Map(rows.map((r) => [r.name, r]));
  const deleted: DeletedRow[] = [];
  // Revisions in the order the op names the objects, as the embedded driver gives them.
  for (const { name } of op.objects) {
    const r = gone.get(name);
    if (!r) continue;
    gone.delete(name);
    const rv = w.logChange({ kind: op.kind, namespace: op.namespace, name }, r.uid, 'DELETED', origin, { labels: r.labels });
    deleted.push({ rv, name, uid: r.uid, labels: r.labels });
  }
  return { deleted };
}
