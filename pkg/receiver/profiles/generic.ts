// Generic HMAC-SHA256 over `timestamp + "." + body`, for senders that follow no provider's scheme.
import { decodeHex, header, hmacSha256, parseTimestamp, timestampProblem, verifyHmac } from '../crypto.js';
import type { SignatureProfile } from './types.js';

const SEPARATORS = /[\s,]+/;

export const generic: SignatureProfile = {
  name: 'generic',
  defaults: {
    signatureHeader: 'X-Signature',
    signaturePrefix: 'sha256=',
    timestampHeader: 'X-Timestamp',
    eventIdHeader: 'X-Event-Id',
    eventTypeHeader: 'X-Event-Type',
    maxSkewSeconds: 300,
    dedupeWindowSeconds: 86400,
  },

  verify(req, keys, opts, nowMs) {
    const value = header(req, opts.signatureHeader);
    if (!value) return { ok: false, reason: `missing signature header ${opts.signatureHeader}` };
    // Without a timestamp header configured the body alone is signed (and there is no replay guard).
    let ts = '';
    if (opts.timestampHeader) {
      ts = header(req, opts.timestampHeader) ?? '';
      const problem = timestampProblem(ts, `missing timestamp header ${opts.timestampHeader}`, opts.maxSkewSeconds, nowMs, parseTimestamp);
      if (problem) return { ok: false, reason: problem };
    }
    const candidates: Buffer[] = [];
    for (const part of value.split(SEPARATORS)) {
      if (!part.startsWith(opts.signaturePrefix)) continue;
      const sig = decodeHex(part.slice(opts.signaturePrefix.length));
      if (sig) candidates.push(sig);
    }
    if (candidates.length === 0) return { ok: false, reason: `malformed signature header ${opts.signatureHeader}` };
    return opts.timestampHeader ? verifyHmac(keys, candidates, parseTimestamp(ts), ts, '.', req.body) : verifyHmac(keys, candidates, undefined, req.body);
  },

  eventId: (req, opts) => header(req, opts.eventIdHeader) || undefined,
  eventType: (req) => header(req, 'X-Event-Type') || undefined,

  sign(body, key, opts, nowMs, eventId) {
    const out: Record<string, string> = { [opts.eventIdHeader]: eventId };
    if (opts.timestampHeader) {
      const ts = String(Math.floor(nowMs / 1000));
      out[opts.timestampHeader] = ts;
      out[opts.signatureHeader] = opts.signaturePrefix + hmacSha256(key, ts, '.', body).toString('hex');
    } else {
      out[opts.signatureHeader] = opts.signaturePrefix + hmacSha256(key, body).toString('hex');
    }
    return out;
  },
};
