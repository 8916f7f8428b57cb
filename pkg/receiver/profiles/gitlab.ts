// GitLab: a shared token in X-Gitlab-Token (no signature over the body); dedup is the only replay guard.
import { anyTokenMatches, header } from '../crypto.js';
import type { SignatureProfile } from './types.js';

// Some GitLab versions send no event UUID; Idempotency-Key is the fallback.
const FALLBACK_ID_HEADER = 'Idempotency-Key';

export const gitlab: SignatureProfile = {
  name: 'gitlab',
  defaults: {
    signatureHeader: 'X-Gitlab-Token',
    signaturePrefix: '',
    timestampHeader: '',
    eventIdHeader: 'X-Gitlab-Event-UUID',
    eventTypeHeader: 'X-Gitlab-Event',
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

  eventId: (req, opts) => header(req, opts.eventIdHeader) || header(req, FALLBACK_ID_HEADER) || undefined,
  eventType: (req) => header(req, 'X-Gitlab-Event') || undefined,

  sign(_body, key, opts, _nowMs, eventId) {
    return { [opts.signatureHeader]: opts.signaturePrefix + key.toString('latin1'), [opts.eventIdHeader]: eventId };
  },
};
