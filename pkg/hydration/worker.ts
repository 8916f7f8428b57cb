// The hydration worker of one process: a bounded pool that leases due jobs, runs each under
// its lease (renewed while it runs), and leases more as slots free up. Every replica runs
// one; the leases keep a job on one of them at a time, and a dead replica's jobs come due
// again for the others once its leases lapse.
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import type { Metrics } from '../metrics/metrics.js';
import type { OutboundClient } from '../outbound/client.js';
import type { Job, Store } from '../store/types.js';
import { HydrationAttempt } from './attempt.js';
import { HYDRATION_QUEUE, onJobAdded } from './job.js';

/** How long a lease lasts unless renewed: a dead replica's jobs are taken over after at most this and a poll. */
export const LEASE_MS = 15_000;
const RENEW_MS = 5_000;
/** How often the queue is looked at for jobs other replicas queued, retries that came due and lapsed leases. */
const POLL_MS = 1_000;

export interface WorkerDeps {
  store: Store;
  client: OutboundClient;
  metrics: Metrics;
  log: Logger;
  /** Jobs run at once (the pool's size). */
  workers: number;
}

export class HydrationWorker {
  readonly holder = `${hostname()}/${process.pid}/${randomBytes(6).toString('hex')}`;
  private readonly running = new Map<number, Promise<void>>();
  private timers: NodeJS.Timeout[] = [];
  private soon?: NodeJS.Timeout;
  private filling = false;
  private again = false;
  private stopped = false;

  constructor(private readonly deps: WorkerDeps) {}

  start(): void {
    onJobAdded(() => this.wake());
    this.timers = [setInterval(() => this.wake(), POLL_MS), setInterval(() => void this.renew(), RENEW_MS)];
    for (const t of this.timers) t.unref();
    this.wake();
  }

  /** Stops leasing and waits for the jobs under way: closing the client ends their fetches, which are given back uncounted. */
  async stop(): Promise<void> {
    this.stopped = true;
    onJobAdded(() => {});
    for (const t of this.timers) clearInterval(t);
    clearTimeout(this.soon);
    await Promise.allSettled([...this.running.values()]);
  }

  private wake(): void {
    if (this.stopped) return;
    if (this.filling) {
      this.again = true;
      return;
    }
    this.filling = true;
    void this.fill()
      .catch((err: unknown) => this.deps.log.error({ err }, 'leasing hydration jobs failed'))
      .finally(() => {
        this.filling = false;
        if (this.again) {
          this.again = false;
          this.wake();
        }
      });
  }

  /** Leases as many due jobs as there are free slots; a read first, so an idle queue costs no write. */
  private async fill(): Promise<void> {
    const { store } = this.deps;
    const free = this.deps.workers - this.running.size;
    if (free <= 0 || this.stopped) return;
    const nowMs = Date.now();
    const next = await store.data.nextJobDue(HYDRATION_QUEUE, nowMs);
    if (next === undefined) return;
    if (next > nowMs) return this.wakeAt(next);
    const r = await store.commit({ origin: 'system', ops: [{ op: 'leaseJobs', queue: HYDRATION_QUEUE, holder: this.holder, nowMs, untilMs: nowMs + LEASE_MS, limit: free }] });
    const leased = r.held ? [] : (r.leased ?? []);
    for (const job of leased) this.run(job);
    // A full page: there may be more due than slots were free.
    if (leased.length === free) this.again = true;
  }

  /** A retry due before the next poll is started on time. */
  private wakeAt(dueAt: number): void {
    const wait = dueAt - Date.now();
    if (wait >= POLL_MS) return;
    clearTimeout(this.soon);
    this.soon = setTimeout(() => this.wake(), Math.max(wait, 0) + 1);
    this.soon.unref();
  }

  private run(job: Job): void {
    const p = new HydrationAttempt({ ...this.deps, holder: this.holder, stopping: () => this.stopped }, job)
      .run()
      .then(
        () => undefined,
        (err: unknown) => this.deps.log.error({ err, job: job.id }, 'hydration job failed; its lease lapses and it runs again'),
      )
      .finally(() => {
        this.running.delete(job.id);
        this.wake();
      });
    this.running.set(job.id, p);
  }

  private async renew(): Promise<void> {
    if (!this.running.size || this.stopped) return;
    const ids = [...this.running.keys()];
    try {
      await this.deps.store.commit({ origin: 'system', ops: [{ op: 'renewJobs', ids, holder: this.holder, untilMs: Date.now() + LEASE_MS }] });
    } catch (err) {
      this.deps.log.error({ err }, 'renewing hydration leases failed');
    }
  }
}
