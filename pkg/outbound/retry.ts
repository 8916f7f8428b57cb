// When to try an outbound request again: after a backoff, or when the other side's Retry-After says.

/** The longest wait a Retry-After may ask for. */
export const MAX_RETRY_AFTER_MS = 3_600_000;

/** Retry-After in seconds or as an HTTP date, as a wait in ms (capped), or undefined when absent or unreadable. */
export function retryAfterMs(value: string | string[] | undefined, nowMs: number): number | undefined {
  const first = Array.isArray(value) ? value[0] : value;
  if (!first) return undefined;
  const v = first.trim();
  const ms = /^\d+$/.test(v) ? Number(v) * 1000 : Date.parse(v) - nowMs;
  return Number.isFinite(ms) ? Math.min(Math.max(ms, 0), MAX_RETRY_AFTER_MS) : undefined;
}

/** `backoff[i]` waits before attempt i+2; the last value is reused; up to +20% jitter, never shorter. */
export function backoffMs(backoffSeconds: number[], attempt: number, random = Math.random): number {
  const s = backoffSeconds[Math.min(attempt - 1, backoffSeconds.length - 1)] ?? 0;
  return Math.round(s * 1000 * (1 + 0.2 * random()));
}
