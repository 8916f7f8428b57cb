// The delivery engine: sends queued messages, each destination (scheme, host, port) with a
// bounded number of requests in flight, so a slow or dead one holds back only its own. What
// it holds in memory is bounded too (overall and per destination): the rest waits in the
// store's queue, which a scan reads as capacity frees up. A message leaves the queue when
// delivered or dead; an attempt cut off by a crash counts for nothing: the message is still
// queued as it was.
import type { Logger } from 'pino';
import type { Metrics } from '../metrics/metrics.js';
import { origin, type OutboundClient } from '../outbound/client.js';
import type { DueQuery, QueuedMessage, Store } from '../store/types.js';
import { Attempts, type Started } from './attempt.js';
import { isActive, type IndexedTrigger, type TriggerIndex } from './index.js';
import type { Pressure } from './pressure.js';
import type { MessageTarget } from './message.js';

/** Requests in flight per destination. */
const PER_DESTINATION = 16;
/**
 * Attempts whose `delivering` record is being written, or written and waiting for a slot, per
 * destination: a few commits' worth ahead of the slots, so a commit's latency does not bound
 * a fast destination's rate (PER_DESTINATION records per commit round trip).
 */
const START_AHEAD = 3 * PER_DESTINATION;
/**
 * Attempts started per pressure sample while requests keep the loop busy: the rate halves down
 * to MIN_RATE, and doubles back once there is room, until it is no limit at all. A rate, not a
 * number in flight: a fast destination answers many times per sample.
 */
const BUSY_RATE = 64;
const MIN_RATE = 4;
const MAX_RATE = 1024;
/** Messages one destination may hold (waiting, started or in flight): a dead one cannot take everything. */
const LANE_HELD = 512;
/** Messages held overall. */
const MAX_HELD = 4096;
/** How often the queue is read for retries that came due, redeliveries and what a restart or a backlog left. */
const SCAN_MS = 500;
const SCAN_PAGE = 512;
/** Rows one scan reads at most: a destination's backlog at the head of the queue does not make scans unbounded. */
const SCAN_ROWS = 8 * SCAN_PAGE;
/** A lane with no answer for this long is stalled: it does not hold the dispatcher back. */
const STALL_MS = 1000;

interface Waiting {
  m: QueuedMessage;
  t: IndexedTrigger | undefined;
  target: MessageTarget;
}

/**
 * A destination's messages: waiting, started (their record being written: at most
 * START_AHEAD with those ready, so a `delivering` record means a request is imminent or
 * under way), ready, and active (a request in flight).
 */
interface Lane {
  held: number;
  waiting: Waiting[];
  starting: number;
  ready: Started[];
  active: number;
  /** A message was turned away for want of room here: scan once half of it is free. */
  full: boolean;
  /** Messages turned away wait in the store: they go before any the dispatcher would add. */
  backlog: boolean;
  /** The triggers whose messages came here: a scan skips them while the lane is full. */
  owners: Set<string>;
  /** When its last answer came in (or it was opened). */
  answeredAt: number;
}

export interface EngineDeps {
  store: Store;
  index: TriggerIndex;
  client: OutboundClient;
  pressure: Pressure;
  metrics: Metrics;
  log: Logger;
}

export class Engine {
  private readonly lanes = new Map<string, Lane>();
  /** Messages held (starting, waiting in a lane or being sent): a scan does not take them twice. */
  private readonly taken = new Set<number>();
  /**
   * Messages let go while a read of the queue was under way, by when: that read may still
   * return them as they were before their attempt settled (a store read is not instant), and
   * must not take them again. Forgotten once no read is under way.
   */
  private readonly releasedAt = new Map<number, number>();
  private releases = 0;
  private reads = 0;
  private readonly attempts: Attempts;
  private timer?: NodeJS.Timeout;
  private offSample?: () => void;
  private scanning = false;
  /** Messages were left in the queue for want of room overall: scan again once half is free. */
  private behind = false;
  private stopped = false;
  private readonly work = new Set<Promise<void>>();
  private rate = Infinity;
  /** Attempts the engine may still start in this sample. */
  private tokens = Infinity;
  /** Waiting for room (the dispatcher). */
  private readonly roomWaiters = new Set<() => void>();

  constructor(private readonly deps: EngineDeps) {
    this.attempts = new Attempts(deps);
  }

  start(): void {
    this.timer = setInterval(() => void this.scan(), SCAN_MS);
    this.timer.unref();
    // A trigger that starts sending again (resumed, no longer suspended) has messages waiting.
    this.deps.index.onChange = (t, before) => {
      if (t && sending(t) && !(before && sending(before))) void this.scan();
    };
    this.offSample = this.deps.pressure.onSample(() => this.adjust());
    void this.scan();
  }

  /** Each sample: the rate halves while requests keep the loop busy, doubles while there is room. */
  private adjust(): void {
    const { pressure } = this.deps;
    if (pressure.busy) this.rate = Math.max(MIN_RATE, Math.min(BUSY_RATE, this.rate / 2));
    else if (pressure.room && this.rate !== Infinity) this.rate = this.rate * 2 > MAX_RATE ? Infinity : this.rate * 2;
    this.tokens = this.rate;
    for (const [key, lane] of this.lanes) if (lane.ready.length) this.pump(key, lane);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.signalRoom();
    clearInterval(this.timer);
    this.offSample?.();
    while (this.work.size) await Promise.allSettled([...this.work]);
    await this.attempts.status.flush();
    this.attempts.status.close();
    this.attempts.outcomes.flush();
  }

  /** Messages the dispatcher just queued: sent now, without waiting for a scan. */
  take(messages: QueuedMessage[]): void {
    for (const m of messages) this.enter(m);
  }

  /**
   * Whether every trigger that sends has its destination full, or holding messages it turned
   * away and has not read back yet, and still answering: messages queued now would only wait in
   * the store (rows written, later read again) while the change log already keeps them. A
   * trigger whose destination holds nothing right now (a fast one between messages), or a
   * stalled destination, never holds the others back.
   */
  get saturated(): boolean {
    const now = Date.now();
    const held = new Set<string>();
    for (const lane of this.lanes.values()) {
      if ((lane.full || lane.backlog) && now - lane.answeredAt <= STALL_MS) for (const o of lane.owners) held.add(o);
    }
    return held.size > 0 && this.allSendingIn(held);
  }

  /** Settles once a destination has read back what it turned away, or after `ms` (a lane may stall meanwhile). */
  room(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.roomWaiters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.roomWaiters.add(done);
    });
  }

  private signalRoom(): void {
    for (const done of [...this.roomWaiters]) done();
  }

  private async scan(): Promise<void> {
    if (this.scanning || this.stopped) return;
    // Held back by requests, the engine sends a few per sample: it holds enough for that, and a
    // scan for more would read (and parse) rows of a growing backlog only to leave them.
    const busy = this.deps.pressure.busy;
    if (busy && this.taken.size >= BUSY_RATE) return;
    this.scanning = true;
    try {
      let after: { dueAt: number; id: number } | undefined;
      const rows = busy ? BUSY_RATE : SCAN_ROWS;
      const pageSize = Math.min(SCAN_PAGE, rows);
      for (let read = 0; read < rows && this.taken.size < MAX_HELD; read += pageSize) {
        const skipOwners = this.fullOwners();
        // Every trigger that sends has a full lane: the scan would only walk their backlog.
        if (skipOwners.length && this.allSendingIn(new Set(skipOwners))) break;
        const page = await this.read({ after, skipOwners }, pageSize);
        let entered = 0;
        for (const m of page) if (this.enter(m)) entered++;
        // Nothing taken from a whole page: the rest is for the same full lanes.
        if (page.length < pageSize || !entered) break;
        const last = page[page.length - 1]!;
        after = { dueAt: last.dueAt!, id: last.id };
      }
    } catch (err) {
      this.deps.log.error({ err }, 'reading the trigger queue failed');
    } finally {
      this.scanning = false;
    }
  }

  /** A backlogged destination's next messages, read for its owners only (they lead the queue). */
  private async refill(lane: Lane): Promise<void> {
    if (this.stopped) return;
    try {
      const limit = lane.held + LANE_HELD;
      const page = await this.read({ owners: [...lane.owners] }, limit);
      // A short page read all there was; entering may turn some away again.
      if (page.length < limit) lane.backlog = false;
      for (const m of page) this.enter(m);
      if (!lane.backlog) this.signalRoom();
    } catch (err) {
      this.deps.log.error({ err }, 'reading the trigger queue failed');
    }
  }

  /** Due messages, less those let go while the read was under way. */
  private async read(q: DueQuery, limit: number): Promise<QueuedMessage[]> {
    const since = this.releases;
    this.reads++;
    try {
      const page = await this.deps.store.data.dueMessages(Date.now(), limit, q);
      return page.filter((m) => (this.releasedAt.get(m.id) ?? -1) < since);
    } finally {
      if (--this.reads === 0) this.releasedAt.clear();
    }
  }

  private allSendingIn(owners: Set<string>): boolean {
    for (const t of this.deps.index.all()) if (sending(t) && !owners.has(t.object.metadata.uid)) return false;
    return true;
  }

  private fullOwners(): string[] {
    const out: string[] = [];
    for (const lane of this.lanes.values()) {
      if (lane.held < LANE_HELD) continue;
      // Turned away without being read: scan again once it has room.
      lane.full = lane.backlog = true;
      out.push(...lane.owners);
    }
    return out;
  }

  /**
   * Into its destination's lane, unless out of room or its trigger holds it back (suspended,
   * not Ready); whether it was taken now.
   */
  private enter(m: QueuedMessage): boolean {
    if (this.stopped || this.taken.has(m.id)) return false;
    const t = this.deps.index.get(m.ownerUid);
    if (t && !sending(t)) return false;
    const target = JSON.parse(m.meta) as MessageTarget;
    const key = laneOf(target.url);
    const lane = this.lanes.get(key) ?? { held: 0, waiting: [], starting: 0, ready: [], active: 0, full: false, backlog: false, owners: new Set<string>(), answeredAt: Date.now() };
    if (this.taken.size >= MAX_HELD) return (this.behind = true), false;
    if (lane.held >= LANE_HELD) return (lane.full = lane.backlog = true), false;
    this.lanes.set(key, lane);
    this.taken.add(m.id);
    lane.held++;
    lane.owners.add(m.ownerUid);
    lane.waiting.push({ m, t, target });
    this.pump(key, lane);
    return true;
  }

  /** Sends what is ready while the destination has room, and starts the next few. */
  private pump(key: string, lane: Lane): void {
    if (this.stopped) return;
    while (lane.active < PER_DESTINATION && this.tokens > 0 && lane.ready.length) {
      this.tokens--;
      this.send(key, lane, lane.ready.shift()!);
    }
    while (lane.starting + lane.ready.length < START_AHEAD && lane.waiting.length) {
      const w = lane.waiting.shift()!;
      lane.starting++;
      this.track(
        this.attempts.start(w.m, w.t, w.target).then((s) => {
          lane.starting--;
          if (!s) return this.release(key, lane, w.m);
          lane.ready.push(s);
          this.pump(key, lane);
        }),
        key, lane, w.m,
      );
    }
  }

  /**
   * The slot is free again once the attempt ends; the outcome is written after. Only an answer
   * (any status) shows the destination alive: a timeout or a refused connection does not.
   */
  private send(key: string, lane: Lane, s: Started): void {
    lane.active++;
    const freed = (answered: boolean) => {
      lane.active--;
      if (answered) lane.answeredAt = Date.now();
      this.pump(key, lane);
    };
    this.track(
      this.attempts.send(s).then(
        async (sent) => {
          freed(sent.attempt.status !== undefined);
          const waitMs = await this.attempts.finish(s, sent);
          this.release(key, lane, s.m);
          if (waitMs !== undefined && waitMs < 60_000) setTimeout(() => void this.scan(), waitMs + 5).unref();
        },
        (err: unknown) => {
          freed(false);
          throw err;
        },
      ),
      key, lane, s.m,
    );
  }

  /** Keeps `p` for stop(); a failure leaves the message queued as it was, for a later scan. */
  private track(p: Promise<void>, key: string, lane: Lane, m: QueuedMessage): void {
    const w: Promise<void> = p
      .catch((err: unknown) => {
        this.deps.log.error({ err, message: m.messageId }, 'trigger attempt failed');
        this.release(key, lane, m);
      })
      .finally(() => this.work.delete(w));
    this.work.add(w);
  }

  private release(key: string, lane: Lane, m: QueuedMessage): void {
    if (!this.taken.delete(m.id)) return;
    if (this.reads) this.releasedAt.set(m.id, this.releases++);
    lane.held--;
    if (!lane.held && this.lanes.get(key) === lane) this.lanes.delete(key);
    if (lane.full && lane.held <= LANE_HELD / 2) {
      lane.full = false;
      setImmediate(() => void this.refill(lane));
    }
    if (this.behind && this.taken.size <= MAX_HELD / 2) {
      this.behind = false;
      setImmediate(() => void this.scan());
    }
  }
}

/** Whether its messages go out now: Ready (resolved, not suspended, destination not gone). */
const sending = (t: IndexedTrigger): boolean => isActive(t, Number.MAX_SAFE_INTEGER);

/** A URL the client will refuse still needs a lane: its attempt records why. (origin() remembers the URLs it parsed.) */
function laneOf(url: string): string {
  try {
    return origin(url);
  } catch {
    return 'invalid';
  }
}
