// The main thread's side of the writer thread: units go out in requests of what one turn
// of the event loop brought (or sooner, EARLY_BATCH at a time), without waiting for earlier
// ones to commit; the writer folds everything queued into its next transaction.
import { Worker } from 'node:worker_threads';
import { ApiError, type StatusReason } from '../../api/errors.js';
import type { WatchEvent } from '../../api/types.js';
import { nextTurn } from '../../util/next-turn.js';
import type { BodyCodec, EncryptionKey } from '../sealing.js';
import { unitResult } from '../results.js';
import type { DeliveryRecord, Maintenance, Unit, UnitResult } from '../types.js';
import type { WireCommit, WireRequest, WireUnitResult } from './wire.js';

/** What the writer thread needs from the kind registry. */
export interface WireContext {
  /** For the namespace-is-empty check. */
  namespacedKinds: string[];
  /** Per kind, label keys left out of the label index. */
  unindexedLabels: Record<string, string[]>;
}

/** What the writer thread starts with; of the keys, only the one that seals (it opens nothing). */
export interface WriterData extends WireContext {
  path: string;
  sealedKinds: readonly string[];
  sealingKey: EncryptionKey;
}

interface Waiting {
  unit: Unit;
  resolve(r: UnitResult): void;
  reject(e: Error): void;
}

interface Sent {
  waiting: Waiting[];
  /** How many of its units are of another origin than `delivery`. */
  control: number;
  maintained?(n: number): void;
}

/** Publishes committed changes (and records) to watchers, in commit order, before any caller is answered. */
/** What a transaction committed: revisions `from` (exclusive) to `rev`, its objects' changes, its records. */
export type Publish = (from: number, rev: number, changes: WatchEvent[], records: DeliveryRecord[]) => void;

/** Units that go to the writer without waiting for the end of the event-loop turn. */
const EARLY_BATCH = 16;

export class Writer {
  private worker?: Worker;
  private nextId = 1;
  private waiting: Waiting[] = [];
  private maintenance?: { m: Maintenance; done(n: number): void };
  private readonly inFlight = new Map<number, Sent>();
  private idle: Array<() => void> = [];
  private closed = false;
  /** Units of another origin than `delivery` sent and not yet published (see unpublished()). */
  private control = 0;
  /** The thread died with units in flight: some may be committed, unpublished until the next commit catches up. */
  private lost = false;

  constructor(
    private readonly path: string,
    private readonly ctx: WireContext,
    /** Opens the rows the writer sends back (status writes, deletions). */
    private readonly codec: BodyCodec,
    private readonly publish: Publish,
    /** Whether anyone watches records: they are not built for nobody. */
    private readonly wantRecords: () => boolean,
  ) {}

  commit(unit: Unit): Promise<UnitResult> {
    if (this.closed) return Promise.reject(new ApiError('ServiceUnavailable', 'the store is closed'));
    return new Promise((resolve, reject) => {
      this.waiting.push({ unit, resolve, reject });
      // A batch goes at the end of this turn, or as soon as it is big enough to be worth a
      // transaction: the writer starts on it while the rest of the turn is still being read.
      if (this.waiting.length >= EARLY_BATCH) this.send();
      else this.schedule();
    });
  }

  unpublished(): boolean {
    return this.control > 0 || this.lost;
  }

  maintain(m: Maintenance): Promise<number> {
    return new Promise((done) => {
      this.maintenance?.done(0);
      this.maintenance = { m, done };
      this.schedule();
    });
  }

  private readonly schedule = nextTurn(() => this.send());

  private send(): void {
    if (!this.waiting.length && !this.maintenance) return;
    const waiting = this.waiting;
    const maint = this.maintenance;
    this.waiting = [];
    this.maintenance = undefined;
    const id = this.nextId++;
    const m = maint?.m;
    const req: WireRequest = { id, units: waiting.map((w) => w.unit), maintenance: m };
    let control = 0;
    for (const w of waiting) if (w.unit.origin !== 'delivery') control++;
    this.control += control;
    this.inFlight.set(id, { waiting, control, maintained: maint?.done });
    let text: string;
    try {
      // One string: cloning it is a copy, where an object graph is walked value by value.
      text = JSON.stringify(req);
    } catch (e) {
      return this.settle(id, new ApiError('BadRequest', `cannot store the request: ${(e as Error).message}`)); // e.g. a value JSON cannot hold
    }
    (this.worker ??= this.start()).postMessage(text);
  }

  private start(): Worker {
    // A small young generation: its live set is one batch, and the default would hold ~30 MB more.
    const w = new Worker(new URL('./writer-worker.js', import.meta.url), {
      workerData: { path: this.path, ...this.ctx, sealedKinds: this.codec.sealedKinds, sealingKey: this.codec.keys.primary } satisfies WriterData,
      resourceLimits: { maxYoungGenerationSizeMb: 8 },
    });
    w.on('message', (c: WireCommit) => this.committed(c));
    // Pending requests die with the thread: never acknowledged, so nothing is lost that was promised.
    const failAll = (why: string): void => {
      if (this.worker === w) this.worker = undefined;
      if (this.inFlight.size) this.lost = true;
      for (const id of [...this.inFlight.keys()]) this.settle(id, new ApiError('ServiceUnavailable', why));
      this.wake();
    };
    w.on('error', (e) => failAll(`store writer failed: ${e.message}`));
    w.on('exit', (code) => failAll(`store writer exited with ${code}`));
    return w;
  }

  private committed(c: WireCommit): void {
    if ('error' in c) {
      for (const id of c.ids) this.settle(id, new ApiError('ServiceUnavailable', `the store could not commit: ${c.error}`));
      this.wake();
      return;
    }
    const answers: Array<() => void> = [];
    const changes: WatchEvent[] = [];
    const records: DeliveryRecord[] = [];
    for (const reply of c.replies) {
      const sent = this.inFlight.get(reply.id)!;
      this.inFlight.delete(reply.id);
      this.control -= sent.control;
      reply.results.forEach((res, i) => answers.push(this.answer(sent.waiting[i]!, res, changes, records)));
      if (sent.maintained) answers.push(() => sent.maintained!(reply.maintained));
    }
    // Published first: a caller who reads right after its answer finds what it was promised.
    this.publish(c.from, c.rev, changes, records);
    // The publish replayed from the log whatever a dead thread had committed unreported.
    this.lost = false;
    for (const a of answers) a();
    this.wake();
  }

  private answer(w: Waiting, res: WireUnitResult, changes: WatchEvent[], records: DeliveryRecord[]): () => void {
    if (!res.ok) {
      if ('held' in res) return () => w.resolve({ held: true, ...res.held });
      const e = res.error;
      return () => w.reject(new ApiError(e.reason as StatusReason, e.message, e.details));
    }
    const result = unitResult(w.unit, res.ops, this.codec, changes, this.wantRecords() ? records : undefined);
    return () => w.resolve(result);
  }

  private settle(id: number, err: Error): void {
    const s = this.inFlight.get(id);
    if (!s) return;
    this.inFlight.delete(id);
    this.control -= s.control;
    for (const w of s.waiting) w.reject(err);
    s.maintained?.(0);
  }

  private wake(): void {
    if (this.inFlight.size) return;
    const idle = this.idle;
    this.idle = [];
    for (const r of idle) r();
  }

  /** Commits what is queued, then stops the thread. */
  async close(): Promise<void> {
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
