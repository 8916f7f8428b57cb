import type { Server } from 'node:http';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { ApiError } from '../api/errors.js';
import { DEFAULT_NAMESPACE } from '../api/meta.js';
import { API_VERSION } from '../api/types.js';
import { TokenAuth } from '../apiserver/auth.js';
import { bodyBudget } from '../apiserver/body.js';
import { createHttpServer } from '../apiserver/server.js';
import { Watches } from '../apiserver/watch.js';
import { clientConfigPath, offerClientConfig } from '../config/client-config.js';
import { Manager, type Reconciler } from '../controller/manager.js';
import { createLogger } from '../log/logger.js';
import { forgetDeleted } from '../metrics/deleted.js';
import { jobDepths, triggerDepths } from '../metrics/depths.js';
import { createMetrics } from '../metrics/metrics.js';
import { deliveryHandler } from '../receiver/handler.js';
import { loadServers, receiverKindsOf } from '../receiver/kinds/index.js';
import { receiverReconciler } from '../receiver/reconciler.js';
import { Notes } from '../receiver/notes.js';
import { ReceiverCache } from '../receiver/receivers.js';
import { receiverRoutes } from '../receiver/routes.js';
import { RunTaskHistory } from '../receiver/run-task-history.js';
import { lastOfNote, StatusMirror } from '../receiver/status-mirror.js';
import { Objects } from '../store/objects.js';
import { DestinationGuard } from '../outbound/guard.js';
import { setDestinationPolicy } from '../outbound/policy.js';
import { Triggers } from '../trigger/service.js';
import { HYDRATION_QUEUE } from '../hydration/job.js';
import { startHydration } from '../hydration/service.js';
import { promotionRoutes } from '../promotion/routes.js';
import { VERSION } from '../version.js';
import { runWhileLeader, startBackground } from './background.js';
import type { DaemonOptions } from './options.js';
import { openDaemonStore } from './store.js';
import { resolveTokens } from './tokens.js';
import { serveWhileWaiting } from './waiting.js';

export interface Daemon {
  url: string;
  /** Stops serving and closes the store; `signal` (what asked for it) goes in the log lines. */
  close(signal?: string): Promise<void>;
}

/** Each kind's reconciler: its own, or for a receiver kind the shared receiver reconciler. */
function reconcilersOf(servers: Awaited<ReturnType<typeof loadServers>>, store: Objects, mirror: StatusMirror): Reconciler[] {
  return servers.flatMap(({ server: s }) => {
    if (s.reconciler) return [s.reconciler(store)];
    return s.receiver ? [receiverReconciler(s.receiver, store, (uid) => mirror.recovered(uid))] : [];
  });
}

/**
 * Objects may live in `default` without anyone creating it (SPEC §2); it is a stored
 * Namespace as well, so that lists and `get ns` show it, as Kubernetes' API server makes its own.
 */
async function ensureDefaultNamespace(objects: Objects): Promise<void> {
  if (await objects.get('Namespace', '', DEFAULT_NAMESPACE)) return;
  try {
    await objects.apply({ apiVersion: API_VERSION, kind: 'Namespace', metadata: { name: DEFAULT_NAMESPACE }, spec: {} }, { createOnly: true });
  } catch (e) {
    // Another replica made it first.
    if (!(e instanceof ApiError && e.reason === 'AlreadyExists')) throw e;
  }
}

export interface DaemonHooks {
  /** The server clock in ms; tests of time windows inject their own. */
  now?: () => number;
}

/** Opens the store, starts the reconcilers and serves the API until close(). */
export async function startDaemon(opts: DaemonOptions, hooks: DaemonHooks = {}): Promise<Daemon> {
  const log = await createLogger(opts.logLevel, opts.logFormat);
  setDestinationPolicy(new DestinationGuard(opts.allowDestinations));
  const metrics = createMetrics({ maxObjects: opts.metricsMaxObjects });
  const triggers = new Triggers({ metrics, log: log.child({ component: 'triggers' }) });
  const waiting = opts.dataStorage === 'postgres' ? await serveWhileWaiting(opts.listen, log) : undefined;
  const store = triggers.wrap(await openDaemonStore(opts, log).finally(() => waiting?.close()));
  const offLeader = store.elector.onChange((leader) => {
    metrics.leader.set(leader ? 1 : 0);
    log.info({ leader }, leader ? 'leading: this replica runs the reconcilers, trigger dispatch and pruning' : 'following: another replica leads');
  });
  await triggers.start();
  metrics.depths.triggers = triggerDepths(store, () => triggers.index.all(), metrics.triggers);
  metrics.depths.hydration = jobDepths(store, HYDRATION_QUEUE, metrics.receivers);
  const objects = new Objects(store, 'api');
  await ensureDefaultNamespace(objects.as('system'));
  const servers = await loadServers();
  const receiverKinds = receiverKindsOf(servers);
  const receivers = new ReceiverCache(objects, receiverKinds, () => metrics.receiverLookups.inc());
  await receivers.start();
  const families = new Map([...receiverKinds.keys()].map((kind) => [kind, metrics.receivers]));
  const stopForgetting = await forgetDeleted(store.control, families.set('Trigger', metrics.triggers));
  const mirror = new StatusMirror(objects.as('delivery'), store.data, receiverKinds);
  await mirror.catchUp();
  const notes = new Notes(store, (n) => mirror.saw(n.uid, n.record.owner, lastOfNote(n.outcome, n.record)), opts.rejectedRecordsPerReceiver);
  const { tokens, digests, generated } = await resolveTokens(opts, store, log);
  const controller = objects.as('reconciler');
  const manager = new Manager({ store: controller, log: log.child({ component: 'controller' }), metrics, resyncMs: opts.resyncSeconds * 1000 }, reconcilersOf(servers, controller, mirror));
  const closing = new AbortController();
  bodyBudget.capacity = opts.limits.maxBodyBytesInFlight;
  const deliveries = deliveryHandler({ receivers, store, notes, mirror, metrics, log: log.child({ component: 'receiver' }), now: hooks.now ?? Date.now, closing: () => closing.signal.aborted });
  const server: Server = createHttpServer({
    closing: closing.signal,
    store: objects,
    auth: new TokenAuth(tokens, digests),
    log,
    metrics,
    maxRequestBytes: opts.maxRequestBytes,
    limits: opts.limits,
    watches: new Watches(opts.limits.watch, metrics),
    version: VERSION,
    // A follower serves the API and deliveries from the start; the leader once its reconcilers synced.
    isReady: () => !store.elector.isLeader() || manager.hasSynced,
    routes: [receiverRoutes(store.data, receiverKinds, deliveries.local), promotionRoutes, ...servers.flatMap(({ server: s }) => (s.routes ? [s.routes] : []))],
    raw: [deliveries],
  });
  triggers.serving(server);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.listen.port, opts.listen.host, () => resolve());
  });
  const addr = server.address() as AddressInfo;
  const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  const url = `http://${host}:${addr.port}`;
  if (generated) {
    const path = clientConfigPath();
    const outcome = offerClientConfig(path, url, generated);
    if (outcome === 'kept') log.warn({ path, tokenFile: join(opts.dataDir, 'admin-token') }, 'the client config points at another server: left as it is');
    else if (outcome !== 'unchanged') log.info({ path }, `${outcome} the client config for orlojctl`);
  }
  const stopLeading = runWhileLeader(store.elector, manager, log);
  const offTriggers = store.elector.onChange((leader) => void triggers.lead(leader).catch((err: unknown) => log.error({ err }, 'triggers failed to start')));
  const history = new RunTaskHistory(store, log.child({ component: 'run-task-history' }));
  const offHistory = store.elector.onChange((leader) => void history.lead(leader).catch((err: unknown) => log.error({ err }, 'run task history failed to start')));
  const background = startBackground(store, { notes, mirror, retention: opts.deliveryRetention, log });
  const hydration = startHydration(store, { workers: opts.hydrationWorkers, metrics, log: log.child({ component: 'hydration' }) });
  log.info({ url, dataDir: opts.dataDir, version: VERSION }, 'orlojd listening');
  return {
    url,
    async close(signal?: string) {
      const started = performance.now();
      log.info({ signal }, 'orlojd stopping');
      const stopped: Record<string, number> = {};
      const step = async (what: string, stop: () => unknown): Promise<void> => {
        const t0 = performance.now();
        await stop();
        stopped[what] = Math.round(performance.now() - t0);
      };
      // Finish in-flight requests (a delivery is answered only after its commit), then stop.
      await step('http', async () => {
        const closed = new Promise<void>((r) => server.close(() => r()));
        closing.abort();
        server.closeIdleConnections();
        const force = setTimeout(() => server.closeAllConnections(), 5000);
        await closed;
        clearTimeout(force);
      });
      await step('background', () => background.stop());
      await step('hydration', () => hydration.stop());
      await step('reconcilers', async () => {
        await stopLeading();
        offHistory();
        await history.stop();
      });
      await step('triggers', async () => {
        offTriggers();
        offLeader();
        await triggers.close();
      });
      await step('receivers', async () => {
        stopForgetting();
        receivers.close();
        deliveries.flushLogs();
        await notes.flush();
        await mirror.flush(true);
      });
      await step('store', () => store.close());
      log.info({ signal, durationMs: Math.round(performance.now() - started), stoppedMs: stopped }, 'orlojd stopped');
    },
  };
}
