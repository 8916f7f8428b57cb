import { ApiError } from '../api/errors.js';
import type { StoredResource } from '../api/types.js';
import type { Objects } from '../store/objects.js';

/**
 * A Secret an object generates for itself: created once with one value, labelled
 * `label: owner`. One of that name that the owner did not create is not taken over: the
 * result is then undefined, and the owner reports it.
 */
export async function ensureGeneratedSecret(store: Objects, namespace: string, name: string, label: string, owner: string, value: () => string): Promise<StoredResource | undefined> {
  let secret = await store.get('Secret', namespace, name);
  if (!secret) {
    const manifest = {
      apiVersion: 'orloj.dev/v1', kind: 'Secret',
      metadata: { name, namespace, labels: { [label]: owner } },
      spec: { type: 'Opaque', data: { key1: Buffer.from(value()).toString('base64') } },
    };
    try {
      secret = (await store.apply(manifest, { createOnly: true })).object;
    } catch (e) {
      if (!(e instanceof ApiError && e.reason === 'AlreadyExists')) throw e;
      secret = await store.get('Secret', namespace, name);
    }
  }
  return secret?.metadata.labels?.[label] === owner ? secret : undefined;
}
