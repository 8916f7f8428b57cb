// What the receiver reconciler adds for an InboundWebhook: the URL of each route a sender
// may use, and for bearer without a secret_ref a generated Secret holding one ingest key.
import { randomBytes } from 'node:crypto';
import type { InboundWebhookSpec } from '../../api/kinds/inbound-webhook.js';
import type { Status, StoredResource } from '../../api/types.js';
import { endpointPath } from '../../api/endpoint.js';
import { ensureGeneratedSecret } from '../../controller/generated-secret.js';
import type { Objects } from '../../store/objects.js';

/** The organisation segment of seed 000's URL: there is one organisation. */
export const ORG_ID = 'orloj';
export const INGEST_PREFIX = '/ingest/';
export const TOKEN_PREFIX = 'src_';
const GENERATED_FOR = 'orloj.dev/ingest-key-for';

export function ingestURLs(w: StoredResource, endpointID: string): Record<string, string> {
  const spec = w.spec as InboundWebhookSpec;
  const ns = w.metadata.namespace;
  const urls: Record<string, string> = {
    native: endpointPath(endpointID),
    ingest: `${INGEST_PREFIX}${TOKEN_PREFIX}${endpointID}`,
    inbound: `/inbound/${ORG_ID}/${ns}/${endpointID}/ingest`,
  };
  if (spec.ingest_auth.type !== 'path_token') urls.webhook = `/api/webhook/${w.metadata.name}?namespace=${ns}`;
  return urls;
}

/** `ik_<key id>_<secret>`, the shape of seed 002's data ingest credentials. */
export function newIngestKey(): string {
  return `ik_${randomBytes(6).toString('hex')}_${randomBytes(30).toString('base64url')}`;
}

/**
 * The Secret `<name>-ingest-key`, created once with one key. One of that name that this
 * webhook did not create is not taken over: the webhook reports it instead.
 */
export async function ensureIngestKey(w: StoredResource, store: Objects): Promise<Status> {
  const spec = w.spec as InboundWebhookSpec;
  if (spec.ingest_auth.type !== 'bearer' || spec.secret_ref) return {};
  const name = `${w.metadata.name}-ingest-key`;
  const secret = await ensureGeneratedSecret(store, w.metadata.namespace, name, GENERATED_FOR, w.metadata.name, newIngestKey);
  return secret ? { secretRef: name } : {};
}
