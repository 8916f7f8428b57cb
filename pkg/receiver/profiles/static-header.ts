// A shared token in a configurable header (optionally after a prefix such as "Bearer "),
// for senders that cannot sign; nothing covers the body, dedup is the only replay guard.
import { anyTokenMatches, header } from '../crypto.js';
import type { SignatureProfile } from './types.js';

export const staticHeader: SignatureProfile = {
  name: 'static-header',
  defaults: {
    signatureHeader: 'X-Webhook-Token',
    signaturePrefix: '',
    timestampHeader: '',
    eventIdHeader: 'X-Event-Id',
    eventTypeHeader: 'X-Event-Type',
    maxSkewSeconds: 300,
    dedupeWindowSeconds: 86400,
  },

  verify(req, keys, opts) {
    const value = header(req, opts.signatureHeader);
    if (!value) return { ok: false, reason: `missing signature header ${opts.signatureHeader}` };
    if (!value.startsWith(opts.signaturePrefix)) return { ok: false, reason: `token prefix mismatch in ${opts.signatureHeader}` };
    const ok = anyTokenMatches(keys, value.slice(opts.signaturePrefix.length));
    return ok ? { ok: true } : { ok: false, reason: 'token mismatch' };
  },

  eventId: (req, opts) => header(req, opts.eventIdHeader) || undefined,
  eventType: (req) => header(req, 'X-Event-Type') || undefined,

  sign(_body, key, opts, _nowMs, eventId) {
    return { [opts.signatureHeader]: opts.signaturePrefix + key.toString('latin1'), [opts.eventIdHeader]: eventId };
  },
};
