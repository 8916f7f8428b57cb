// Hydration in a running orlojd: its worker, with its own guarded client (the Source's URL is
// the only one it ever fetches), on every replica.
import type { Logger } from 'pino';
import type { Metrics } from '../metrics/metrics.js';
import { OutboundClient } from '../outbound/client.js';
import { destinationPolicy } from '../outbound/policy.js';
import type { Store } from '../store/types.js';
import { HydrationWorker } from './worker.js';

export interface Hydration {
  stop(): Promise<void>;
}

export function startHydration(store: Store, opts: { workers: number; metrics: Metrics; log: Logger }): Hydration {
  const client = new OutboundClient({ guard: destinationPolicy() });
  const worker = new HydrationWorker({ store, client, metrics: opts.metrics, log: opts.log, workers: opts.workers });
  worker.start();
  return {
    async stop() {
      // Stopping first: the fetches the closed client cuts off are then given back, not failed.
      const stopped = worker.stop();
      client.close();
      await stopped;
    },
  };
}
