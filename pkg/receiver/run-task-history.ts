// Run tasks do not pile up: each TaskWebhook keeps its newest `spec.history_limit` run tasks
// and, with `spec.ttl_seconds_after_finished`, loses a finished one that long after it
// completed. Enforced by the leader, after the fact, never on the delivery path: a delivery
// commits its task as before, and costs this module one skipped watch event.
//
// Cost. Once a second, one read of the accepted counters of the webhooks whose status moved
// (the status mirror writes it, with origin delivery, within a second of their deliveries) says
// which may be over their limit: the tasks the last pass left plus those accepted since; idle
// webhooks cost no read but one of every counter each RECOUNT_MS. A pass runs at most
// every TRIM_INTERVAL_MS per webhook and only once that estimate is over the limit by a tenth
// of it (or deliveries paused): it counts the webhook's tasks on the key index, reads the names
// of the oldest surplus only (see run-task-range.ts) and deletes them BATCH per unit. Under a
// flood, each task is read once by name and deleted once, in a unit with hundreds of others.
// TTLs: a task's status write (never a delivery's) that finishes it tells when it is due; a
// sweep of the webhook's tasks (names and status, page by page) runs when one is.
import type { Logger } from 'pino';
import { DEFAULT_HISTORY_LIMIT, type TaskWebhookSpec } from '../api/kinds/task-webhook.js';
import type { Status, StoredResource, WatchEvent } from '../api/types.js';
import type { NamedObject, NameRange, Store } from '../store/types.js';
import { LABEL_WEBHOOK, LABEL_WEBHOOK_NAMESPACE } from './run-task.js';
import { BATCH, deleteTasks, namesBefore, ownedBy, refOf, runTaskRange, type WebhookRef } from './run-task-range.js';

const TICK_MS = 1000;
/** A webhook's surplus is looked for at most this often: under a flood it builds up meanwhile. */
const TRIM_INTERVAL_MS = 2000;
/** Every webhook's counter is read at least this often, whatever its status writes said. */
const RECOUNT_MS = 60_000;
/** Each webhook with a TTL is swept at least this often, whatever its tasks' events said. */
const SWEEP_MS = 5 * 60_000;
/** Tasks per page of a TTL sweep (names and status, no spec). */
const SWEEP_PAGE = 500;

const FINISHED = new Set(['Succeeded', 'Failed']);

/** When a finished task completed (ms), or undefined while it has not finished. */
function finishedAt(status: Status | undefined): number | undefined {
  const phase = status?.phase;
  const completedAt = status?.completedAt;
  if (typeof phase !== 'string' || !FINISHED.has(phase) || typeof completedAt !== 'string') return undefined;
  const at = Date.parse(completedAt);
  return Number.isNaN(at) ? undefined : at;
}

const keyOf = (w: { namespace: string; name: string }): string => `${w.namespace}/${w.name}`;

const minOf = (a: number | undefined, b: number | undefined): number | undefined => (a === undefined ? b : b === undefined ? a : Math.min(a, b));

/** What is known of one webhook's run tasks. */
interface State {
  ref: WebhookRef;
  range: NameRange;
  limit: number;
  ttlMs?: number;
  /** Tasks the last pass counted and left (undefined until one ran), and the accepted counter then. */
  kept?: number;
  acceptedAt: number;
  /** The accepted counter as last read: unchanged at the next read, deliveries paused. */
  accepted: number;
  /** Its status moved since its counter was read: deliveries came. */
  dirty: boolean;
  trimmedAt: number;
  /** The earliest TTL due among finished tasks (ms), when one is known. */
  due?: number;
  sweptAt: number;
  /** TTLs announced while a sweep runs: it may have read the task before it finished. */
  announced?: number;
  sweeping: boolean;
}

/** Enforces every TaskWebhook's history_limit and ttl_seconds_after_finished while this process leads. */
export class RunTaskHistory {
  private readonly states = new Map<string, State>();
  private running = false;
  private countedAllAt = 0;
  private stopWatch?: () => void;
  private timer?: NodeJS.Timeout;
  private ticking: Promise<void> = Promise.resolve();
  private changing: Promise<void> = Promise.resolve();

  constructor(
    private readonly store: Store,
    private readonly log: Logger,
  ) {}

  /** Starts while this process leads, stops when it no longer does (changes in the order told). */
  lead(leader: boolean): Promise<void> {
    this.changing = this.changing.then(() => (leader ? this.start() : this.halt()));
    return this.changing;
  }

  /** Stops for good (on shutdown), after any change under way. */
  stop(): Promise<void> {
    return this.lead(false);
  }

  private async start(): Promise<void> {
    if (this.running) return;
    this.running = true;
    this.stopWatch = await this.store.control.watch({}, undefined, (e) => this.onEvent(e));
    let cont: string | undefined;
    do {
      const page = await this.store.control.list('TaskWebhook', { limit: 500, continue: cont });
      for (const w of page.items) this.track(w);
      cont = page.continue;
    } while (cont && this.running);
    this.schedule();
  }

  private async halt(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    this.stopWatch?.();
    clearTimeout(this.timer);
    await this.ticking;
    this.states.clear();
  }

  private schedule(): void {
    if (!this.running) return;
    this.timer = setTimeout(() => {
      this.ticking = this.tick()
        .catch((err: unknown) => this.log.warn({ err }, 'trimming run tasks failed'))
        .finally(() => this.schedule());
    }, TICK_MS);
    this.timer.unref();
  }

  /** Synchronous and cheap: a run task's creation is skipped first thing. */
  private onEvent(e: WatchEvent): void {
    const k = e.key;
    if (e.origin === 'delivery') {
      // The status mirror's write: the webhook's counter moved.
      const s = k.kind === 'TaskWebhook' ? this.states.get(keyOf(k)) : undefined;
      if (s) s.dirty = true;
      return;
    }
    if (k.kind === 'TaskWebhook') {
      if (e.type === 'DELETED') this.states.delete(keyOf(k));
      else this.track(e.object);
      return;
    }
    if (k.kind !== 'Task' || e.type === 'DELETED') return;
    const labels = e.object.metadata.labels;
    const webhook = labels?.[LABEL_WEBHOOK];
    if (!webhook) return;
    const s = this.states.get(keyOf({ namespace: labels[LABEL_WEBHOOK_NAMESPACE] ?? k.namespace, name: webhook }));
    const done = finishedAt(e.object.status);
    if (s?.ttlMs === undefined || done === undefined) return;
    s.due = minOf(s.due, done + s.ttlMs);
    if (s.sweeping) s.announced = minOf(s.announced, done + s.ttlMs);
  }

  /** A webhook seen (listed, created or changed): its settings; a new uid is a new webhook. */
  private track(w: StoredResource): void {
    const key = keyOf(w.metadata);
    const spec = w.spec as TaskWebhookSpec;
    let s = this.states.get(key);
    if (!s || s.ref.uid !== w.metadata.uid) {
      s = { ref: refOf(w), range: runTaskRange(w, Date.now()), limit: 0, acceptedAt: 0, accepted: 0, dirty: true, trimmedAt: 0, sweptAt: 0, sweeping: false };
      this.states.set(key, s);
    }
    s.limit = spec.history_limit ?? DEFAULT_HISTORY_LIMIT;
    const ttlMs = spec.ttl_seconds_after_finished === undefined ? undefined : spec.ttl_seconds_after_finished * 1000;
    // A new TTL applies to tasks finished already: sweep at once.
    if (ttlMs !== s.ttlMs) s.due = ttlMs === undefined ? undefined : 0;
    s.ttlMs = ttlMs;
  }

  /** The accepted counters of the webhooks whose status moved (of all, every RECOUNT_MS), by uid. */
  private async readCounters(states: State[]): Promise<Map<string, number>> {
    const all = Date.now() - this.countedAllAt >= RECOUNT_MS;
    if (all) this.countedAllAt = Date.now();
    const read = states.filter((s) => s.dirty || all);
    for (const s of read) s.dirty = false;
    const counters = read.length ? await this.store.data.counters(read.map((s) => s.ref.uid)) : undefined;
    return new Map(read.map((s) => [s.ref.uid, counters?.get(s.ref.uid)?.accepted ?? 0]));
  }

  private async tick(): Promise<void> {
    const states = [...this.states.values()];
    if (!states.length) return;
    const counters = await this.readCounters(states);
    for (const s of states) {
      if (!this.running) return;
      if (this.states.get(keyOf(s.ref)) !== s) continue;
      const accepted = counters.get(s.ref.uid) ?? s.accepted;
      try {
        const trim = this.trimDue(s, accepted, Date.now());
        if (trim) await this.trim(s, accepted);
        s.accepted = accepted;
        const sweep = this.sweepDue(s, Date.now());
        if (sweep) await this.sweep(s);
        // Reads of the embedded store do not yield: other work gets its turn between webhooks.
        if (trim || sweep) await new Promise((r) => setImmediate(r));
      } catch (err) {
        this.log.warn({ err, webhook: keyOf(s.ref) }, 'trimming run tasks failed');
      }
    }
  }

  private sweepDue(s: State, now: number): boolean {
    return s.ttlMs !== undefined && ((s.due !== undefined && s.due <= now) || now - s.sweptAt >= SWEEP_MS);
  }

  /** Whether a pass may find a surplus: tasks left plus accepted since over the limit, by the slack unless deliveries paused. */
  private trimDue(s: State, accepted: number, now: number): boolean {
    if (s.kept === undefined) return true;
    if (now - s.trimmedAt < TRIM_INTERVAL_MS) return false;
    const mayHave = s.kept + Math.max(0, accepted - s.acceptedAt);
    const slack = accepted === s.accepted ? 0 : Math.floor(s.limit / 10);
    return mayHave > s.limit + slack;
  }

  /**
   * Counts the webhook's tasks and deletes the oldest beyond the limit, reading only their
   * names. Others' tasks in the range are counted and skipped: those that lead it (left by an
   * earlier webhook of the name) are older than all of this one's, so the count stays exact,
   * and the range starts after them from then on.
   */
  private async trim(s: State, accepted: number): Promise<void> {
    s.trimmedAt = Date.now();
    const range = this.rangeNow(s);
    const count = await this.store.control.countNames(range);
    let surplus = count - s.limit;
    let deleted = 0;
    let others = 0;
    let leading = true;
    for (let after = range.after; surplus > 0 && this.running; ) {
      const page = await this.store.control.scanNames({ ...range, after }, Math.min(surplus, BATCH));
      if (!page.length) break;
      const own = page.filter((t) => ownedBy(t, s.ref));
      if (leading) leading = this.skipLeadingOthers(s, page);
      deleted += await deleteTasks(this.store, 'system', s.range.namespace, own);
      others += page.length - own.length;
      surplus -= page.length;
      after = page[page.length - 1]!.name;
    }
    // Still at least as many as are its own: the estimate never misses a surplus.
    s.kept = count - deleted - others;
    s.acceptedAt = accepted;
    if (deleted) this.log.debug({ webhook: keyOf(s.ref), deleted, kept: s.kept }, 'deleted run tasks beyond the history limit');
  }

  private rangeNow(s: State): NameRange {
    return { ...s.range, before: namesBefore(s.ref.name, Date.now()) };
  }

  /** Moves the range's start past the others' tasks that lead this page; true while the whole page was theirs. */
  private skipLeadingOthers(s: State, page: NamedObject[]): boolean {
    const first = page.findIndex((t) => ownedBy(t, s.ref));
    const others = first < 0 ? page.length : first;
    if (others) s.range = { ...s.range, after: page[others - 1]!.name };
    return first < 0;
  }

  /** Deletes the webhook's finished tasks whose TTL ran out; remembers when the next one is due. */
  private async sweep(s: State): Promise<void> {
    const { ttlMs } = s;
    if (ttlMs === undefined) return;
    const now = Date.now();
    s.sweeping = true;
    s.announced = undefined;
    let next: number | undefined;
    let deleted = 0;
    let doomed: NamedObject[] = [];
    try {
      const range = this.rangeNow(s);
      for (let after = range.after; this.running; ) {
        const page = await this.store.control.scanNames({ ...range, after }, SWEEP_PAGE, { status: true });
        for (const t of page) {
          const done = ownedBy(t, s.ref) ? finishedAt(t.status) : undefined;
          if (done === undefined) continue;
          if (done + ttlMs <= now) doomed.push(t);
          else next = minOf(next, done + ttlMs);
        }
        if (doomed.length >= BATCH || page.length < SWEEP_PAGE) {
          deleted += await deleteTasks(this.store, 'system', s.range.namespace, doomed);
          doomed = [];
        }
        if (page.length < SWEEP_PAGE) break;
        after = page[page.length - 1]!.name;
      }
    } finally {
      s.sweeping = false;
    }
    s.sweptAt = now;
    s.due = minOf(next, s.announced);
    if (s.kept !== undefined) s.kept -= deleted;
    if (deleted) this.log.debug({ webhook: keyOf(s.ref), deleted }, 'deleted finished run tasks past their TTL');
  }
}
