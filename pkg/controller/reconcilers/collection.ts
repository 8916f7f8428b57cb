import type { ObjectKey } from '../../api/types.js';
import type { Objects } from '../../store/objects.js';
import { ready } from '../conditions.js';
import type { Reconciler } from '../manager.js';
import { patchStatus } from '../status.js';

/** A Collection's schema was compiled at apply, so an observed generation is Ready. */
export function collectionReconciler(store: Objects): Reconciler {
  return {
    kind: 'Collection',
    async reconcile(key: ObjectKey) {
      await patchStatus(store, key, (c) => {
        const gen = c.metadata.generation;
        const conditions = ready(c.status.conditions, 'True', 'SchemaValid', 'documents are validated against spec.schema', gen);
        return { ...c.status, observedGeneration: gen, conditions };
      });
    },
  };
}
