// A delivery to an InboundWebhook, authenticated the way its scheme expects (`orlojctl webhook send`).
import { randomUUID } from 'node:crypto';
import type { InboundWebhookSpec } from '../api/kinds/inbound-webhook.js';
import type { StoredResource } from '../api/types.js';
import { getProfile } from '../receiver/profiles/index.js';
import { hmacProfile, SIGNED_INGEST } from '../receiver/webhook-options.js';
import type { Args } from './args.js';
import { signingKey } from './signing-key.js';
import type { CliContext } from './context.js';
import { CliError, UsageError } from './errors.js';
import type { SignedDelivery } from './signed-delivery.js';

/** The Secret whose keys authenticate: the spec's, or the one generated for bearer. */
function secretOf(w: StoredResource): string {
  const name = (w.spec as InboundWebhookSpec).secret_ref ?? (w.status.secretRef as string | undefined);
  if (!name) throw new CliError(`inbound-webhook/${w.metadata.name} has no ingest key Secret yet (is orlojd reconciling?)`);
  return name;
}

async function authHeaders(ctx: CliContext, args: Args, w: StoredResource, body: Buffer, eventId: string): Promise<Record<string, string>> {
  const spec = w.spec as InboundWebhookSpec;
  const a = spec.ingest_auth;
  const nowMs = Date.now();
  switch (a.type) {
    case 'path_token': return {};
    case 'static_header': return { [a.header!]: (await signingKey(ctx, secretOf(w), args.str('key'))).toString('utf8') };
    case 'hmac': {
      const { profile, opts } = hmacProfile(spec)!;
      return profile.sign(body, await signingKey(ctx, secretOf(w), args.str('key')), opts, nowMs, eventId);
    }
    case 'bearer': {
      const out: Record<string, string> = { Authorization: `Bearer ${(await signingKey(ctx, secretOf(w), args.str('key'))).toString('utf8')}` };
      if (!a.signing_secret_ref) return out;
      const key = await signingKey(ctx, a.signing_secret_ref, undefined);
      return { ...out, ...getProfile('generic')!.sign(body, key, SIGNED_INGEST, nowMs, eventId) };
    }
  }
}

/** The body with its event id in the first idempotency header the webhook reads, and the scheme's credentials. */
export async function signedInbound(ctx: CliContext, args: Args, w: StoredResource, body: Buffer): Promise<SignedDelivery> {
  const spec = w.spec as InboundWebhookSpec;
  const given = args.str('event-id');
  if (given === '') throw new UsageError('--event-id may not be empty', 'webhook');
  const eventId = given ?? `evt-${randomUUID()}`;
  const idHeader = spec.idempotency.event_id_headers[0];
  const headers: Record<string, string> = {
    'content-type': spec.payload.mode === 'raw' ? 'application/octet-stream' : 'application/json',
    ...(idHeader ? { [idHeader]: eventId } : {}),
    ...(await authHeaders(ctx, args, w, body, eventId)),
  };
  const eventType = args.str('event-type');
  if (eventType) headers[spec.event_type_header] = eventType;
  return { body, headers };
}
