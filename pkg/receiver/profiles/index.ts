// Registry of signature profiles: adding a provider is one file plus one line here.
import { generic } from './generic.js';
import { github } from './github.js';
import { gitlab } from './gitlab.js';
import { slack } from './slack.js';
import { standardWebhooks } from './standard-webhooks.js';
import { staticHeader } from './static-header.js';
import { stripe } from './stripe.js';
import type { ProfileOptions, SignatureProfile } from './types.js';

export type { DeliveryRequest, ProfileDefaults, ProfileOptions, SignatureProfile, VerifyResult } from './types.js';

export const profiles: ReadonlyMap<string, SignatureProfile> = new Map(
  [generic, github, stripe, slack, standardWebhooks, gitlab, staticHeader].map((p) => [p.name, p]),
);

export const profileNames: readonly string[] = [...profiles.keys()];

export function getProfile(name: string): SignatureProfile | undefined {
  return profiles.get(name);
}

/** Spec overrides over the profile defaults; undefined, null and '' mean "use the default". */
export function resolveOptions(profile: SignatureProfile, overrides: Partial<ProfileOptions>): ProfileOptions {
  const d = profile.defaults;
  const str = (v: string | undefined, def: string): string => (v ? v : def);
  const skew = overrides.maxSkewSeconds;
  return {
    signatureHeader: str(overrides.signatureHeader, d.signatureHeader),
    signaturePrefix: str(overrides.signaturePrefix, d.signaturePrefix),
    timestampHeader: str(overrides.timestampHeader, d.timestampHeader),
    eventIdHeader: str(overrides.eventIdHeader, d.eventIdHeader),
    maxSkewSeconds: typeof skew === 'number' && Number.isFinite(skew) && skew > 0 ? skew : d.maxSkewSeconds,
  };
}

/** The headers a profile reads an event id from: the configured one first. */
export const idHeadersOf = (profile: SignatureProfile, opts: ProfileOptions): string[] => [opts.eventIdHeader, ...(profile.idHeaders ?? [])];

const headerLists = new Map<string, readonly string[]>();
/** Header names lower-cased, empty and repeated ones dropped; one frozen list per distinct list, shared by every receiver. */
export function headerList(names: readonly string[]): readonly string[] {
  const lower = [...new Set(names.filter((h) => h).map((h) => h.toLowerCase()))];
  const key = lower.join('\n');
  let list = headerLists.get(key);
  if (!list) headerLists.set(key, (list = Object.freeze(lower)));
  return list;
}
