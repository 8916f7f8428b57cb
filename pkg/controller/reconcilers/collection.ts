import type { ObjectKey } from '../../api/types.js';
import type { Objects } from '../../store/objects.js';
import { DOCUMENT_COUNTER } from '../../store/types.js';
import { ready } from '../conditions.js';
import type { Reconciler } from '../manager.js';
import { patchStatus } from '../status.js';

/** How often documentCount follows the store's counter (a write of an unchanged count writes nothing). */
const COUNT_REFRESH_MS = 5000;

/** A Collection's schema was compiled at apply, so an observed generation is Ready; documentCount is kept current. */
export function collectionReconciler(store: Objects): Reconciler {
  return {
    kind: 'Collection',
    async reconcile(key: ObjectKey) {
      const current = await store.get(key.kind, key.namespace, key.name);
      if (!current) return;
      const counters = await store.store.data.counters([current.metadata.uid]);
      const documentCount = counters.get(current.metadata.uid)?.[DOCUMENT_COUNTER] ?? 0;
      await patchStatus(store, key, (c) => {
        if (c.metadata.uid !== current.metadata.uid) return undefined;
        const gen = c.metadata.generation;
        const conditions = ready(c.status.conditions, 'True', 'SchemaValid', 'documents are validated against spec.schema', gen);
        return { ...c.status, documentCount, observedGeneration: gen, conditions };
      });
      return { requeueAfterMs: COUNT_REFRESH_MS };
    },
  };
}
