// Info lines about outcomes (deliveries, trigger attempts): one per outcome, but for each
// receiver or trigger at most RATE a second (bursts of BURST), so a flood cannot flood the
// log. What is held back is counted: the next line written for that object says how many
// (`suppressed`), or, if none comes within a second, a line of its own does.
import type { Logger } from 'pino';

const RATE = 10;
const BURST = 20;
/** Objects whose rate is followed at once; past it the least recent is forgotten (its count said first). */
const MAX_KEYS = 10_000;
const SUMMARY_MS = 1000;

interface Bucket {
  tokens: number;
  at: number;
  suppressed: number;
  /** The fields that name the object, for its summary line. */
  who: object;
}

export interface OutcomeLogOptions {
  /** Names what the lines are about in the summary line: "delivery" → "delivery lines suppressed". */
  noun: string;
  rate?: number;
  burst?: number;
}

export class OutcomeLog {
  /** False when info lines are not written (e.g. --log-level warn): callers then skip all of this. */
  readonly enabled: boolean;
  private readonly buckets = new Map<string, Bucket>();
  private readonly rate: number;
  private readonly burst: number;
  private timer?: NodeJS.Timeout;

  constructor(private readonly log: Logger, private readonly opts: OutcomeLogOptions) {
    this.enabled = log.isLevelEnabled('info');
    this.rate = opts.rate ?? RATE;
    this.burst = opts.burst ?? BURST;
  }

  /**
   * An outcome of the object `key`, named by `who`: its line `msg` with `who` and `details()`
   * (called only when the line is written), unless the object is over its rate.
   */
  write(key: string, who: object, details: () => object, msg: string): void {
    if (!this.enabled) return;
    const b = this.bucketOf(key, who);
    const now = performance.now();
    b.tokens = Math.min(this.burst, b.tokens + ((now - b.at) * this.rate) / 1000);
    b.at = now;
    if (b.tokens < 1) {
      b.suppressed++;
      this.timer ??= setTimeout(() => this.flush(), SUMMARY_MS).unref();
      return;
    }
    b.tokens--;
    const suppressed = b.suppressed;
    b.suppressed = 0;
    this.log.info(suppressed ? { ...who, ...details(), suppressed } : { ...who, ...details() }, msg);
  }

  /** Says now how many lines each object had held back (at shutdown, or a second after they were). */
  flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    for (const b of this.buckets.values()) this.summarize(b);
  }

  private bucketOf(key: string, who: object): Bucket {
    let b = this.buckets.get(key);
    if (b) {
      // Most recent last: the first entry is the one to forget.
      this.buckets.delete(key);
      this.buckets.set(key, b);
      return b;
    }
    if (this.buckets.size >= MAX_KEYS) this.forgetOldest();
    b = { tokens: this.burst, at: performance.now(), suppressed: 0, who };
    this.buckets.set(key, b);
    return b;
  }

  private forgetOldest(): void {
    const [key, b] = this.buckets.entries().next().value!;
    this.summarize(b);
    this.buckets.delete(key);
  }

  private summarize(b: Bucket): void {
    if (!b.suppressed) return;
    this.log.info({ ...b.who, suppressed: b.suppressed }, `${this.opts.noun} lines suppressed`);
    b.suppressed = 0;
  }
}
