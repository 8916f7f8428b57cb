// A trigger's signing keys: every value of its Secret (a `whsec_` value as the bytes after the
// prefix), read again only when the Secret changed.
import type { StoredResource } from '../api/types.js';
import type { ControlPlaneStore } from '../store/types.js';
import { keysOf } from '../receiver/keys.js';
import type { IndexedTrigger } from './index.js';
import { signingKeyOf } from './signing.js';

/** How long a Secret read serves before it is read again. */
const FRESH_MS = 1000;

export function secretNameOf(t: StoredResource): string | undefined {
  const ref = (t.spec as { secret_ref?: string }).secret_ref || t.status?.secretRef;
  return typeof ref === 'string' && ref ? ref : undefined;
}

export class SigningKeys {
  private readonly cache = new Map<string, { at: number; rv: string; keys: Buffer[] }>();

  constructor(private readonly control: ControlPlaneStore) {}

  async of(t: IndexedTrigger): Promise<Buffer[]> {
    const name = secretNameOf(t.object);
    if (!name) return [];
    const k = `${t.object.metadata.namespace}/${name}`;
    const hit = this.cache.get(k);
    if (hit && Date.now() - hit.at < FRESH_MS) return hit.keys;
    const secret = await this.control.get({ kind: 'Secret', namespace: t.object.metadata.namespace, name });
    if (!secret) return (this.cache.delete(k), []);
    const keys = hit?.rv === secret.metadata.resourceVersion ? hit.keys : keysOf(secret).map((b) => signingKeyOf(b.toString('utf8')));
    this.cache.set(k, { at: Date.now(), rv: secret.metadata.resourceVersion, keys });
    return keys;
  }
}
