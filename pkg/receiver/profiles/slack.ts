// Slack: `X-Slack-Signature: v0=<hex>`, HMAC over `"v0:" + ts + ":" + body`.
import {
  decodeHex, header, hmacSha256, jsonBody, parseUnixSeconds, sha256Hex, stringField, timestampProblem, verifyHmac,
} from '../crypto.js';
import type { SignatureProfile } from './types.js';

export const slack: SignatureProfile = {
  name: 'slack',
  defaults: {
    signatureHeader: 'X-Slack-Signature',
    signaturePrefix: 'v0=',
    timestampHeader: 'X-Slack-Request-Timestamp',
    eventIdHeader: '',
    maxSkewSeconds: 300,
    dedupeWindowSeconds: 86400,
  },

  verify(req, keys, opts, nowMs) {
    const value = header(req, opts.signatureHeader);
    if (!value) return { ok: false, reason: `missing signature header ${opts.signatureHeader}` };
    const ts = header(req, opts.timestampHeader);
    const problem = timestampProblem(ts, `missing timestamp header ${opts.timestampHeader}`, opts.maxSkewSeconds, nowMs);
    if (problem || !ts) return { ok: false, reason: problem ?? 'missing timestamp' };
    const sig = value.startsWith(opts.signaturePrefix) ? decodeHex(value.slice(opts.signaturePrefix.length)) : undefined;
    if (!sig) return { ok: false, reason: `malformed signature header ${opts.signatureHeader}` };
    return verifyHmac(keys, [sig], parseUnixSeconds(ts), 'v0:', ts, ':', req.body);
  },

  // Events API bodies carry event_id; slash commands and interactivity (form-encoded) carry none,
  // so hash the signed content: a replay of the very same request then maps to the same id.
  eventId(req, opts) {
    const fromHeader = opts.eventIdHeader && header(req, opts.eventIdHeader);
    if (fromHeader) return fromHeader;
    const fromBody = stringField(jsonBody(req.body), 'event_id');
    return fromBody ?? sha256Hex(header(req, opts.timestampHeader) ?? '', ':', req.body);
  },
  eventType(req) {
    const j = jsonBody(req.body);
    const event = j?.event;
    const inner = event !== null && typeof event === 'object' ? stringField(event as Record<string, unknown>, 'type') : undefined;
    return inner ?? stringField(j, 'type');
  },

  sign(body, key, opts, nowMs) {
    const ts = String(Math.floor(nowMs / 1000));
    return {
      [opts.signatureHeader]: opts.signaturePrefix + hmacSha256(key, 'v0:', ts, ':', body).toString('hex'),
      [opts.timestampHeader]: ts,
    };
  },
};
