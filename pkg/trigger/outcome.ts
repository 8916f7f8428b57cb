// How an attempt's answer decides what happens next (SPEC §3 Trigger, §4): delivered, tried
// again after a backoff (or the destination's Retry-After), or a dead letter.
import { backoffMs, retryAfterMs } from '../outbound/retry.js';
import type { DeliveryOutcome } from '../store/types.js';

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

export function decide(r: AttemptResult, attempt: number, retry: { max_attempts: number; backoff_seconds: number[] }, nowMs: number): Decision {
  const retryable = r.error ? RETRIED_ERRORS.has(r.error.reason) : r.status! >= 500 || RETRIED_STATUS.has(r.status!);
  const reason = r.error ? r.error.reason : r.status! >= 200 && r.status! < 300 ? undefined : `HTTP ${r.status}`;
  if (!r.error && r.status! >= 200 && r.status! < 300) return { outcome: 'delivered' };
  if (r.status === 410) return { outcome: 'dead_letter', reason: 'DestinationGone', gone: true };
  if (!retryable || attempt >= retry.max_attempts) return { outcome: 'dead_letter', reason };
  const wait = retryAfterMs(r.retryAfter, nowMs) ?? backoffMs(retry.backoff_seconds, attempt);
  return { outcome: 'retry_scheduled', waitMs: wait, reason };
}
