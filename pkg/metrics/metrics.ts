import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** One registry per server, so tests can run several in one process. */
export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'orloj_' });
  return {
    registry,
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
    deliveries: new Counter({
      name: 'orloj_webhook_deliveries_total',
      help: 'Inbound webhook deliveries by receiver kind and outcome',
      labelNames: ['kind', 'outcome'] as const,
      registers: [registry],
    }),
    deliveryDuration: new Histogram({
      name: 'orloj_webhook_delivery_duration_seconds',
      help: 'Time from request to answer for inbound deliveries',
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1],
      registers: [registry],
    }),
    receiverLookups: new Counter({
      name: 'orloj_receiver_store_lookups_total',
      help: 'Endpoint IDs the delivery path read from the store: not compiled yet, and known or possibly just created (an unknown one is answered from memory)',
      registers: [registry],
    }),
    triggerAttempts: new Counter({
      name: 'orloj_trigger_attempts_total',
      help: 'Outbound trigger attempts by trigger (namespace/name) and outcome',
      labelNames: ['trigger', 'outcome'] as const,
      registers: [registry],
    }),
    triggerAttemptDuration: new Histogram({
      name: 'orloj_trigger_attempt_duration_seconds',
      help: 'Time from sending a trigger attempt to its answer (or failure), by trigger',
      labelNames: ['trigger'] as const,
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 15],
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
