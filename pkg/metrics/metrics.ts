import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import { objectMetrics } from './objects.js';

export interface MetricsOptions {
  /** Receivers (and triggers) with series of their own; the rest count under `_other_`. */
  maxObjects?: number;
}

/** One registry per server, so tests can run several in one process. */
export function createMetrics(opts: MetricsOptions = {}) {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'orloj_' });
  return {
    registry,
    ...objectMetrics(registry, opts.maxObjects ?? 1000),
    apiRequests: new Counter({
      name: 'orloj_api_requests_total',
      help: 'API requests by method, route template, resource type and HTTP status code',
      labelNames: ['method', 'route', 'resource', 'code'] as const,
      registers: [registry],
    }),
    watches: new Gauge({ name: 'orloj_api_watches', help: 'Open watch streams', registers: [registry] }),
    leader: new Gauge({ name: 'orloj_leader', help: '1 while this replica leads (runs reconcilers, trigger dispatch, pruning), else 0', registers: [registry] }),
    watchesDropped: new Counter({
      name: 'orloj_api_watches_dropped_total',
      help: 'Watch streams closed because their client read too slowly',
      registers: [registry],
    }),
    connectionsDropped: new Counter({
      name: 'orloj_http_connections_dropped_total',
      help: 'Connections closed on arrival because --max-connections were open',
      registers: [registry],
    }),
    receiverLookups: new Counter({
      name: 'orloj_receiver_store_lookups_total',
      help: 'Endpoint IDs the delivery path read from the store: not compiled yet, and known or possibly just created (an unknown one is answered from memory)',
      registers: [registry],
    }),
    hydrationAttempts: new Counter({
      name: 'orloj_hydration_attempts_total',
      help: 'Hydration attempts (fetches, and deletes without one) by inbound webhook (namespace/name) and outcome',
      labelNames: ['webhook', 'outcome'] as const,
      registers: [registry],
    }),
    reconciles: new Counter({
      name: 'orloj_reconcile_total',
      help: 'Reconciles by kind and result',
      labelNames: ['kind', 'result'] as const,
      registers: [registry],
    }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
