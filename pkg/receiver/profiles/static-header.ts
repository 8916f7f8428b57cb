// A shared token in a configurable header (optionally after a prefix such as "Bearer "),
// for senders that cannot sign; nothing covers the body, dedup is the only replay guard.
import { header } from '../crypto.js';
import { signToken, verifyToken } from './token.js';
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

  verify: verifyToken,

  eventId: (req, opts) => header(req, opts.eventIdHeader) || undefined,
  eventType: (req) => header(req, 'X-Event-Type') || undefined,

  sign: signToken,
};
