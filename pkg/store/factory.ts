import { kinds } from '../api/registry.js';
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
export function openStore(opts: StoreOptions): Store {
  if (opts.storage !== 'sqlite') throw new Error(`storage "${opts.storage}" is not available in this version; use sqlite`);
  return new SqliteStore({
    dataDir: opts.dataDir,
    namespacedKinds: kinds.filter((k) => k.namespaced).map((k) => k.kind),
    unindexedLabels: Object.fromEntries(kinds.map((k) => [k.kind, k.unindexedLabels ?? []])),
    sealedKinds: kinds.filter((k) => k.sensitive).map((k) => k.kind),
    keys: opts.keys,
  });
}
