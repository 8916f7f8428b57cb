import { Worker } from 'node:worker_threads';
import type { ObjectKey, StoredResource, WatchEvent, WatchEventType } from '../../api/types.js';
import type { WireCommit, WireDelivery, WireNote, WirePrune, WireRecord, WireRequest, WireResult, WireTask } from './delivery-wire.js';
import { rowToResource, type ResourceRow } from './rows.js';

/** What a committed delivery resolves with; a failed one rejects instead. */
export type Committed = Exclude<WireResult, { outcome: 'failed' }>;

/** A delivery waiting for its commit. */
interface Waiting {
  wire: WireDelivery;
  resolve(r: Committed): void;
  reject(e: Error): void;
}

/**
 * A change the delivery path committed. Most watchers skip these by origin, so the object
 * is parsed from the stored row only when one reads it.
 */
class DeliveryEvent implements WatchEvent {
  readonly origin = 'delivery';
  readonly key: ObjectKey;
  private parsed?: StoredResource;
  constructor(
    readonly type: WatchEventType,
    private readonly row: ResourceRow,
  ) {
    this.key = { kind: row.kind, namespace: row.namespace, name: row.name };
  }
  get object(): StoredResource {
    return (this.parsed ??= rowToResource(this.row));
  }
}

/** The row the writer stored for a run task, under the name and revision it was given. */
function taskRow(t: WireTask, name: string, rv: number): ResourceRow {
  return {
    kind: t.kind, namespace: t.namespace, name, uid: t.uid, rv, create_rv: rv, generation: t.generation, created: t.created,
    labels: t.labelsJson, annotations: t.annotationsJson, spec: t.specJson, status: t.statusJson, endpoint_id: null, deleted_at: null,
  };
}

interface Outbox {
  waiting: Waiting[];
  notes: WireNote[];
  /** Notes past the record budget, merged per receiver and outcome. */
  merged: Map<string, WireNote>;
  /** Write every lagging receiver status, due or not (on shutdown). */
  flushStatus: boolean;
  /** Send even if empty: due statuses need a transaction when no deliveries come. */
  tick: boolean;
  prune?: { p: WirePrune; done(n: number): void };
}

interface Sent {
  waiting: Waiting[];
  notes: WireNote[];
  pruned?(n: number): void;
}

/**
 * Publishes a commit's changes through the resource store, before any sender is answered:
 * revisions `from + 1` to `rev`, of which `events` are the ones it knows objects for.
 */
export type OnCommit = (from: number, rev: number, events: WatchEvent[]) => void;

/** Records waiting for the writer beyond which notes are only counted: a flood must not grow memory. */
const NOTE_RECORD_BUDGET = 20_000;

/** Notes that make a request of their own (at the end of the turn) rather than wait for a flush. */
const NOTE_CHUNK = 256;

/** Deliveries that go to the writer without waiting for the end of the event-loop turn. */
const EARLY_BATCH = 16;

const emptyOutbox = (): Outbox => ({ waiting: [], notes: [], merged: new Map(), flushStatus: false, tick: false });

/**
 * The main thread's side of the delivery writer thread. Deliveries go out in requests of
 * what one turn of the event loop brought (or sooner, EARLY_BATCH at a time), without
 * waiting for earlier ones to commit; the writer folds everything queued into its next
 * transaction. Main-thread writes hold the stream (quiesce/resume) so that revisions stay
 * in commit order.
 */
export class DeliveryWriter {
  private worker?: Worker;
  private nextId = 1;
  private out = emptyOutbox();
  private readonly inFlight = new Map<number, Sent>();
  private holds = 0;
  private idle: Array<() => void> = [];
  private scheduled = false;
  /** The writer says some receiver status lags its counters (true at start: after a restart, some may). */
  private statusPending = true;
  private sentSinceTick = false;
  private closed = false;

  constructor(
    private readonly path: string,
    private readonly onCommit: OnCommit,
  ) {}

  submit(wire: WireDelivery): Promise<Committed> {
    if (this.closed) return Promise.reject(new Error('store is closed'));
    return new Promise((resolve, reject) => {
      this.out.waiting.push({ wire, resolve, reject });
      // A batch goes at the end of this turn, or as soon as it is big enough to be worth a
      // transaction: the writer then starts on it while the rest of the turn is still being
      // read, so the two threads work side by side instead of taking turns on one convoy.
      if (this.out.waiting.length >= EARLY_BATCH) this.send();
      else this.schedule();
    });
  }

  /**
   * Counted and recorded with the next request. A few notes wait for the next status flush;
   * many go out in chunks, so a replay storm never piles them up for one long copy.
   */
  note(ownerUid: string, outcome: WireNote['outcome'], record: WireRecord): void {
    const { notes } = this.out;
    if (notes.length < NOTE_RECORD_BUDGET) {
      notes.push({ ownerUid, outcome, count: 1, record, keep: true });
      if (notes.length === NOTE_CHUNK) this.schedule();
      return;
    }
    const k = `${outcome}/${ownerUid}`;
    const m = this.out.merged.get(k);
    if (m) (m.count++, (m.record = record));
    else this.out.merged.set(k, { ownerUid, outcome, count: 1, record, keep: false });
  }

  /**
   * Called periodically: when nothing went to the writer since the last tick, sends what
   * waits (notes) or an empty request if a status is due, so statuses never lag for want
   * of traffic.
   */
  tick(): void {
    const o = this.out;
    if (!this.sentSinceTick && (this.statusPending || o.notes.length || o.merged.size)) {
      o.tick = true;
      this.schedule();
    }
    this.sentSinceTick = false;
  }

  prune(p: WirePrune): Promise<number> {
    return new Promise((done) => {
      this.out.prune?.done(0);
      this.out.prune = { p, done };
      this.schedule();
    });
  }

  /** Resolves once nothing is in flight; nothing new is sent until resume(). */
  quiesce(): Promise<void> {
    this.holds++;
    return this.inFlight.size ? new Promise((r) => this.idle.push(r)) : Promise.resolve();
  }

  resume(): void {
    if (--this.holds === 0) this.schedule();
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.send();
    });
  }

  private send(): void {
    const o = this.out;
    if (this.holds > 0 || (!o.waiting.length && !o.notes.length && !o.merged.size && !o.flushStatus && !o.tick && !o.prune)) return;
    this.sentSinceTick = true;
    this.out = emptyOutbox();
    const id = this.nextId++;
    const notes = [...o.notes, ...o.merged.values()];
    const req: WireRequest = { id, deliveries: o.waiting.map((w) => w.wire), notes, flushStatus: o.flushStatus, prune: o.prune?.p };
    this.inFlight.set(id, { waiting: o.waiting, notes, pruned: o.prune?.done });
    (this.worker ??= this.start()).postMessage(req);
  }

  private start(): Worker {
    // A small young generation: its live set is one batch, and the default would hold ~30 MB more.
    const w = new Worker(new URL('./delivery-writer-worker.js', import.meta.url), {
      workerData: { path: this.path },
      resourceLimits: { maxYoungGenerationSizeMb: 8 },
    });
    w.on('message', (c: WireCommit) => this.committed(c));
    // Pending requests die with the thread: never acknowledged, so nothing is lost that was promised.
    const fail = (why: string): void => {
      if (this.worker === w) this.worker = undefined;
      for (const id of [...this.inFlight.keys()]) this.settle(id, new Error(why), false);
      this.wake();
    };
    w.on('error', (e) => fail(`delivery writer failed: ${e.message}`));
    w.on('exit', (code) => fail(`delivery writer exited with ${code}`));
    return w;
  }

  private committed(c: WireCommit): void {
    this.statusPending = c.statusPending;
    if ('error' in c) {
      for (const id of c.ids) this.settle(id, new Error(c.error), true);
    } else {
      const sent = c.replies.map((r) => this.inFlight.get(r.id)!);
      const events: WatchEvent[] = [];
      c.replies.forEach((r, i) => r.results.forEach((res, j) => {
        const task = sent[i]!.waiting[j]!.wire.task;
        if (res.outcome === 'accepted' && task) events.push(new DeliveryEvent('ADDED', taskRow(task, res.task, res.rv)));
      }));
      for (const row of c.modified) events.push(new DeliveryEvent('MODIFIED', row));
      // Published first: a sender who reads right after its 202 finds what it was promised.
      this.onCommit(c.from, c.rev, events);
      c.replies.forEach((r, i) => {
        this.inFlight.delete(r.id);
        sent[i]!.waiting.forEach((w, j) => {
          const res = r.results[j]!;
          if (res.outcome === 'failed') w.reject(new Error(res.error));
          else w.resolve(res);
        });
        sent[i]!.pruned?.(r.pruned);
      });
    }
    this.wake();
  }

  /**
   * A request that did not commit: its deliveries are refused (the senders retry). Its notes
   * go out again after a rolled-back transaction, but not after the thread died, when they
   * may have been committed.
   */
  private settle(id: number, err: Error, rolledBack: boolean): void {
    const s = this.inFlight.get(id);
    if (!s) return;
    this.inFlight.delete(id);
    for (const w of s.waiting) w.reject(err);
    s.pruned?.(0);
    if (rolledBack) this.out.notes.push(...s.notes);
  }

  private wake(): void {
    if (this.inFlight.size) return;
    const idle = this.idle;
    this.idle = [];
    for (const r of idle) r();
  }

  /** Writes what is still buffered (notes, statuses), then stops the thread. */
  async close(): Promise<void> {
    this.out.flushStatus = true;
    this.send();
    await new Promise<void>((r) => (this.inFlight.size ? this.idle.push(r) : r()));
    this.closed = true;
    const w = this.worker;
    if (!w) return;
    const exited = new Promise((r) => w.once('exit', r));
    w.postMessage('stop');
    await exited;
  }
}
