import { connect } from 'node:net';
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

/** A header value as its UTF-8 bytes on the wire, one char per byte (postRaw writes header text as latin1). */
export const utf8OnTheWire = (s: string): string => Buffer.from(s, 'utf8').toString('latin1');

/**
 * Posts over a raw socket, headers given as [name, value] pairs and written byte for byte
 * (node's client would refuse some values and re-encode others): a name is repeated as often as it is listed.
 */
export async function postRaw(d: Orlojd, endpointPath: string, headers: Array<[string, string]>, payload: string) {
  const body = Buffer.from(payload);
  const head = [`POST ${endpointPath} HTTP/1.1`, `Host: 127.0.0.1:${d.port}`, 'Connection: close', `Content-Length: ${body.length}`, ...headers.map(([k, v]) => `${k}: ${v}`)];
  const sock = connect(d.port, '127.0.0.1');
  sock.write(Buffer.concat([Buffer.from(`${head.join('\r\n')}\r\n\r\n`, 'latin1'), body]));
  const chunks: Buffer[] = [];
  for await (const c of sock) chunks.push(c as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  const split = text.indexOf('\r\n\r\n');
  return { status: Number(text.slice(9, 12)), body: JSON.parse(text.slice(split + 4)) as Record<string, unknown> };
}
