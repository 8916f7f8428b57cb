import { sourceSecretRefs, type SourceSpec } from '../../api/kinds/source.js';
import type { ObjectKey, StoredResource } from '../../api/types.js';
import type { Objects } from '../../store/objects.js';
import { ready } from '../conditions.js';
import type { Reconciler } from '../manager.js';
import { patchStatus } from '../status.js';

/** What keeps a Source from being usable, as a condition reason and message; undefined when nothing. */
async function blocker(store: Objects, s: StoredResource): Promise<[string, string] | undefined> {
  const spec = s.spec as unknown as SourceSpec;
  const ns = s.metadata.namespace;
  if (!(await store.get('Collection', ns, spec.collection))) return ['CollectionNotFound', `collection "${spec.collection}" not found`];
  for (const ref of sourceSecretRefs(spec)) {
    const secret = await store.get('Secret', ns, ref.secret_ref);
    if (!secret) return ['SecretNotFound', `secret "${ref.secret_ref}" not found`];
    if (!Object.hasOwn((secret.spec.data as object) ?? {}, ref.key)) return ['SecretKeyNotFound', `secret "${ref.secret_ref}" has no key "${ref.key}"`];
  }
  return undefined;
}

/** Ready when its collection and every Secret its headers name exist; recovers when they appear. */
export function sourceReconciler(store: Objects): Reconciler {
  return {
    kind: 'Source',
    async reconcile(key: ObjectKey) {
      const current = await store.get(key.kind, key.namespace, key.name);
      if (!current) return;
      const blocked = await blocker(store, current);
      await patchStatus(store, key, (s) => {
        const gen = s.metadata.generation;
        const conditions = blocked
          ? ready(s.status.conditions, 'False', blocked[0], blocked[1], gen)
          : ready(s.status.conditions, 'True', 'Resolved', `bound to collection "${(s.spec as unknown as SourceSpec).collection}"`, gen);
        return { ...s.status, observedGeneration: gen, conditions };
      });
    },
  };
}
