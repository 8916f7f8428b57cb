// How busy this process is with requests, sampled: its event loop's utilization and how long
// the requests' writes take to commit (the writer thread's load). Writes come first, so while
// requests keep either busy the dispatcher reads the change log at a slow, steady pace and
// the engine starts only a few attempts per sample. Both still make progress; what they defer
// is durable and catches up once there is room. Work catching up alone is not held back.
//
// Requests are the foreground when they wait: how many are open (received, not yet answered)
// says so, where a count of those answered would not, since trigger work that slows the
// writes down also makes fewer of them, and would then pass for idle requests.
import type { EventEmitter } from 'node:events';
import { performance, type EventLoopUtilization } from 'node:perf_hooks';

const SAMPLE_MS = 100;
/** Utilization above which the loop counts as busy. */
const BUSY = 0.9;
/** Below this, background work may grow again. */
const ROOM = 0.75;
/**
 * Requests open at once (the sample's mean) from which they wait on the loop: a sender at a
 * rate the server keeps up with has one or two open; a flood, as many as its connections.
 * Fewer leave the loop to the triggers' own sending, which holding back would only delay.
 */
const FOREGROUND = 4;
/** Times per sample the open requests are counted. */
const PROBES = 10;
/** Mean commit time of the requests' writes above which the store is busy with them (the writer thread, not the loop). */
const BUSY_COMMIT_MS = 3;
/**
 * A hold this many samples long is a flood: it ends only after as many in a row with room,
 * since a flood that pauses for a moment (a sender between batches) would otherwise meet the
 * catch-up it let start. A shorter one (a commit stall) ends at the first sample with room.
 */
const FLOOD_SAMPLES = 10;

export class Pressure {
  private last: EventLoopUtilization = performance.eventLoopUtilization();
  private timer?: NodeJS.Timeout;
  private listeners: Array<() => void> = [];
  private open = 0;
  private openSum = 0;
  private probes = 0;
  private probe?: NodeJS.Timeout;
  private commits = 0;
  private commitMs = 0;
  /** Mean commit time of the last sample's writes. */
  private meanCommitMs = 0;
  /** Requests open during the last sample, on average. */
  private foreground = 0;
  /** Utilization of the last sample (0..1). */
  utilization = 0;
  /** Samples since the hold began (0: none). */
  private held = 0;
  /** Samples with room since the last without. */
  private quiet = 0;

  /** Counts the requests of this server as the foreground. */
  watch(server: EventEmitter): void {
    const closed = (): void => void this.open--;
    server.on('request', (_req: unknown, res: EventEmitter) => {
      this.open++;
      res.once('close', closed);
    });
  }

  start(): void {
    this.timer = setInterval(() => this.sample(), SAMPLE_MS);
    this.timer.unref();
    this.probe = setInterval(() => {
      this.openSum += this.open;
      this.probes++;
    }, SAMPLE_MS / PROBES);
    this.probe.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    clearInterval(this.probe);
  }

  /** A write of the foreground took this long to commit. */
  committed(ms: number): void {
    this.commits++;
    this.commitMs += ms;
  }

  /**
   * Set by a busy sample, cleared only by room (see FLOOD_SAMPLES): a flood's samples that are
   * neither (a commit stall, a short dip) would otherwise let the background run flat out.
   */
  get busy(): boolean {
    return this.held > 0;
  }

  get room(): boolean {
    return (this.utilization < ROOM && this.meanCommitMs < BUSY_COMMIT_MS / 2) || this.foreground < FOREGROUND;
  }

  /** Called after every sample, until the returned function is called. */
  onSample(fn: () => void): () => void {
    this.listeners.push(fn);
    return () => (this.listeners = this.listeners.filter((f) => f !== fn));
  }

  private sample(): void {
    const now = performance.eventLoopUtilization();
    this.utilization = performance.eventLoopUtilization(now, this.last).utilization;
    this.last = now;
    this.foreground = this.probes ? this.openSum / this.probes : this.open;
    this.openSum = this.probes = 0;
    this.meanCommitMs = this.commits ? this.commitMs / this.commits : 0;
    this.commits = this.commitMs = 0;
    const busy = (this.utilization > BUSY || this.meanCommitMs > BUSY_COMMIT_MS) && this.foreground >= FOREGROUND;
    this.quiet = this.room ? this.quiet + 1 : 0;
    if (busy || this.held) this.held++;
    if (this.quiet >= (this.held > FLOOD_SAMPLES ? FLOOD_SAMPLES : 1)) this.held = 0;
    for (const fn of this.listeners) fn();
  }
}

export const PRESSURE_SAMPLE_MS = SAMPLE_MS;
