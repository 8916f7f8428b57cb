// A store whose writes keep change-log images where a trigger will need them: the document or
// run task as written, and as it was before. Writes nothing fires on pay one lookup.
import type { Op, Store, Unit, UnitResult } from '../store/types.js';
import type { TriggerIndex } from './index.js';

function wantsImage(op: Op, index: TriggerIndex): boolean {
  switch (op.op) {
    case 'putDocument':
    case 'deleteDocument':
      return index.imagesFor('Document', op.collection.namespace, op.collection.name);
    case 'create':
    case 'update':
      return index.imagesFor(op.object.kind, op.object.metadata.namespace);
    case 'delete':
      return index.imagesFor(op.key.kind, op.key.namespace);
    default:
      return false;
  }
}

/** `timed` hears how long each unit of another origin than `system` (the triggers' own) took to commit. */
export function withImages(store: Store, index: TriggerIndex, timed?: (ms: number) => void): Store {
  const commit = (unit: Unit): Promise<UnitResult> => {
    let ops: Op[] | undefined;
    unit.ops.forEach((op, i) => {
      if (!wantsImage(op, index)) return;
      ops ??= [...unit.ops];
      ops[i] = { ...op, image: true } as Op;
    });
    const p = store.commit(ops ? { ...unit, ops } : unit);
    // Timed only while some trigger could be held back for it: otherwise a delivery pays nothing.
    if (!timed || unit.origin === 'system' || index.empty) return p;
    const t0 = performance.now();
    return p.finally(() => timed(performance.now() - t0));
  };
  return {
    get control() { return store.control; },
    get data() { return store.data; },
    get elector() { return store.elector; },
    get shared() { return store.shared; },
    commit,
    unpublished: () => store.unpublished(),
    maintain: (m) => store.maintain(m),
    close: () => store.close(),
  };
}
