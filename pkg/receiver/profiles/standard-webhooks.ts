// Standard Webhooks (standardwebhooks.com): `webhook-signature: v1,<base64> [v1,<base64> ...]`,
// HMAC over `id + "." + ts + "." + body` keyed with the base64-decoded `whsec_` secret.
import { decodeBase64, header, hmacSha256, jsonBody, parseUnixSeconds, stringField, timestampProblem, verifyHmac } from '../crypto.js';
import type { SignatureProfile } from './types.js';

const ID_HEADER = 'webhook-id';

// Secrets are usually `whsec_<base64>`; a bare value is base64-decoded too, and used as-is if it is not base64.
const derived = new WeakMap<Buffer, Buffer>();
function hmacKey(secret: Buffer): Buffer {
  let k = derived.get(secret);
  if (!k) {
    const s = secret.toString('utf8');
    k = decodeBase64(s.startsWith('whsec_') ? s.slice(6) : s) ?? secret;
    derived.set(secret, k);
  }
  return k;
}

export const standardWebhooks: SignatureProfile = {
  name: 'standard-webhooks',
  idHeaders: [ID_HEADER],
  defaults: {
    signatureHeader: 'webhook-signature',
    signaturePrefix: 'v1,',
    timestampHeader: 'webhook-timestamp',
    eventIdHeader: ID_HEADER,
    maxSkewSeconds: 300,
    dedupeWindowSeconds: 86400,
  },

  verify(req, keys, opts, nowMs) {
    const value = header(req, opts.signatureHeader);
    if (!value) return { ok: false, reason: `missing signature header ${opts.signatureHeader}` };
    // The id is part of the signed content, so it is always read from webhook-id, whatever the dedup header.
    const id = header(req, ID_HEADER);
    if (!id) return { ok: false, reason: `missing header ${ID_HEADER}` };
    const ts = header(req, opts.timestampHeader);
    const problem = timestampProblem(ts, `missing timestamp header ${opts.timestampHeader}`, opts.maxSkewSeconds, nowMs);
    if (problem || !ts) return { ok: false, reason: problem ?? 'missing timestamp' };
    const candidates: Buffer[] = [];
    for (const item of value.split(' ')) {
      if (!item.startsWith(opts.signaturePrefix)) continue; // other versions (v1a, ...) are not ours to check
      const sig = decodeBase64(item.slice(opts.signaturePrefix.length));
      if (sig) candidates.push(sig);
    }
    if (candidates.length === 0) return { ok: false, reason: `no ${opts.signaturePrefix} signature in ${opts.signatureHeader}` };
    return verifyHmac(keys.map(hmacKey), candidates, parseUnixSeconds(ts), id, '.', ts, '.', req.body);
  },

  eventId: (req, opts) => header(req, opts.eventIdHeader) || undefined,
  eventType: (req) => stringField(jsonBody(req.body), 'type'),

  sign(body, key, opts, nowMs, eventId) {
    const ts = String(Math.floor(nowMs / 1000));
    const sig = hmacSha256(hmacKey(key), eventId, '.', ts, '.', body).toString('base64');
    return { [ID_HEADER]: eventId, [opts.timestampHeader]: ts, [opts.signatureHeader]: opts.signaturePrefix + sig };
  },
};
