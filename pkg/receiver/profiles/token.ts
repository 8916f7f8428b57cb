// Shared by the profiles where the sender sends the secret itself (no signature over the body).
import { anyTokenMatches, header } from '../crypto.js';
import type { SignatureProfile } from './types.js';

export const verifyToken: SignatureProfile['verify'] = (req, keys, opts) => {
  const value = header(req, opts.signatureHeader);
  if (!value) return { ok: false, reason: `missing signature header ${opts.signatureHeader}` };
  if (!value.startsWith(opts.signaturePrefix)) return { ok: false, reason: `token prefix mismatch in ${opts.signatureHeader}` };
  return anyTokenMatches(keys, value.slice(opts.signaturePrefix.length)) ? { ok: true } : { ok: false, reason: 'token mismatch' };
};

// Node decodes header values as latin1, so the token is sent in that encoding.
export const signToken: SignatureProfile['sign'] = (_body, key, opts, _nowMs, eventId) => ({
  [opts.signatureHeader]: opts.signaturePrefix + key.toString('latin1'),
  [opts.eventIdHeader]: eventId,
});
