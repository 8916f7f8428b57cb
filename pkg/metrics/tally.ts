// What one labelled object (a receiver, a trigger) has counted: plain numbers that the hot
// path adds to, and that the registry turns into series only when /metrics is read.
// prom-client's own label handling hashes the label values on every increment.

export type Labels = Readonly<Record<string, string>>;

export class Tally {
  /** Counts by outcome (accepted, duplicate, rejected; delivered, retry_scheduled, dead_letter). */
  readonly outcomes = new Map<string, number>();
  /** Attempts after the first (triggers). */
  retries = 0;
  /** Observations per bucket, not cumulative; the last is +Inf. */
  readonly buckets: Float64Array;
  sum = 0;
  observed = 0;

  constructor(
    readonly labels: Labels,
    readonly bounds: readonly number[],
  ) {
    this.buckets = new Float64Array(bounds.length + 1);
  }

  count(outcome: string): void {
    this.outcomes.set(outcome, (this.outcomes.get(outcome) ?? 0) + 1);
  }

  /** A latency in seconds; a bucket holds the values up to and including its bound, as in Prometheus. */
  observe(seconds: number): void {
    const b = this.bounds;
    let i = 0;
    while (i < b.length && seconds > b[i]!) i++;
    this.buckets[i]!++;
    this.sum += seconds;
    this.observed++;
  }

  /** Adds another tally's counts to this one (same bounds). */
  add(t: Tally): void {
    for (const [o, n] of t.outcomes) this.outcomes.set(o, (this.outcomes.get(o) ?? 0) + n);
    this.retries += t.retries;
    for (let i = 0; i < this.buckets.length; i++) this.buckets[i]! += t.buckets[i]!;
    this.sum += t.sum;
    this.observed += t.observed;
  }
}

/** Tallies summed by the values of some of their labels (e.g. by kind). */
export function sumBy(tallies: Iterable<Tally>, names: readonly string[], bounds: readonly number[]): Tally[] {
  const groups = new Map<string, Tally>();
  for (const t of tallies) {
    const key = names.map((n) => t.labels[n] ?? '').join('\n');
    let g = groups.get(key);
    if (!g) groups.set(key, (g = new Tally(Object.fromEntries(names.map((n) => [n, t.labels[n] ?? ''])), bounds)));
    g.add(t);
  }
  return [...groups.values()];
}
