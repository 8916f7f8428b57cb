import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pino, type Logger } from 'pino';
import { TokenAuth, loadOrCreateAdminToken, parseTokenList, type Role } from '../apiserver/auth.js';
import { createHttpServer } from '../apiserver/server.js';
import { clientConfigPath, writeClientConfig } from '../config/client-config.js';
import { Manager } from '../controller/manager.js';
import { secretReconciler } from '../controller/reconcilers/secret.js';
import { taskReconciler } from '../controller/reconcilers/task.js';
import { taskWebhookReconciler } from '../controller/reconcilers/task-webhook.js';
import { createMetrics } from '../metrics/metrics.js';
import { openDatabase, startCheckpointer } from '../store/sqlite/db.js';
import { SqliteResourceStore } from '../store/sqlite/resource-store.js';
import { SqliteDeliveryStore } from '../store/sqlite/delivery-store.js';
import { deliveryHandler } from '../receiver/handler.js';
import { ReceiverCache } from '../receiver/receivers.js';
import { receiverRoutes } from '../receiver/routes.js';
import { VERSION } from '../version.js';
import type { DaemonOptions } from './options.js';
import type { DeliveryStore } from '../store/types.js';

export interface Daemon {
  url: string;
  close(): Promise<void>;
}

const TOMBSTONE_MAX_AGE_MS = 60 * 60_000;

function resolveTokens(opts: DaemonOptions, log: Logger): { tokens: Array<{ token: string; role: Role }>; generated?: string } {
  if (opts.apiTokens) return { tokens: parseTokenList(opts.apiTokens) };
  const { token, created } = loadOrCreateAdminToken(opts.dataDir);
  if (created) log.info('generated an admin API token (kept in the data dir)');
  return { tokens: [{ token, role: 'admin' }], generated: token };
}

const PRUNE_CHUNK = 2000;

/** Expired dedup rows and records past retention go in small chunks, between requests. */
async function pruneDeliveries(deliveries: DeliveryStore, keep: number): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if ((await deliveries.prune(Date.now(), keep, PRUNE_CHUNK)) < PRUNE_CHUNK) return;
    await new Promise((r) => setImmediate(r));
  }
}

/** Opens the store, starts the reconcilers and serves the API until close(). */
export async function startDaemon(opts: DaemonOptions): Promise<Daemon> {
  const log = pino({ level: opts.logLevel, base: { svc: 'orlojd' } });
  const db = openDatabase(opts.dataDir);
  const stopCheckpointer = startCheckpointer(opts.dataDir);
  const store = new SqliteResourceStore(db);
  const deliveries = new SqliteDeliveryStore(store, opts.dataDir);
  const metrics = createMetrics();
  const receivers = new ReceiverCache(store);
  const { tokens, generated } = resolveTokens(opts, log);
  const manager = new Manager({ store, log: log.child({ component: 'controller' }), metrics, resyncMs: opts.resyncSeconds * 1000 }, [
    secretReconciler(store),
    taskReconciler(store),
    taskWebhookReconciler(store),
  ]);
  const closing = new AbortController();
  const server: Server = createHttpServer({
    closing: closing.signal,
    store,
    auth: new TokenAuth(tokens),
    log,
    metrics,
    maxRequestBytes: opts.maxRequestBytes,
    version: VERSION,
    isReady: () => manager.hasSynced,
    routes: [receiverRoutes(deliveries)],
    raw: [deliveryHandler({ receivers, deliveries, metrics, log: log.child({ component: 'receiver' }) })],
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.listen.port, opts.listen.host, () => resolve());
  });
  const addr = server.address() as AddressInfo;
  const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  const url = `http://${host}:${addr.port}`;
  if (generated) {
    const path = clientConfigPath();
    writeClientConfig(path, { server: url, token: generated });
    log.info({ path }, 'wrote client config for orlojctl');
  }
  await manager.start();
  const compactor = setInterval(() => void store.compact(TOMBSTONE_MAX_AGE_MS), 60_000);
  compactor.unref();
  const pruner = setInterval(() => void pruneDeliveries(deliveries, opts.deliveryRetention), 5_000);
  pruner.unref();
  log.info({ url, dataDir: opts.dataDir, version: VERSION }, 'orlojd listening');
  return {
    url,
    async close() {
      clearInterval(compactor);
      clearInterval(pruner);
      // Finish in-flight requests (a delivery is answered only after its commit), then stop.
      const closed = new Promise<void>((r) => server.close(() => r()));
      closing.abort();
      server.closeIdleConnections();
      const force = setTimeout(() => server.closeAllConnections(), 5000);
      await closed;
      clearTimeout(force);
      await manager.stop();
      receivers.close();
      await stopCheckpointer();
      await deliveries.close();
      await store.close();
    },
  };
}
