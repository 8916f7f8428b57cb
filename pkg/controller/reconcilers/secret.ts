import type { ObjectKey } from '../../api/types.js';
import type { Objects } from '../../store/objects.js';
import { ready } from '../conditions.js';
import type { Reconciler } from '../manager.js';
import { patchStatus } from '../status.js';

/** A Secret is Ready when it holds at least one key; status.keys counts them (never their values). */
export function secretReconciler(store: Objects): Reconciler {
  return {
    kind: 'Secret',
    async reconcile(key: ObjectKey) {
      await patchStatus(store, key, (s) => {
        const keys = Object.keys((s.spec.data as Record<string, string>) ?? {}).length;
        const gen = s.metadata.generation;
        const conditions = keys
          ? ready(s.status.conditions, 'True', 'Valid', `${keys} key(s)`, gen)
          : ready(s.status.conditions, 'False', 'NoData', 'the secret has no keys in data or stringData', gen);
        return { ...s.status, keys, observedGeneration: gen, conditions };
      });
    },
  };
}
