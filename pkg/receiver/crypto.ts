// Primitives shared by the signature profiles, written once so each profile stays a few lines.
import { isUtf8 } from 'node:buffer';
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { DeliveryRequest, VerifyResult } from './profiles/types.js';

export function hmacSha256(key: Buffer, ...parts: (string | Buffer)[]): Buffer {
  const h = createHmac('sha256', key);
  for (const p of parts) h.update(p);
  return h.digest();
}

export function sha256Hex(...parts: (string | Buffer)[]): string {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return h.digest('hex');
}

/** Constant-time comparison; strings are compared as UTF-8 bytes. */
export function safeEqual(a: Buffer | string, b: Buffer | string): boolean {
  const x = typeof a === 'string' ? Buffer.from(a) : a;
  const y = typeof b === 'string' ? Buffer.from(b) : b;
  if (x.length !== y.length) {
    // Spend the same work as a real comparison so the length check is not a faster path.
    timingSafeEqual(x, x);
    return false;
  }
  return timingSafeEqual(x, y);
}

const HEX = /^(?:[0-9a-fA-F]{2})*$/;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** Strict decoders: Buffer.from silently drops bad characters, which would blur "malformed" into "mismatch". */
export function decodeHex(s: string): Buffer | undefined {
  return HEX.test(s) ? Buffer.from(s, 'hex') : undefined;
}

export function decodeBase64(s: string): Buffer | undefined {
  return BASE64.test(s) ? Buffer.from(s, 'base64') : undefined;
}

const MISMATCH: VerifyResult = Object.freeze({ ok: false, reason: 'signature mismatch' });

/**
 * Passes when any key's HMAC over `parts` equals any candidate signature, and names the one
 * that did and the time it signs (ms, where the scheme signs one).
 */
export function verifyHmac(keys: Buffer[], candidates: Buffer[], signedAt: number | undefined, ...parts: (string | Buffer)[]): VerifyResult {
  if (candidates.length === 0) return MISMATCH;
  for (const key of keys) {
    const mac = hmacSha256(key, ...parts);
    for (const c of candidates) if (safeEqual(mac, c)) return { ok: true, signature: c, signedAt };
  }
  return MISMATCH;
}

/**
 * Shared-token check (no signature over the body). Header values arrive latin1-decoded from
 * node's HTTP parser, so latin1 recovers the exact bytes the sender put on the wire.
 */
export function anyTokenMatches(keys: Buffer[], token: string): boolean {
  if (token === '') return false; // an empty token (e.g. only the prefix was sent) never authenticates
  const got = Buffer.from(token, 'latin1');
  let ok = false;
  for (const key of keys) ok = safeEqual(got, key) || ok; // no early exit: do not reveal which key matched
  return ok;
}

/** ms since epoch from unix seconds, unix milliseconds or RFC 3339; undefined for anything else. */
export function parseTimestamp(value: string): number | undefined {
  if (/^\d{1,13}$/.test(value)) {
    const n = Number(value);
    return n < 1e11 ? n * 1000 : n; // 1e11 s is year 5138, so larger values must be milliseconds
  }
  const m = RFC3339.exec(value);
  if (!m) return undefined;
  const [, y, mo, d, h, mi, s, frac, zone] = m;
  const year = Number(y), month = Number(mo), day = Number(d);
  if (month < 1 || month > 12 || Number(h) > 23 || Number(mi) > 59 || Number(s) > 60) return undefined;
  const base = Date.UTC(year, month - 1, day, Number(h), Number(mi), Number(s), frac ? Number(frac.slice(1, 4).padEnd(3, '0')) : 0);
  if (new Date(Date.UTC(year, month - 1, day)).getUTCDate() !== day) return undefined; // e.g. Feb 30
  if (zone === 'Z' || zone === 'z') return base;
  const oh = Number(zone.slice(1, 3)), om = Number(zone.slice(4, 6));
  if (oh > 23 || om > 59) return undefined;
  return base - (zone[0] === '-' ? -1 : 1) * (oh * 60 + om) * 60_000;
}
const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;

/** Unix seconds only, for providers whose timestamp is signed verbatim in that form. */
export function parseUnixSeconds(value: string): number | undefined {
  return /^\d{1,12}$/.test(value) ? Number(value) * 1000 : undefined;
}

/** True when tsMs is no more than maxSkewSeconds before or after nowMs. */
export function withinSkew(tsMs: number, nowMs: number, maxSkewSeconds: number): boolean {
  return Math.abs(nowMs - tsMs) <= maxSkewSeconds * 1000; // NaN compares false
}

// Header names in options are canonical-case; cache the lower-cased form (bounded, names come from specs).
const lowered = new Map<string, string>();
export function header(req: DeliveryRequest, name: string): string | undefined {
  let lc = lowered.get(name);
  if (lc === undefined) {
    if (lowered.size > 1024) lowered.clear();
    lc = name.toLowerCase();
    lowered.set(name, lc);
  }
  return req.headers[lc];
}

const NOT_ASCII = /[^\x00-\x7f]/;
const NOT_LATIN1 = /[^\x00-\xff]/;

/**
 * A header value as the sender wrote it. Node decodes header bytes as latin1, so UTF-8 sent
 * as such (`évènement`) arrives garbled; bytes that are valid UTF-8 are read as UTF-8, others stay latin1.
 */
export function utf8Header(value: string): string {
  if (!NOT_ASCII.test(value) || NOT_LATIN1.test(value)) return value;
  const bytes = Buffer.from(value, 'latin1');
  return isUtf8(bytes) ? bytes.toString('utf8') : value;
}

// Profiles may read several fields of one body (id, type); parse each body at most once.
const parsed = new WeakMap<Buffer, Record<string, unknown> | null>();
export function jsonBody(body: Buffer): Record<string, unknown> | undefined {
  let v = parsed.get(body);
  if (v === undefined) {
    // Only objects are useful; skipping other bodies (e.g. form-encoded) avoids a throw per request.
    if (body.toString('latin1', 0, 64).trimStart()[0] !== '{') return undefined;
    try {
      const j: unknown = JSON.parse(body.toString('utf8'));
      v = j !== null && typeof j === 'object' && !Array.isArray(j) ? (j as Record<string, unknown>) : null;
    } catch {
      v = null;
    }
    parsed.set(body, v);
  }
  return v ?? undefined;
}

export function stringField(obj: Record<string, unknown> | undefined, key: string): string | undefined {
  const v = obj?.[key];
  return typeof v === 'string' && v !== '' ? v : undefined;
}

export const skewReason = (maxSkewSeconds: number): string => `timestamp outside allowed skew of ${maxSkewSeconds}s`;

/**
 * The replay guard shared by every timestamped profile: why `ts` fails it, or undefined.
 * `missing` names where the timestamp was expected.
 */
export function timestampProblem(
  ts: string | undefined,
  missing: string,
  maxSkewSeconds: number,
  nowMs: number,
  parse: (v: string) => number | undefined = parseUnixSeconds,
): string | undefined {
  if (!ts) return missing;
  const tsMs = parse(ts);
  if (tsMs === undefined) return 'invalid timestamp';
  return withinSkew(tsMs, nowMs, maxSkewSeconds) ? undefined : skewReason(maxSkewSeconds);
}
