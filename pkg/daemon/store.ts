// orlojd's store, opened safe at rest: an owner-only data dir, Secret data sealed with the
// configured key set, and whatever an older key (or no key) sealed sealed again with the first.
import { rmSync } from 'node:fs';
import type { Logger } from 'pino';
import { openStore } from '../store/factory.js';
import { loadKeys } from '../store/keys.js';
import { resealStale } from '../store/reseal.js';
import { SealingError } from '../store/sealing.js';
import type { Store } from '../store/types.js';
import { secureDataDir } from './data-dir.js';
import type { DaemonOptions } from './options.js';

export async function openDaemonStore(opts: DaemonOptions, log: Logger): Promise<Store> {
  secureDataDir(opts.dataDir, log);
  const { keys, source, created } = loadKeys(opts.dataDir, opts.encryptionKey);
  if (created) log.info({ path: source }, 'generated the encryption key for Secret data: back it up with the data dir');
  let store: Store;
  try {
    store = openStore({ storage: opts.storage, dataDir: opts.dataDir, postgresUrl: opts.postgresUrl, keys });
  } catch (e) {
    // Not on any failure: one to lock the data dir means another orlojd may use that key file now.
    if (!(e instanceof SealingError)) throw e;
    // Nothing was sealed with a key made just now: the data dir is left as it was found.
    if (created) rmSync(source, { force: true });
    throw new Error(`cannot open the stored Secrets with the encryption keys from ${source}: ${e.message}. Start with the keys they were sealed with (to rotate, give the new key first and the old one after it)`);
  }
  const { sealed, purged } = await resealStale(store);
  if (sealed) log.info({ count: sealed, key: keys.primary.id }, 'sealed Secrets with the primary encryption key');
  if (!purged) log.warn('could not rewrite the database after sealing: copies of the replaced values may remain in its free pages until the next start');
  return store;
}
