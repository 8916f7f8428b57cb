// GitHub: HMAC-SHA256 of the raw body in X-Hub-Signature-256; no timestamp, so dedup is the only replay guard.
import { decodeHex, header, hmacSha256, verifyHmac } from '../crypto.js';
import type { SignatureProfile } from './types.js';

export const github: SignatureProfile = {
  name: 'github',
  defaults: {
    signatureHeader: 'X-Hub-Signature-256',
    signaturePrefix: 'sha256=',
    timestampHeader: '',
    eventIdHeader: 'X-GitHub-Delivery',
    eventTypeHeader: 'X-GitHub-Event',
    maxSkewSeconds: 300,
    dedupeWindowSeconds: 259200, // GitHub lets deliveries be redelivered for days; keep ids 72 h
  },

  verify(req, keys, opts) {
    const value = header(req, opts.signatureHeader);
    if (!value) return { ok: false, reason: `missing signature header ${opts.signatureHeader}` };
    const sig = value.startsWith(opts.signaturePrefix) ? decodeHex(value.slice(opts.signaturePrefix.length)) : undefined;
    if (!sig) return { ok: false, reason: `malformed signature header ${opts.signatureHeader}` };
    return verifyHmac(keys, [sig], undefined, req.body);
  },

  eventId: (req, opts) => header(req, opts.eventIdHeader) || undefined,
  eventType: (req) => header(req, 'X-GitHub-Event') || undefined,

  sign(body, key, opts, _nowMs, eventId) {
    return {
      [opts.signatureHeader]: opts.signaturePrefix + hmacSha256(key, body).toString('hex'),
      [opts.eventIdHeader]: eventId,
    };
  },
};
