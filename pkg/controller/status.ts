import { ApiError } from '../api/errors.js';
import type { ObjectKey, Status, StoredResource } from '../api/types.js';
import type { Objects } from '../store/objects.js';

/**
 * Read-modify-write of status, retried on conflict: several writers (reconcilers, the
 * delivery counters) own different fields of one status.
 */
export async function patchStatus(
  store: Objects,
  key: ObjectKey,
  mutate: (current: StoredResource) => Status | undefined,
  attempts = 5,
): Promise<StoredResource | undefined> {
  for (let i = 0; ; i++) {
    const current = await store.get(key.kind, key.namespace, key.name);
    if (!current) return undefined;
    const next = mutate(current);
    if (!next) return current;
    try {
      return await store.updateStatus(key, next, { resourceVersion: current.metadata.resourceVersion });
    } catch (e) {
      if (!(e instanceof ApiError && e.reason === 'Conflict') || i + 1 >= attempts) throw e;
    }
  }
}
