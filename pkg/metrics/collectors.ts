// prom-client metrics whose series are read from tallies (or the store) when /metrics is
// read, instead of being updated per event.
import { Counter, Gauge, Histogram, type MetricObjectWithValues, type MetricValueWithName, type Registry } from 'prom-client';
import type { Labels, Tally } from './tally.js';

declare module 'prom-client' {
  interface Histogram<T extends string> {
    /** What the registry reads for the text format, in preference to get() (prom-client 15). */
    getForPromString(): Promise<MetricObjectWithValues<MetricValueWithName<T>>>;
  }
}

interface Definition {
  registry: Registry;
  name: string;
  help: string;
  labelNames: readonly string[];
}

/** A counter of `value(t)` for each tally; a tally without it (undefined) has no series. */
export function tallyCounter(def: Definition, tallies: () => Iterable<Tally>, value: (t: Tally) => Iterable<[Labels, number]>): Counter {
  return new Counter({
    name: def.name,
    help: def.help,
    labelNames: def.labelNames,
    registers: [def.registry],
    collect() {
      this.reset();
      for (const t of tallies()) for (const [labels, n] of value(t)) this.inc(labels, n);
    },
  });
}

/** Each outcome a tally counted, as the `outcome` label. */
export function* byOutcome(t: Tally): Iterable<[Labels, number]> {
  for (const [outcome, n] of t.outcomes) yield [{ ...t.labels, outcome }, n];
}

/** A gauge set at each read from `read` (which may query the store). */
export function readGauge(def: Definition, read: () => Promise<Iterable<[Labels, number]>>): Gauge {
  return new Gauge({
    name: def.name,
    help: def.help,
    labelNames: def.labelNames,
    registers: [def.registry],
    async collect() {
      const values = await read();
      this.reset();
      for (const [labels, n] of values) this.set(labels, n);
    },
  });
}

/** A histogram of each tally's observations. */
class TallyHistogram extends Histogram<string> {
  constructor(
    def: Definition,
    private readonly bounds: readonly number[],
    private readonly tallies: () => Iterable<Tally>,
  ) {
    super({ name: def.name, help: def.help, labelNames: def.labelNames, buckets: [...bounds], registers: [def.registry] });
  }

  override async getForPromString(): Promise<MetricObjectWithValues<MetricValueWithName<string>>> {
    // The metric's own fields (type, help, ...) as prom-client shows them, with the tallies' series.
    const base = await super.getForPromString();
    return { ...base, values: [...this.values(base.name)] };
  }

  override async get(): Promise<MetricObjectWithValues<MetricValueWithName<string>>> {
    return this.getForPromString();
  }

  private *values(name: string): Iterable<MetricValueWithName<string>> {
    for (const t of this.tallies()) {
      if (!t.observed) continue;
      let below = 0;
      for (let i = 0; i < this.bounds.length; i++) {
        below += t.buckets[i]!;
        yield { metricName: `${name}_bucket`, labels: { ...t.labels, le: this.bounds[i]! }, value: below };
      }
      yield { metricName: `${name}_bucket`, labels: { ...t.labels, le: '+Inf' }, value: t.observed };
      yield { metricName: `${name}_sum`, labels: t.labels, value: t.sum };
      yield { metricName: `${name}_count`, labels: t.labels, value: t.observed };
    }
  }
}

export function tallyHistogram(def: Definition, bounds: readonly number[], tallies: () => Iterable<Tally>): Histogram {
  return new TallyHistogram(def, bounds, tallies);
}
