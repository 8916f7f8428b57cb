import { getProfile, resolveOptions } from '../../pkg/receiver/profiles/index.js';
import type { Orlojd } from './orlojd.js';

export interface SendOptions {
  profile?: string;
  secret: string;
  body: string;
  eventId?: string;
  atMs?: number;
  headers?: Record<string, string>;
  /** Drop these headers after signing. */
  omit?: string[];
}

/** Signs a body the way the named provider would and posts it to an endpoint path. */
export async function send(d: Orlojd, endpointPath: string, o: SendOptions) {
  const profile = getProfile(o.profile ?? 'generic')!;
  const opts = resolveOptions(profile, {});
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    ...profile.sign(Buffer.from(o.body), Buffer.from(o.secret), opts, o.atMs ?? Date.now(), o.eventId ?? `evt-${Math.random()}`),
    ...(o.headers ?? {}),
  };
  for (const h of o.omit ?? []) {
    for (const k of Object.keys(headers)) if (k.toLowerCase() === h.toLowerCase()) delete headers[k];
  }
  return post(d, endpointPath, headers, o.body);
}

/** Posts a delivery exactly as given (headers signed by the caller) and parses the answer. */
export async function post(d: Orlojd, endpointPath: string, headers: Record<string, string>, payload: string) {
  const res = await fetch(d.url + endpointPath, { method: 'POST', headers, body: payload });
  const text = await res.text();
  let body: Record<string, unknown> = {};
  try {
    body = JSON.parse(text) as Record<string, unknown>;
  } catch {
    // leave empty
  }
  return { status: res.status, headers: res.headers, body, text };
}
