// What every load generator takes and reports, so scenarios do not care which one ran.
import { createHmac } from 'node:crypto';

/** Where a request's event id goes in the body template. */
export const ID_MARK = '@ID@';

/**
 * Requests signed one by one: each body carries its event id, so each has a signature of
 * its own (orlojd remembers accepted signatures: the same one under another event id is a
 * replay, as it would be from a real sender). Signed timestamps advance with the request
 * number as a live sender's clock does, one second per `perSecond` requests of a thread.
 */
export interface LoadSpec {
  url: string;
  /** Requests rotate over these paths. */
  paths: string[];
  /** The body, with ID_MARK where the event id goes. */
  bodyTemplate: string;
  /** Content-Type; X-Timestamp and X-Signature are each request's own. */
  headers: Record<string, string>;
  /** The key each request is signed with (generic profile). */
  secret: string;
  /** The first request's X-Timestamp (epoch seconds). */
  timestamp: number;
  /** Requests of one thread (or replayed ids) per signed second. */
  perSecond: number;
  /** Event ids are `${prefix}${thread}-${n}` (unique), or `${prefix}${k}` with k < replay. */
  eventPrefix: string;
  replay?: number;
  duration: number;
  connections: number;
  threads: number;
}

export const bodyOf = (s: LoadSpec, eventId: string): string => s.bodyTemplate.replace(ID_MARK, eventId);

export const TIMESTAMP_HEADER = 'X-Timestamp';

/** The X-Timestamp of a thread's `n`th request (or of replayed id `n`). */
export const timestampOf = (s: LoadSpec, n: number): string => String(s.timestamp + Math.floor(n / s.perSecond));

/** The generic profile's X-Signature of `body` signed at `timestamp`. */
export const signatureOf = (s: LoadSpec, timestamp: string, body: string): string =>
  `sha256=${createHmac('sha256', s.secret).update(`${timestamp}.${body}`).digest('hex')}`;

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

export const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
