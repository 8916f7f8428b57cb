import { kinds } from '../api/registry.js';
import { PostgresStore } from './postgres/store.js';
import type { KeySet } from './sealing.js';
import { SqliteStore } from './sqlite/store.js';
import type { Store } from './types.js';

export interface StoreOptions {
  storage: 'sqlite' | 'postgres';
  dataDir: string;
  postgresUrl?: string;
  /** Seal the specs of sensitive kinds (see loadKeys in keys.ts). */
  keys: KeySet;
}

/** The one place a driver is chosen: `--storage`. */
export async function openStore(opts: StoreOptions): Promise<Store> {
  const namespacedKinds = kinds.filter((k) => k.namespaced).map((k) => k.kind);
  const sealedKinds = kinds.filter((k) => k.sensitive).map((k) => k.kind);
  if (opts.storage === 'postgres') {
    if (!opts.postgresUrl) throw new Error('--storage postgres needs --postgres-url (or ORLOJ_POSTGRES_URL)');
    return PostgresStore.open({ url: opts.postgresUrl, namespacedKinds, sealedKinds, keys: opts.keys });
  }
  return new SqliteStore({
    dataDir: opts.dataDir,
    namespacedKinds,
    unindexedLabels: Object.fromEntries(kinds.map((k) => [k.kind, k.unindexedLabels ?? []])),
    sealedKinds,
    keys: opts.keys,
  });
}
