// GitLab: a shared token in X-Gitlab-Token (no signature over the body); dedup is the only replay guard.
import { header } from '../crypto.js';
import { signToken, verifyToken } from './token.js';
import type { SignatureProfile } from './types.js';

// Some GitLab versions send no event UUID; Idempotency-Key is the fallback.
const FALLBACK_ID_HEADER = 'Idempotency-Key';

export const gitlab: SignatureProfile = {
  name: 'gitlab',
  idHeaders: [FALLBACK_ID_HEADER],
  defaults: {
    signatureHeader: 'X-Gitlab-Token',
    signaturePrefix: '',
    timestampHeader: '',
    eventIdHeader: 'X-Gitlab-Event-UUID',
    eventTypeHeader: 'X-Gitlab-Event',
    maxSkewSeconds: 300,
    dedupeWindowSeconds: 86400,
  },

  verify: verifyToken,

  eventId: (req, opts) => header(req, opts.eventIdHeader) || header(req, FALLBACK_ID_HEADER) || undefined,
  eventType: (req) => header(req, 'X-Gitlab-Event') || undefined,

  sign: signToken,
};
