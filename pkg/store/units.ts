// What every driver needs to know about a unit's ops before it applies them.
import type { Op } from './types.js';

/** What a unit will most likely create: its claims remember it (a free-name create may take another). */
export function expectedResult(ops: Op[]): string {
  for (const op of ops) {
    if (op.op === 'create') return op.object.metadata.name;
    if (op.op === 'putDocument') return op.id;
  }
  return '';
}

/** Ops whose preconditions can fail after an earlier op of the unit wrote: such a unit needs a savepoint. */
export const checked = (op: Op): boolean =>
  (op.op === 'create' && !op.uniqueName) || op.op === 'update' || op.op === 'delete' || op.op === 'exists' || op.op === 'empty' || (op.op === 'status' && !!op.expect) ||
  (op.op === 'putDocument' && (!!op.ifAbsent || op.expectVersion !== undefined)) || op.op === 'deleteDocument' || op.op === 'noDocuments' ||
  (op.op === 'settleJob' && op.holder !== undefined);

/** A unit that may fail halfway through. */
export const mayFailHalfway = (ops: Op[]): boolean => ops.length > 1 && ops.some(checked);
