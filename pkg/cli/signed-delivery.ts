// A delivery signed the way a TaskWebhook's sender would sign it (`orlojctl webhook send`).
import type { ProfileOptions, SignatureProfile } from '../receiver/profiles/types.js';

/** Profiles that read the event id from a field of a JSON body, not from a header (pkg/receiver/profiles). */
const BODY_EVENT_ID: Readonly<Record<string, string>> = { stripe: 'id', slack: 'event_id' };

export interface SignedDelivery {
  body: Buffer;
  headers: Record<string, string>;
  /** Why the event id asked for does not reach the receiver, when it cannot. */
  warning?: string;
}

interface Signing {
  profile: SignatureProfile;
  opts: ProfileOptions;
  key: Buffer;
  nowMs: number;
}

function sign(s: Signing, body: Buffer, eventId: string): Record<string, string> {
  // A header the spec names (event_id_header) carries the id whatever the profile; its own headers come on top.
  const idHeader = s.opts.eventIdHeader ? { [s.opts.eventIdHeader]: eventId } : {};
  return { 'content-type': 'application/json', ...idHeader, ...s.profile.sign(body, s.key, s.opts, s.nowMs, eventId) };
}

/** The event id the receiver will read from this delivery, by the profile's own rule. */
function receivedId(s: Signing, d: SignedDelivery): string | undefined {
  const headers = Object.fromEntries(Object.entries(d.headers).map(([k, v]) => [k.toLowerCase(), v]));
  return s.profile.eventId({ headers, body: d.body }, s.opts);
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
  const why = field ? `reads the event id from the body's "${field}" field, and the body is not a JSON object` : 'reads the event id from where orlojctl cannot put it';
  return `--event-id is not sent: the ${profile} profile ${why}`;
}

/**
 * Signs `body`. An event id the user asked for goes where the profile reads it: a header, or
 * the JSON body's field (the body is then re-serialized and signed as sent). A default id is
 * only put in headers: a body's own id is the sender's.
 */
export function signDelivery(s: Signing, body: Buffer, eventId: string, explicit: boolean): SignedDelivery {
  const d: SignedDelivery = { body, headers: sign(s, body, eventId) };
  if (!explicit || receivedId(s, d) === eventId) return d;
  const field = BODY_EVENT_ID[s.profile.name];
  const placed = field ? withField(body, field, eventId) : undefined;
  const again: SignedDelivery = placed ? { body: placed, headers: sign(s, placed, eventId) } : d;
  return receivedId(s, again) === eventId ? again : { ...d, warning: notSent(s.profile.name, field) };
}
