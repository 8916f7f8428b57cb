// How an attempt's answer decides what happens next (SPEC §3 Trigger, §4): delivered, tried
// again after a backoff (or the destination's Retry-After), or a dead letter.
import type { DeliveryOutcome } from '../store/types.js';

/** The longest wait a Retry-After may ask for. */
export const MAX_RETRY_AFTER_MS = 3_600_000;

export interface AttemptResult {
  status?: number;
  retryAfter?: string;
  /** A failure before any answer: Timeout, ConnectionError, DestinationNotAllowed, ... */
  error?: { reason: string; message: string };
}

export interface Decision {
  outcome: Extract<DeliveryOutcome, 'delivered' | 'retry_scheduled' | 'dead_letter'>;
  /** For retry_scheduled: when to try again (ms from now). */
  waitMs?: number;
  reason?: string;
  /** A 410: the trigger stops until its spec changes or it is resumed. */
  gone?: boolean;
}

const RETRIED_STATUS = new Set([408, 429]);
/** Failures of the connection that a later attempt may not meet; a refused destination stays refused. */
const RETRIED_ERRORS = new Set(['Timeout', 'ConnectionError']);

/** Retry-After in seconds or as an HTTP date, as a wait in ms (capped), or undefined when absent or unreadable. */
export function retryAfterMs(value: string | undefined, nowMs: number): number | undefined {
  if (!value) return undefined;
  const v = value.trim();
  const ms = /^\d+$/.test(v) ? Number(v) * 1000 : Date.parse(v) - nowMs;
  return Number.isFinite(ms) ? Math.min(Math.max(ms, 0), MAX_RETRY_AFTER_MS) : undefined;
}

/** `backoff[i]` waits before attempt i+2; the last value is reused; up to +20% jitter, never shorter. */
export function backoffMs(backoffSeconds: number[], attempt: number, random = Math.random): number {
  const s = backoffSeconds[Math.min(attempt - 1, backoffSeconds.length - 1)] ?? 0;
  return Math.round(s * 1000 * (1 + 0.2 * random()));
}

export function decide(r: AttemptResult, attempt: number, retry: { max_attempts: number; backoff_seconds: number[] }, nowMs: number): Decision {
  const retryable = r.error ? RETRIED_ERRORS.has(r.error.reason) : r.status! >= 500 || RETRIED_STATUS.has(r.status!);
  const reason = r.error ? r.error.reason : r.status! >= 200 && r.status! < 300 ? undefined : `HTTP ${r.status}`;
  if (!r.error && r.status! >= 200 && r.status! < 300) return { outcome: 'delivered' };
  if (r.status === 410) return { outcome: 'dead_letter', reason: 'DestinationGone', gone: true };
  if (!retryable || attempt >= retry.max_attempts) return { outcome: 'dead_letter', reason };
  const wait = retryAfterMs(r.retryAfter, nowMs) ?? backoffMs(retry.backoff_seconds, attempt);
  return { outcome: 'retry_scheduled', waitMs: wait, reason };
}
