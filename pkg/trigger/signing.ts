// How a trigger signs what it sends: Orloj's own headers and the Standard Webhooks ones, so a
// receiver can verify with either. Every key of the trigger's Secret signs, so a receiver
// that holds the old key or the new one keeps verifying while the Secret is rotated.
import { randomBytes } from 'node:crypto';
import { validateHeaderValue } from 'node:http';
import { decodeBase64, hmacSha256 } from '../receiver/crypto.js';

export interface SignedMessage {
  /** webhook-id: the same on every retry of one message, so receivers can deduplicate. */
  id: string;
  timestampSec: number;
  body: Buffer;
  eventType: string;
}

const WHSEC = 'whsec_';

/**
 * `X-Orloj-Signature: sha256=<hex HMAC(ts + "." + body)>` (comma-separated, one per key),
 * `X-Orloj-Timestamp`, `X-Orloj-Event`, and Standard Webhooks' `webhook-id`, `webhook-timestamp`,
 * `webhook-signature: v1,<base64 HMAC(id + "." + ts + "." + body)>` (space-separated, one per key).
 */
export function signingHeaders(keys: Buffer[], msg: SignedMessage): Record<string, string> {
  if (keys.length === 0) throw new Error('no key to sign with');
  if (keys.some((k) => k.length === 0)) throw new Error('an empty signing key signs nothing');
  if (!Number.isSafeInteger(msg.timestampSec) || msg.timestampSec < 0) throw new Error('timestampSec must be whole unix seconds');
  const ts = String(msg.timestampSec);
  const headers: Record<string, string> = {
    'X-Orloj-Signature': keys.map((k) => `sha256=${hmacSha256(k, ts, '.', msg.body).toString('hex')}`).join(','),
    'X-Orloj-Timestamp': ts,
    'X-Orloj-Event': msg.eventType,
    'webhook-id': msg.id,
    'webhook-timestamp': ts,
    'webhook-signature': keys.map((k) => `v1,${hmacSha256(k, msg.id, '.', ts, '.', msg.body).toString('base64')}`).join(' '),
  };
  // The id and event type can come from data: one with a line break must fail here, not on the wire.
  for (const [name, value] of Object.entries(headers)) validateHeaderValue(name, value);
  return headers;
}

/**
 * The HMAC key of a Secret value: the bytes a `whsec_<base64>` value encodes (as Standard
 * Webhooks libraries read it), else the value's own UTF-8 bytes.
 */
export function signingKeyOf(secretValue: string): Buffer {
  if (secretValue.startsWith(WHSEC)) {
    const key = decodeBase64(secretValue.slice(WHSEC.length));
    if (key && key.length > 0) return key;
  }
  return Buffer.from(secretValue, 'utf8');
}

/** A generated trigger secret: 32 random bytes in the `whsec_` form receivers' libraries take as is. */
export function newSigningSecret(): string {
  return WHSEC + randomBytes(32).toString('base64');
}
