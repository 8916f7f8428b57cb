// orlojd's store, opened safe at rest: an owner-only data dir, Secret data sealed with the
// configured key set, and whatever an older key (or no key) sealed sealed again with the first.
import { rmSync } from 'node:fs';
import type { Logger } from 'pino';
import { openStore } from '../store/factory.js';
import { loadKeys } from '../store/keys.js';
import { PostgresUnavailable } from '../store/postgres/connect.js';
import { resealStale } from '../store/reseal.js';
import { fingerprint, SealingError, type KeySet } from '../store/sealing.js';
import type { Store } from '../store/types.js';
import { secureDataDir } from './data-dir.js';
import type { DaemonOptions } from './options.js';

const RETRY_FIRST_MS = 500;
const RETRY_MAX_MS = 5000;

/** A shared store that cannot be reached is waited for, with backoff; one that refuses us is not. */
async function openWithRetry(opts: DaemonOptions, keys: KeySet, log: Logger, signal?: AbortSignal): Promise<Store> {
  for (let attempt = 1, wait = RETRY_FIRST_MS; ; attempt++, wait = Math.min(wait * 2, RETRY_MAX_MS)) {
    try {
      return await openStore({ storage: opts.dataStorage, dataDir: opts.dataDir, postgresUrl: opts.postgresUrl, keys });
    } catch (e) {
      if (!(e instanceof PostgresUnavailable) || !e.retry || signal?.aborted) throw e;
      log.warn({ attempt, retryInMs: wait }, `${e.message}; trying again`);
      await new Promise((r) => setTimeout(r, wait));
    }
  }
}

/**
 * Kubernetes mode: the resources are the cluster's (its informers feed the same reconcilers),
 * leadership is a Lease, and `data` keeps everything else. The client library loads only here.
 */
async function inCluster(data: Store, opts: DaemonOptions, log: Logger): Promise<Store> {
  try {
    const [{ loadKubeConfig, defaultLeaseNamespace }, { LeaseElector }, { KubernetesStore }] = await Promise.all([
      import('../store/kubernetes/kubeconfig.js'),
      import('../store/kubernetes/lease-elector.js'),
      import('../store/kubernetes/store.js'),
    ]);
    const kubeConfig = await loadKubeConfig({ kubeconfig: opts.kubeconfig, env: process.env });
    const electorLog = log.child({ component: 'leader-election' });
    const elector = await LeaseElector.start(kubeConfig, { namespace: opts.leaseNamespace ?? defaultLeaseNamespace(kubeConfig), log: electorLog });
    const storeLog = log.child({ component: 'kubernetes' });
    try {
      return await KubernetesStore.open({ kubeConfig, data, elector, log: (msg) => storeLog.warn(msg) });
    } catch (e) {
      await elector.close();
      throw e;
    }
  } catch (e) {
    await data.close();
    throw e;
  }
}

/**
 * Replicas must seal with keys they all hold: the store keeps the fingerprint of the key
 * that seals, and a replica without that key refuses to start, before it seals anything.
 */
async function checkSharedKey(store: Store, keys: KeySet): Promise<void> {
  if (!store.shared) return;
  const kept = await store.shared.setOnce('sealing-key', fingerprint(keys.primary.key));
  if (keys.keys.some((k) => fingerprint(k.key) === kept)) return;
  throw new Error(`the other replicas seal Secrets with a key (fingerprint ${kept}) this one does not have: give every replica the same ORLOJ_ENCRYPTION_KEY`);
}

export async function openDaemonStore(opts: DaemonOptions, log: Logger, signal?: AbortSignal): Promise<Store> {
  secureDataDir(opts.dataDir, log);
  const { keys, source, created } = loadKeys(opts.dataDir, opts.encryptionKey);
  if (created) log.info({ path: source }, 'generated the encryption key for Secret data: back it up with the data dir');
  let store: Store;
  try {
    store = await openWithRetry(opts, keys, log, signal);
    if (opts.storage === 'kubernetes') store = await inCluster(store, opts, log);
  } catch (e) {
    // Not on any failure: one to lock the data dir means another orlojd may use that key file now.
    if (!(e instanceof SealingError)) throw e;
    // Nothing was sealed with a key made just now: the data dir is left as it was found.
    if (created) rmSync(source, { force: true });
    throw new Error(`cannot open the stored Secrets with the encryption keys from ${source}: ${e.message}. Start with the keys they were sealed with (to rotate, give the new key first and the old one after it)`);
  }
  try {
    await checkSharedKey(store, keys);
  } catch (e) {
    await store.close();
    if (created) rmSync(source, { force: true });
    throw e;
  }
  const { sealed, purged } = await resealStale(store);
  if (sealed) log.info({ count: sealed, key: keys.primary.id }, 'sealed Secrets with the primary encryption key');
  // Sealed again with the primary: from now on that is the key every replica needs.
  if (sealed && store.shared) await store.shared.put('sealing-key', fingerprint(keys.primary.key));
  if (!purged) log.warn('could not rewrite the database after sealing: copies of the replaced values may remain in its free pages until the next start');
  return store;
}
