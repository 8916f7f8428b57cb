// What every load generator takes and reports, so scenarios do not care which one ran.

/** Pre-signed requests: one body and signature reused; only the (unsigned) event id varies. */
export interface LoadSpec {
  url: string;
  /** Requests rotate over these paths. */
  paths: string[];
  body: string;
  /** Content-Type, X-Signature and X-Timestamp, signed once just before the run. */
  headers: Record<string, string>;
  /** Event ids are `${prefix}${thread}-${n}` (unique), or `${prefix}${k}` with k < replay. */
  eventPrefix: string;
  replay?: number;
  duration: number;
  connections: number;
  threads: number;
}

export interface LoadResult {
  generator: string;
  requests: number;
  rps: number;
  p50Ms: number;
  p99Ms: number;
  /** Non-2xx/3xx responses. */
  non2xx: number;
  /** Socket errors and timeouts. */
  errors: number;
  byStatus: Record<string, number>;
  /** 202 with duplicate:false: each must have exactly one run task. */
  created: number;
  /** 202 with duplicate:true. */
  duplicates: number;
  /** Unique-mode event ids sent without a 202 seen (in flight at the cut-off or refused). */
  unanswered: string[];
  /** CPU seconds the generator used per second of run (1.0 = one core busy). */
  generatorCores: number;
  /**
   * Requests sent inside the same run but left out of the figures above (the open-loop
   * generator's own warm-up): the server's CPU over the run was spent on them too.
   */
  warmupRequests?: number;
}

export const pct = (sorted: Float64Array, p: number): number =>
  sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]! : NaN;
