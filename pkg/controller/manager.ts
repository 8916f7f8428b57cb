import type { Logger } from 'pino';
import { keyString, keyOf, type ObjectKey, type StoredResource, type WatchEvent } from '../api/types.js';
import type { Metrics } from '../metrics/metrics.js';
import type { Objects } from '../store/objects.js';
import { WorkQueue } from './queue.js';
import { RefIndex } from './ref-index.js';
import { lookupKind } from '../api/registry.js';

export interface ReconcileResult {
  requeueAfterMs?: number;
}

/** A configuration problem that retrying cannot fix: reported, not retried. */
export class TerminalError extends Error {}

/**
 * The whole reconciler contract: given a key, read the world and converge. Level-triggered
 * and idempotent; `shouldReconcile` filters events of the own kind cheaply (no reads).
 */
export interface Reconciler {
  kind: string;
  reconcile(key: ObjectKey): Promise<ReconcileResult | void>;
  shouldReconcile?(e: WatchEvent): boolean;
  /**
   * Periodic resync re-reads every object of the kind. Off for kinds whose status follows
   * from the object alone (run tasks can number millions; events keep them current).
   */
  resync?: boolean;
}

export interface ManagerOptions {
  store: Objects;
  log: Logger;
  metrics: Metrics;
  resyncMs?: number;
}

/** A listed object, shown to an event filter as if it had just changed. */
const resyncEvent = (o: StoredResource): WatchEvent => ({
  type: 'MODIFIED', key: keyOf(o), object: o, origin: 'system', revision: Number(o.metadata.resourceVersion),
});

const parseKey = (kind: string, s: string): ObjectKey => {
  const i = s.indexOf('/');
  return { kind, namespace: s.slice(0, i), name: s.slice(i + 1) };
};

/** Runs each reconciler over its own queue, fed by store watch events and a periodic resync. */
export class Manager {
  private readonly queues = new Map<string, WorkQueue>();
  private readonly refs = new RefIndex();
  private stopWatch?: () => void;
  private resyncTimer?: NodeJS.Timeout;
  private running: Promise<void>[] = [];
  private synced = false;

  constructor(
    private readonly opts: ManagerOptions,
    private readonly reconcilers: Reconciler[],
  ) {}

  async start(): Promise<void> {
    for (const r of this.reconcilers) this.queues.set(r.kind, new WorkQueue());
    this.stopWatch = await this.opts.store.watch({}, undefined, (e) => this.onEvent(e));
    await this.resync(this.reconcilers);
    const periodic = this.reconcilers.filter((r) => r.resync !== false);
    this.resyncTimer = setInterval(() => {
      this.resync(periodic).catch((err: unknown) => this.opts.log.error({ err }, 'resync failed'));
    }, this.opts.resyncMs ?? 60_000);
    this.resyncTimer.unref();
    for (const r of this.reconcilers) this.running.push(this.worker(r));
    this.synced = true;
  }

  get hasSynced(): boolean {
    return this.synced;
  }

  /**
   * Synchronous: most events (run tasks) pass no filter and cost nothing. A change to an
   * object re-queues what refers to it (the kinds' `refs`); the delivery path changes
   * nothing anything refers to.
   */
  private onEvent(e: WatchEvent): void {
    if (e.origin !== 'delivery') {
      if (this.queues.has(e.key.kind)) this.index(e.key, e.type === 'DELETED' ? undefined : e.object);
      for (const dep of this.refs.of(e.key)) this.enqueue(dep.kind, dep);
    }
    for (const r of this.reconcilers) {
      if (e.key.kind === r.kind && (!r.shouldReconcile || r.shouldReconcile(e))) this.enqueue(r.kind, e.key);
    }
  }

  private index(key: ObjectKey, o: StoredResource | undefined): void {
    const refs = lookupKind(key.kind)?.refs;
    if (refs) this.refs.set(key, o ? refs(o) : []);
  }

  private enqueue(kind: string, k: { namespace?: string; name: string }): void {
    this.queues.get(kind)?.add(`${k.namespace ?? ''}/${k.name}`);
  }

  /**
   * Pages through each kind, yielding between pages. Kinds that depend on other objects
   * are all queued (a missed event heals); self-contained kinds only where their filter says.
   */
  private async resync(reconcilers: Reconciler[]): Promise<void> {
    for (const r of reconcilers) {
      const filter = r.resync === false ? r.shouldReconcile : undefined;
      let cont: string | undefined;
      do {
        const page = await this.opts.store.list(r.kind, { limit: 500, continue: cont });
        for (const o of page.items) {
          this.index(keyOf(o), o);
          if (!filter || filter(resyncEvent(o))) this.enqueue(r.kind, o.metadata);
        }
        cont = page.continue;
        await new Promise((resolve) => setImmediate(resolve));
      } while (cont);
    }
  }

  private async worker(r: Reconciler): Promise<void> {
    const q = this.queues.get(r.kind)!;
    for (let s = await q.get(); s !== undefined; s = await q.get()) {
      const key = parseKey(r.kind, s);
      try {
        const res = await r.reconcile(key);
        q.forget(s);
        if (res?.requeueAfterMs) q.addAfter(s, res.requeueAfterMs);
        this.opts.metrics.reconciles.inc({ kind: r.kind, result: 'success' });
      } catch (err) {
        const terminal = err instanceof TerminalError;
        this.opts.metrics.reconciles.inc({ kind: r.kind, result: terminal ? 'terminal' : 'error' });
        const delay = terminal ? undefined : q.addRateLimited(s);
        this.opts.log.warn({ err, key: keyString(key), retryInMs: delay }, 'reconcile failed');
      } finally {
        q.done(s);
      }
    }
  }

  async stop(): Promise<void> {
    this.stopWatch?.();
    if (this.resyncTimer) clearInterval(this.resyncTimer);
    for (const q of this.queues.values()) q.shutdown();
    await Promise.allSettled(this.running);
  }
}
