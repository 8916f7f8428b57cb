import { secretValues } from '../api/kinds/secret.js';
import type { StoredResource } from '../api/types.js';

/** Each Secret's usable keys, decoded once: one copy serves every receiver naming it. */
const keyCache = new WeakMap<StoredResource, Buffer[]>();

export function keysOf(secret: StoredResource | undefined): Buffer[] {
  if (!secret) return [];
  let keys = keyCache.get(secret);
  if (!keys) keyCache.set(secret, (keys = secretValues(secret).filter((k) => k.length > 0)));
  return keys;
}
