// A delivery signed or authenticated the way a receiver's sender would do it. One
// implementation for both callers: `orlojctl webhook send` signs with keys an admin token
// reads, and the server's test deliveries (test-delivery.ts) with keys from its own store.
import { randomUUID } from 'node:crypto';
import type { InboundWebhookSpec } from '../api/kinds/inbound-webhook.js';
import type { TaskWebhookSpec } from '../api/kinds/task-webhook.js';
import type { StoredResource } from '../api/types.js';
import { getProfile } from './profiles/index.js';
import type { ProfileOptions, SignatureProfile } from './profiles/types.js';
import { hmacProfile, SIGNED_INGEST, webhookProfile } from './webhook-options.js';

export interface SignedDelivery {
  body: Buffer;
  headers: Record<string, string>;
  /** Why the event id asked for does not reach the receiver, when it cannot (callers name their own flag or parameter). */
  eventIdNotSent?: string;
  /** Credentials left out: a Secret that is missing or empty. */
  warnings: string[];
}

export interface SignOptions {
  /** The event id asked for; without one a random id goes in the headers (a body's own id stays). */
  eventId?: string;
  eventType?: string;
  /** Which key of the Secret signs (default: its first non-empty one). */
  key?: string;
  /** The body's content type (default: what the receiver's payload mode expects). */
  contentType?: string;
  /** The signing time (ms), for schemes that sign one. */
  nowMs: number;
}

/**
 * A key of a Secret in the receiver's namespace: `keyName`, else the first non-empty one.
 * Undefined when the Secret is missing or empty: the delivery then goes without that
 * credential (and a warning), and the receiver refuses it as it would a sender's.
 */
export type KeySource = (secretName: string, keyName: string | undefined) => Promise<Buffer | undefined>;

/** `receiver` (a TaskWebhook or InboundWebhook) signed or authenticated for `body`. */
export function signDelivery(receiver: StoredResource, body: Buffer, o: SignOptions, keyOf: KeySource): Promise<SignedDelivery> {
  return receiver.kind === 'InboundWebhook' ? signInbound(receiver, body, o, keyOf) : signTaskWebhook(receiver.spec as TaskWebhookSpec, body, o, keyOf);
}

const randomEventId = (): string => `evt-${randomUUID()}`;
const unsigned = (secret: string): string => `not signed: secret "${secret}" is missing or has no key (the receiver will refuse the delivery)`;

// --- TaskWebhook: its signature profile ---

/** Profiles that read the event id from a field of a JSON body, not from a header (pkg/receiver/profiles). */
const BODY_EVENT_ID: Readonly<Record<string, string>> = { stripe: 'id', slack: 'event_id' };

interface Signing {
  profile: SignatureProfile;
  opts: ProfileOptions;
  key: Buffer;
  nowMs: number;
  contentType: string;
}

function signed(s: Signing, body: Buffer, eventId: string): Record<string, string> {
  // A header the spec names (event_id_header) carries the id whatever the profile; its own headers come on top.
  const idHeader = s.opts.eventIdHeader ? { [s.opts.eventIdHeader]: eventId } : {};
  return { 'content-type': s.contentType, ...idHeader, ...s.profile.sign(body, s.key, s.opts, s.nowMs, eventId) };
}

/** The event id the receiver will read from this delivery, by the profile's own rule. */
function receivedId(s: Signing, body: Buffer, headers: Record<string, string>): string | undefined {
  const lower = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
  return s.profile.eventId({ headers: lower, body }, s.opts);
}

/** The body with `field` set to `id`, or undefined when it is not a JSON object. */
function withField(body: Buffer, field: string, id: string): Buffer | undefined {
  let v: unknown;
  try {
    v = JSON.parse(body.toString('utf8'));
  } catch {
    return undefined;
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return undefined;
  return Buffer.from(JSON.stringify({ ...v, [field]: id }));
}

function notSent(profile: string, field: string | undefined): string {
  const why = field ? `reads the event id from the body's "${field}" field, and the body is not a JSON object` : 'reads the event id from where it cannot be put';
  return `the ${profile} profile ${why}`;
}

/**
 * An event id asked for goes where the profile reads it: a header, or the JSON body's field
 * (the body is then re-serialized and signed as sent). A default id is only put in headers:
 * a body's own id is the sender's.
 */
function placeEventId(s: Signing, body: Buffer, eventId: string, explicit: boolean): SignedDelivery {
  const d: SignedDelivery = { body, headers: signed(s, body, eventId), warnings: [] };
  if (!explicit || receivedId(s, d.body, d.headers) === eventId) return d;
  const field = BODY_EVENT_ID[s.profile.name];
  const placed = field ? withField(body, field, eventId) : undefined;
  const again: SignedDelivery = placed ? { body: placed, headers: signed(s, placed, eventId), warnings: [] } : d;
  return receivedId(s, again.body, again.headers) === eventId ? again : { ...d, eventIdNotSent: notSent(s.profile.name, field) };
}

async function signTaskWebhook(spec: TaskWebhookSpec, body: Buffer, o: SignOptions, keyOf: KeySource): Promise<SignedDelivery> {
  const { profile, opts } = webhookProfile(spec);
  const key = await keyOf(spec.auth.secret_ref, o.key);
  const contentType = o.contentType ?? 'application/json';
  const eventId = o.eventId ?? randomEventId();
  const d: SignedDelivery = key
    ? placeEventId({ profile, opts, key, nowMs: o.nowMs, contentType }, body, eventId, o.eventId !== undefined)
    : { body, headers: { 'content-type': contentType, ...(opts.eventIdHeader ? { [opts.eventIdHeader]: eventId } : {}) }, warnings: [unsigned(spec.auth.secret_ref)] };
  if (o.eventType) d.headers[profile.defaults.eventTypeHeader ?? 'X-Event-Type'] = o.eventType;
  return d;
}

// --- InboundWebhook: its ingest_auth scheme ---

/** The Secret whose keys authenticate: the spec's, or the one the reconciler generated (bearer). */
function ingestSecretOf(w: StoredResource): string | undefined {
  return (w.spec as InboundWebhookSpec).secret_ref ?? (w.status.secretRef as string | undefined);
}

/** The scheme's credentials for `body`; what could not be made is left out, with a warning. */
async function credentials(w: StoredResource, body: Buffer, o: SignOptions, eventId: string, keyOf: KeySource, warnings: string[]): Promise<Record<string, string>> {
  const spec = w.spec as InboundWebhookSpec;
  const a = spec.ingest_auth;
  if (a.type === 'path_token') return {};
  const secret = ingestSecretOf(w);
  const key = secret ? await keyOf(secret, o.key) : undefined;
  if (!key) warnings.push(secret ? unsigned(secret) : `not authenticated: inbound-webhook/${w.metadata.name} has no ingest key Secret yet (is orlojd reconciling?)`);
  const out: Record<string, string> = {};
  if (key && a.type === 'static_header') out[a.header!] = key.toString('utf8');
  if (key && a.type === 'hmac') {
    const { profile, opts } = hmacProfile(spec)!;
    Object.assign(out, profile.sign(body, key, opts, o.nowMs, eventId));
  }
  if (a.type !== 'bearer') return out;
  if (key) out.Authorization = `Bearer ${key.toString('utf8')}`;
  if (!a.signing_secret_ref) return out;
  const signingKey = await keyOf(a.signing_secret_ref, undefined);
  if (!signingKey) warnings.push(unsigned(a.signing_secret_ref));
  else Object.assign(out, getProfile('generic')!.sign(body, signingKey, SIGNED_INGEST, o.nowMs, eventId));
  return out;
}

/** The body with its event id in the first idempotency header the webhook reads, and the scheme's credentials. */
async function signInbound(w: StoredResource, body: Buffer, o: SignOptions, keyOf: KeySource): Promise<SignedDelivery> {
  const spec = w.spec as InboundWebhookSpec;
  const eventId = o.eventId ?? randomEventId();
  const idHeader = spec.idempotency.event_id_headers[0];
  const warnings: string[] = [];
  const headers: Record<string, string> = {
    'content-type': o.contentType ?? (spec.payload.mode === 'raw' ? 'application/octet-stream' : 'application/json'),
    ...(idHeader ? { [idHeader]: eventId } : {}),
    ...(await credentials(w, body, o, eventId, keyOf, warnings)),
  };
  if (o.eventType) headers[spec.event_type_header] = o.eventType;
  return { body, headers, warnings };
}
