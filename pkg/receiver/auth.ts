// Authenticators: an HMAC signature profile, a static header, a bearer key, a path token.
// A receiver lists the ones a delivery must pass, so schemes combine without the handler
// knowing any of them.
import { anyTokenMatches, header } from './crypto.js';
import type { ProfileOptions, SignatureProfile } from './profiles/types.js';
import type { Authenticator, DeliveryRequest, VerifyResult } from './types.js';

/** A signature profile checked against every candidate key (each key of a Secret). */
class Signature implements Authenticator {
  constructor(
    private readonly profile: SignatureProfile,
    private readonly keys: Buffer[],
    private readonly opts: ProfileOptions,
  ) {}
  verify(req: DeliveryRequest, nowMs: number): VerifyResult {
    const v = this.profile.verify(req, this.keys, this.opts, nowMs);
    // A signed time is refused once out of skew: a replay of this signature can pass only until
    // then. Set on the profile's own fresh result, not a copy (every delivery comes through here).
    if (v.ok && v.signedAt !== undefined) v.replayableUntil = v.signedAt + this.opts.maxSkewSeconds * 1000;
    return v;
  }
}

export const signature = (profile: SignatureProfile, keys: Buffer[], opts: ProfileOptions): Authenticator => new Signature(profile, keys, opts);

/** The named header carries one of the keys verbatim (after an optional prefix such as "Bearer "). */
export function staticHeader(name: string, keys: Buffer[], prefix = ''): Authenticator {
  return {
    verify(req) {
      const value = header(req, name);
      if (!value) return { ok: false, reason: `missing header ${name}` };
      if (!value.startsWith(prefix)) return { ok: false, reason: `${name} does not start with "${prefix.trim()}"` };
      return anyTokenMatches(keys, value.slice(prefix.length)) ? { ok: true } : { ok: false, reason: `${name} mismatch` };
    },
  };
}

/** `Authorization: Bearer <key>`. */
export const bearer = (keys: Buffer[]): Authenticator => staticHeader('Authorization', keys, 'Bearer ');

/** The endpoint path itself is the credential: reaching the receiver is enough. */
export const pathToken = (): Authenticator => ({ verify: () => ({ ok: true }) });

/** Never passes: the receiver cannot authenticate anything (e.g. its Secret is missing). */
export const refuseAll = (reason: string): Authenticator => ({ verify: () => ({ ok: false, reason }) });
