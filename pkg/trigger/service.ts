// Triggers in a running orlojd: the index every process keeps (writes need it for their
// images), and the dispatcher and engine, which run only while this process leads.
import type { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import type { Metrics } from '../metrics/metrics.js';
import { OutboundClient } from '../outbound/client.js';
import { destinationPolicy } from '../outbound/policy.js';
import type { Store } from '../store/types.js';
import { Dispatcher } from './dispatcher.js';
import { Engine } from './engine.js';
import { withImages } from './images.js';
import { TriggerIndex } from './index.js';
import { Pressure } from './pressure.js';

export class Triggers {
  readonly index = new TriggerIndex();
  private running?: { dispatcher: Dispatcher; engine: Engine; client: OutboundClient };
  private store?: Store;
  private readonly pressure = new Pressure();

  constructor(private readonly deps: { metrics: Metrics; log: Logger }) {}

  /** The store the rest of the process writes through: writes that triggers fire on keep their images. */
  wrap(store: Store): Store {
    return (this.store = withImages(store, this.index, (ms) => this.pressure.committed(ms)));
  }

  /** Requests to this server come before the triggers' background work. */
  serving(server: EventEmitter): void {
    this.pressure.watch(server);
  }

  async start(): Promise<void> {
    await this.index.start(this.store!.control);
  }

  async lead(leader: boolean): Promise<void> {
    if (leader && !this.running) {
      const client = new OutboundClient({ guard: destinationPolicy() });
      const { pressure } = this;
      const engine = new Engine({ store: this.store!, index: this.index, client, pressure, metrics: this.deps.metrics, log: this.deps.log });
      const dispatcher = new Dispatcher({ store: this.store!, index: this.index, pressure, intake: engine, log: this.deps.log });
      this.running = { dispatcher, engine, client };
      pressure.start();
      engine.start();
      await dispatcher.start();
    } else if (!leader && this.running) {
      const r = this.running;
      this.running = undefined;
      await r.dispatcher.stop();
      await r.engine.stop();
      this.pressure.stop();
      r.client.close();
    }
  }

  async close(): Promise<void> {
    await this.lead(false);
    this.index.close();
  }
}
