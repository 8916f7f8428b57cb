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
