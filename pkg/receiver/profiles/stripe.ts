// Stripe: `Stripe-Signature: t=<unix s>,v1=<hex>[,v1=<hex>...]`, HMAC over `t + "." + body`.
// Event id and type live in the JSON body.
import { decodeHex, header, hmacSha256, jsonBody, parseUnixSeconds, stringField, timestampProblem, verifyHmac } from '../crypto.js';
import type { SignatureProfile } from './types.js';

export const stripe: SignatureProfile = {
  name: 'stripe',
  defaults: {
    signatureHeader: 'Stripe-Signature',
    signaturePrefix: 'v1=', // the scheme we check; v0 (test-mode legacy) and unknown schemes are ignored
    timestampHeader: '', // the timestamp is the `t=` element of the signature header
    eventIdHeader: '',
    maxSkewSeconds: 300,
    dedupeWindowSeconds: 86400,
  },

  verify(req, keys, opts, nowMs) {
    const value = header(req, opts.signatureHeader);
    if (!value) return { ok: false, reason: `missing signature header ${opts.signatureHeader}` };
    let t: string | undefined;
    const candidates: Buffer[] = [];
    for (const raw of value.split(',')) {
      const item = raw.trim();
      if (item.startsWith('t=')) t = item.slice(2);
      else if (item.startsWith(opts.signaturePrefix)) {
        const sig = decodeHex(item.slice(opts.signaturePrefix.length));
        if (sig) candidates.push(sig);
      }
    }
    const problem = timestampProblem(t, `missing timestamp in ${opts.signatureHeader}`, opts.maxSkewSeconds, nowMs);
    if (problem || !t) return { ok: false, reason: problem ?? 'missing timestamp' };
    if (candidates.length === 0) return { ok: false, reason: `no ${opts.signaturePrefix} signature in ${opts.signatureHeader}` };
    return verifyHmac(keys, candidates, parseUnixSeconds(t), t, '.', req.body);
  },

  // A spec may name an id header (e.g. one added by a proxy); the body's `id` is the fallback.
  eventId: (req, opts) => (opts.eventIdHeader && header(req, opts.eventIdHeader)) || stringField(jsonBody(req.body), 'id'),
  eventType: (req) => stringField(jsonBody(req.body), 'type'),

  sign(body, key, opts, nowMs) {
    const t = String(Math.floor(nowMs / 1000));
    return { [opts.signatureHeader]: `t=${t},${opts.signaturePrefix}${hmacSha256(key, t, '.', body).toString('hex')}` };
  },
};
