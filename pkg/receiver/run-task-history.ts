// Run tasks do not pile up: each TaskWebhook keeps its newest `spec.history_limit` run tasks
// and, with `spec.ttl_seconds_after_finished`, deletes a finished one that long after it
// completed. Enforced on the leader, after the fact, never on the delivery path: a delivery
// commits its task as before, and this module learns of new tasks from the webhook's own
// status write, which the status mirror makes at most every ~600 ms per busy webhook.
//
// Cost. A webhook's key is reconciled at most once per second. A reconcile reads the webhook
// and its accepted counter; only when the tasks it may have (those kept by the last pass plus
// those accepted since) exceed the limit, when a finished task's TTL is due, when the spec
// changed or every few minutes does it list the webhook's tasks (label selector, in name
// order, pages of PAGE) and delete the surplus with delete ops in units of CHUNK.
import type { Logger } from 'pino';
import { ApiError } from '../api/errors.js';
import { DEFAULT_HISTORY_LIMIT, type TaskWebhookSpec } from '../api/kinds/task-webhook.js';
import type { Requirement } from '../api/selector.js';
import type { ObjectKey, StoredResource, WatchEvent } from '../api/types.js';
import { WorkQueue } from '../controller/queue.js';
import type { Objects } from '../store/objects.js';
import type { Op } from '../store/types.js';
import { LABEL_WEBHOOK, LABEL_WEBHOOK_NAMESPACE } from './run-task.js';

/** A webhook's tasks are looked at no more often than this. */
const MIN_INTERVAL_MS = 1000;
/** Each webhook's tasks are listed at least this often, whatever the counters say. */
const SWEEP_MS = 5 * 60_000;
const SWEEP_CHECK_MS = 30_000;
/** Tasks per page of a list (a task holds its payload: pages stay small). */
const PAGE = 100;
/** Delete ops per unit. */
const CHUNK = 500;
/** Deletes per reconcile; a webhook with more to delete goes on after the others had their turn. */
const MAX_DELETES = 5000;
/** Node's timers take at most 2^31-1 ms. */
const MAX_TIMER_MS = 2 ** 31 - 1;

const FINISHED = new Set(['Succeeded', 'Failed']);

/** The label selector of a webhook's run tasks. */
export const runTasksOf = (webhookName: string): Requirement[] => [{ key: LABEL_WEBHOOK, op: 'in', values: [webhookName] }];

/**
 * Whether a task the label selector found is this webhook's: it names the webhook (by uid)
 * as its owner, or names no owner at all (made before run tasks named theirs). Tasks of an
 * earlier webhook of the same name, deleted without --cascade, are left alone.
 */
export function ownedBy(t: StoredResource, webhook: { namespace: string; uid: string }): boolean {
  const ns = t.metadata.labels?.[LABEL_WEBHOOK_NAMESPACE];
  if (ns !== undefined && ns !== webhook.namespace) return false;
  const owners = t.metadata.ownerReferences;
  return !owners?.length || owners.some((o) => o.uid === webhook.uid);
}

/** When a finished task completed (ms), or undefined while it has not finished. */
function finishedAt(t: StoredResource): number | undefined {
  const { phase, completedAt } = t.status;
  if (typeof phase !== 'string' || !FINISHED.has(phase) || typeof completedAt !== 'string') return undefined;
  const at = Date.parse(completedAt);
  return Number.isNaN(at) ? undefined : at;
}

const isNotFound = (e: unknown): boolean => e instanceof ApiError && e.reason === 'NotFound';

/** Deletes these tasks, CHUNK per unit; one deleted meanwhile by someone else is skipped. Returns how many went. */
export async function deleteTasks(store: Objects, keys: ObjectKey[]): Promise<number> {
  let n = 0;
  for (let i = 0; i < keys.length; i += CHUNK) {
    const chunk = keys.slice(i, i + CHUNK);
    const ops: Op[] = chunk.map((key) => ({ op: 'delete', key }));
    try {
      await store.store.commit({ origin: store.origin, ops });
      n += chunk.length;
    } catch (e) {
      if (!isNotFound(e)) throw e;
      for (const op of ops) {
        try {
          await store.store.commit({ origin: store.origin, ops: [op] });
          n++;
        } catch (err) {
          if (!isNotFound(err)) throw err;
        }
      }
    }
  }
  return n;
}

/** `?cascade=true`: deletes the run tasks of a webhook just deleted, in pages and chunks. Returns how many went. */
export async function deleteRunTasks(store: Objects, webhook: StoredResource): Promise<number> {
  const { namespace, name, uid } = webhook.metadata;
  let n = 0;
  let cont: string | undefined;
  do {
    const page = await store.list('Task', { namespace, labelSelector: runTasksOf(name), limit: PAGE * 2, continue: cont });
    const doomed = page.items.filter((t) => ownedBy(t, { namespace, uid })).map((t) => ({ kind: 'Task', namespace, name: t.metadata.name }));
    n += await deleteTasks(store, doomed);
    cont = page.continue;
  } while (cont);
  return n;
}

interface State {
  uid: string;
  /** When the last reconcile started (ms). */
  lastRun: number;
  /** Tasks kept by the last complete pass, and the accepted counter read before it: undefined until one. */
  kept?: number;
  acceptedAt: number;
  /** When that pass ran, and with which limit and TTL. */
  fullAt: number;
  settings?: string;
  ttlMs?: number;
  /** The earliest TTL due among the finished tasks kept (ms). */
  expiry?: number;
  /** TTLs that finished tasks' events announced since the pass began. */
  announced?: number;
}

interface Pass {
  kept: number;
  expiry?: number;
  complete: boolean;
  deleted: number;
}

const minOf = (a: number | undefined, b: number | undefined): number | undefined => (a === undefined ? b : b === undefined ? a : Math.min(a, b));

/** Enforces every TaskWebhook's history_limit and ttl_seconds_after_finished while this process leads. */
export class RunTaskHistory {
  private readonly states = new Map<string, State>();
  private readonly timers = new Map<string, { at: number; timer: NodeJS.Timeout }>();
  private queue?: WorkQueue;
  private stopWatch?: () => void;
  private sweep?: NodeJS.Timeout;
  private worker?: Promise<void>;
  private changing: Promise<void> = Promise.resolve();

  constructor(
    private readonly store: Objects,
    private readonly log: Logger,
  ) {}

  /** Starts while this process leads, stops when it no longer does (changes in the order told). */
  lead(leader: boolean): Promise<void> {
    this.changing = this.changing.then(async () => {
      if (leader && !this.queue) await this.start();
      else if (!leader && this.queue) await this.halt();
    });
    return this.changing;
  }

  /** Stops for good (on shutdown), after any change under way. */
  stop(): Promise<void> {
    return this.lead(false);
  }

  private async start(): Promise<void> {
    const queue = (this.queue = new WorkQueue(1000, 5 * 60_000));
    this.stopWatch = await this.store.watch({}, undefined, (e) => this.onEvent(e));
    let cont: string | undefined;
    do {
      const page = await this.store.list('TaskWebhook', { limit: 500, continue: cont });
      for (const w of page.items) this.poke(`${w.metadata.namespace}/${w.metadata.name}`);
      cont = page.continue;
    } while (cont);
    this.sweep = setInterval(() => {
      const now = Date.now();
      for (const [key, s] of this.states) if (now - s.fullAt >= SWEEP_MS) this.poke(key);
    }, SWEEP_CHECK_MS);
    this.sweep.unref();
    this.worker = this.work(queue);
  }

  private async halt(): Promise<void> {
    this.stopWatch?.();
    this.stopWatch = undefined;
    if (this.sweep) clearInterval(this.sweep);
    for (const { timer } of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
    this.queue?.shutdown();
    this.queue = undefined;
    await this.worker;
    this.worker = undefined;
    this.states.clear();
  }

  /**
   * Synchronous and cheap. A run task's creation (origin delivery) is not looked at: the
   * webhook's status write that counts it follows within a second and pokes the webhook.
   * A task's other changes matter only when it finished under a webhook with a TTL.
   */
  private onEvent(e: WatchEvent): void {
    const k = e.key;
    if (k.kind === 'TaskWebhook') {
      const key = `${k.namespace}/${k.name}`;
      if (e.type === 'DELETED') this.forget(key);
      else this.poke(key);
      return;
    }
    if (k.kind !== 'Task' || e.origin === 'delivery' || e.type === 'DELETED') return;
    const labels = e.object.metadata.labels;
    const webhook = labels?.[LABEL_WEBHOOK];
    if (!webhook) return;
    const key = `${labels[LABEL_WEBHOOK_NAMESPACE] ?? k.namespace}/${webhook}`;
    // No state yet: the webhook's first reconcile (it is queued when seen) lists every task.
    const s = this.states.get(key);
    if (!s) return;
    const done = finishedAt(e.object);
    if (s.ttlMs === undefined || done === undefined) return;
    const due = done + s.ttlMs;
    s.announced = minOf(s.announced, due);
    s.expiry = minOf(s.expiry, due);
    this.schedule(key, Math.max(due, s.lastRun + MIN_INTERVAL_MS));
  }

  private poke(key: string): void {
    this.schedule(key, (this.states.get(key)?.lastRun ?? 0) + MIN_INTERVAL_MS);
  }

  /** Queues the key at `at` (ms), unless it is due sooner already. */
  private schedule(key: string, at: number): void {
    const queue = this.queue;
    if (!queue) return;
    const cur = this.timers.get(key);
    if (cur && cur.at <= at) return;
    if (cur) clearTimeout(cur.timer);
    const timer = setTimeout(() => {
      this.timers.delete(key);
      queue.add(key);
    }, Math.min(Math.max(0, at - Date.now()), MAX_TIMER_MS));
    timer.unref();
    this.timers.set(key, { at, timer });
  }

  private forget(key: string): void {
    const cur = this.timers.get(key);
    if (cur) clearTimeout(cur.timer);
    this.timers.delete(key);
    this.states.delete(key);
  }

  private async work(queue: WorkQueue): Promise<void> {
    for (let key = await queue.get(); key !== undefined; key = await queue.get()) {
      try {
        await this.reconcile(key);
        queue.forget(key);
      } catch (err) {
        const retryInMs = queue.addRateLimited(key);
        this.log.warn({ err, webhook: key, retryInMs }, 'trimming run tasks failed');
      } finally {
        queue.done(key);
      }
    }
  }

  private async reconcile(key: string): Promise<void> {
    const i = key.indexOf('/');
    const namespace = key.slice(0, i);
    const name = key.slice(i + 1);
    const w = await this.store.get('TaskWebhook', namespace, name);
    if (!w) return void this.states.delete(key);
    const spec = w.spec as TaskWebhookSpec;
    const limit = spec.history_limit ?? DEFAULT_HISTORY_LIMIT;
    const ttlMs = spec.ttl_seconds_after_finished === undefined ? undefined : spec.ttl_seconds_after_finished * 1000;
    const uid = w.metadata.uid;
    let s = this.states.get(key);
    if (!s || s.uid !== uid) this.states.set(key, (s = { uid, lastRun: 0, acceptedAt: 0, fullAt: 0 }));
    const started = Date.now();
    s.lastRun = started;
    s.ttlMs = ttlMs;
    const settings = `${limit}/${ttlMs ?? ''}`;
    // Read before the list: a task accepted meanwhile is counted twice at worst (one more pass), never missed.
    const accepted = (await this.store.store.data.counters([uid])).get(uid)?.accepted ?? 0;
    const mayHave = s.kept === undefined ? undefined : s.kept + Math.max(0, accepted - s.acceptedAt);
    const due = mayHave === undefined || mayHave > limit || s.settings !== settings || (s.expiry !== undefined && s.expiry <= started) || started - s.fullAt >= SWEEP_MS;
    if (due) {
      s.announced = undefined;
      const pass = await this.pass(w, limit, ttlMs, started);
      if (pass.deleted) this.log.debug({ webhook: key, deleted: pass.deleted, kept: pass.kept }, 'deleted run tasks beyond the history limit or past their TTL');
      if (this.states.get(key) !== s) return;
      s.kept = pass.complete ? pass.kept : undefined;
      s.acceptedAt = accepted;
      s.fullAt = started;
      s.settings = settings;
      s.expiry = minOf(pass.expiry, s.announced);
      // More to delete: the next round after a pause, behind the other webhooks.
      if (!pass.complete) return this.schedule(key, started + MIN_INTERVAL_MS);
    }
    if (s.expiry !== undefined) this.schedule(key, Math.max(s.expiry, started + MIN_INTERVAL_MS));
  }

  /**
   * One walk over the webhook's tasks in name order, which is the order they were made in
   * (see runTaskName). The newest `limit` seen so far are held in a ring; a task pushed out of
   * it, or past its TTL, is deleted. Memory: the ring and one chunk.
   */
  private async pass(w: StoredResource, limit: number, ttlMs: number | undefined, now: number): Promise<Pass> {
    const { namespace, name, uid } = w.metadata;
    const ring: Array<{ name: string; due?: number }> = [];
    let oldest = 0;
    let doomed: ObjectKey[] = [];
    let deleted = 0;
    let cont: string | undefined;
    const flush = async (): Promise<void> => {
      const batch = doomed;
      doomed = [];
      deleted += await deleteTasks(this.store, batch);
    };
    do {
      const page = await this.store.list('Task', { namespace, labelSelector: runTasksOf(name), limit: PAGE, continue: cont });
      for (const t of page.items) {
        if (!ownedBy(t, { namespace, uid })) continue;
        const done = ttlMs === undefined ? undefined : finishedAt(t);
        const due = done === undefined ? undefined : done + ttlMs!;
        const entry = { name: t.metadata.name, due };
        if (due !== undefined && due <= now) doomed.push({ kind: 'Task', namespace, name: entry.name });
        else if (limit === 0) doomed.push({ kind: 'Task', namespace, name: entry.name });
        else if (ring.length < limit) ring.push(entry);
        else {
          doomed.push({ kind: 'Task', namespace, name: ring[oldest]!.name });
          ring[oldest] = entry;
          oldest = (oldest + 1) % limit;
        }
      }
      if (doomed.length >= CHUNK) await flush();
      // Stopped leading meanwhile, or enough for one turn.
      if (deleted >= MAX_DELETES || !this.queue) return { kept: ring.length, complete: false, deleted };
      cont = page.continue;
      if (cont) await new Promise((r) => setImmediate(r));
    } while (cont);
    if (doomed.length) await flush();
    let expiry: number | undefined;
    for (const e of ring) expiry = minOf(expiry, e.due);
    return { kept: ring.length, expiry, complete: true, deleted };
  }
}
