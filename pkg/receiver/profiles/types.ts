// One signature profile = one small file implementing SignatureProfile.
// Shared steps (body cap, dedup, recording) live outside the profiles.

/** What a profile sees of a delivery: lower-cased header names and the raw body bytes. */
export interface DeliveryRequest {
  headers: Record<string, string | undefined>;
  body: Buffer;
  /** The URL's query (e.g. `?idField=`), for receivers that take options from it. */
  query?: URLSearchParams;
}

/** Header names and limits, resolved from `spec.auth` over the profile's defaults. */
export interface ProfileOptions {
  signatureHeader: string;
  signaturePrefix: string;
  timestampHeader: string;
  eventIdHeader: string;
  maxSkewSeconds: number;
}

export interface ProfileDefaults extends ProfileOptions {
  dedupeWindowSeconds: number;
  /** Header carrying the provider's event type, when the provider has one. */
  eventTypeHeader?: string;
}

/**
 * `signature`: the signature bytes that matched, for profiles that sign the delivery. The
 * receiver remembers it: a captured delivery replayed with a fresh (unsigned) event id is
 * still the same delivery. `signedAt`: the time (ms) it signs, where the scheme signs one;
 * `replayableUntil`: the last time (ms) that time passes the skew check.
 */
export type VerifyResult = { ok: true; signature?: Buffer; signedAt?: number; replayableUntil?: number } | { ok: false; reason: string };

export interface SignatureProfile {
  readonly name: string;
  readonly defaults: ProfileDefaults;
  /** Headers besides `eventIdHeader` that may carry the event id (a fallback, or an id the signature covers). */
  readonly idHeaders?: readonly string[];
  /**
   * Checks the request against every candidate key (each key of the referenced Secret,
   * as raw bytes). `reason` is for status.lastError only and never names a secret.
   * `nowMs` is the server clock.
   */
  verify(req: DeliveryRequest, keys: Buffer[], opts: ProfileOptions, nowMs: number): VerifyResult;
  /** The sender's event id, or undefined when the delivery carries none. */
  eventId(req: DeliveryRequest, opts: ProfileOptions): string | undefined;
  /** The provider's event type, when it sends one. */
  eventType(req: DeliveryRequest, opts: ProfileOptions): string | undefined;
  /** Headers a sender would add to sign `body` with `key` (used by `orlojctl webhook send`, tests and benchmarks). */
  sign(body: Buffer, key: Buffer, opts: ProfileOptions, nowMs: number, eventId: string): Record<string, string>;
}
