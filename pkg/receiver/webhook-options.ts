import type { InboundWebhookSpec } from '../api/kinds/inbound-webhook.js';
import type { TaskWebhookSpec } from '../api/kinds/task-webhook.js';
import { getProfile, resolveOptions } from './profiles/index.js';
import type { ProfileOptions, SignatureProfile } from './profiles/types.js';

/** A TaskWebhook's profile and its header options: what the receiver checks and `webhook send` signs. */
export function webhookProfile(spec: TaskWebhookSpec): { profile: SignatureProfile; opts: ProfileOptions } {
  const profile = getProfile(spec.auth.profile);
  if (!profile) throw new Error(`unknown signature profile "${spec.auth.profile}"`);
  const opts = resolveOptions(profile, {
    signatureHeader: spec.auth.signature_header,
    signaturePrefix: spec.auth.signature_prefix,
    timestampHeader: spec.auth.timestamp_header,
    eventIdHeader: spec.idempotency?.event_id_header,
    maxSkewSeconds: spec.auth.max_skew_seconds,
  });
  return { profile, opts };
}

/** Seed 002's signature: `X-Webhook-Signature: sha256=<hex HMAC(timestamp.body)>`, 5 minutes of skew. */
export const SIGNED_INGEST: ProfileOptions = {
  signatureHeader: 'X-Webhook-Signature', signaturePrefix: 'sha256=', timestampHeader: 'X-Webhook-Timestamp', eventIdHeader: '', maxSkewSeconds: 300,
};

/** An InboundWebhook's hmac scheme: its profile and options, from ingest_auth over the profile's defaults. */
export function hmacProfile(spec: InboundWebhookSpec): { profile: SignatureProfile; opts: ProfileOptions } | undefined {
  const a = spec.ingest_auth;
  if (a.type !== 'hmac') return undefined;
  const profile = getProfile(a.profile ?? 'generic');
  if (!profile) throw new Error(`unknown signature profile "${a.profile}"`);
  const opts = resolveOptions(profile, {
    signatureHeader: a.signature_header, signaturePrefix: a.signature_prefix, timestampHeader: a.timestamp_header, maxSkewSeconds: a.max_skew_seconds,
  });
  return { profile, opts };
}
