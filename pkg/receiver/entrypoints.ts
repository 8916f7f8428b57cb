// The URLs deliveries arrive on. The native one serves every receiver kind; the seed-shaped
// ones serve InboundWebhooks and answer in their seed's own shape. All of them run the same
// delivery steps: an entry point only says which receiver a URL addresses and how to answer.
import { DELIVERY_PREFIX } from '../api/endpoint.js';
import { DEFAULT_NAMESPACE } from '../api/meta.js';
import { INGEST_PREFIX, TOKEN_PREFIX } from './kinds/inbound-webhook-status.js';
import type { Outcome, Receiver, Rejection } from './types.js';

/** Who a URL addresses: an endpoint by its id, or (seed 002) a receiver by name. */
export type Target = { endpointId: string } | { kind: string; namespace: string; name: string };

export interface Shape {
  accepted(r: Receiver, o: Outcome): object;
  rejected(r: Rejection): object;
}

export interface Entry {
  target: Target;
  query: URLSearchParams;
  shape: Shape;
  /** Receiver kinds this URL serves (undefined: every kind). */
  kinds?: readonly string[];
  /** The URL carries the endpoint's id, the credential of a path_token receiver. */
  idInPath: boolean;
  /** The namespace the URL names, which the receiver must be in. */
  namespace?: string;
  /** A suspended receiver is answered as unknown (seed 003). */
  suspendedIsUnknown?: boolean;
}

export const statusBody = (r: Rejection) => ({ accepted: false, kind: 'Status', status: 'Failure', code: r.code, reason: r.reason, message: r.message });

const native: Shape = { accepted: (r, o) => r.answer(o), rejected: statusBody };

/** Seed 003: `{data: {id, status: "queued"}}`, a duplicate `{data: {status: "accepted", note: "duplicate"}}`. */
const ingest: Shape = {
  accepted: (_r, o) => (o.duplicate ? { data: { status: 'accepted', note: 'duplicate' } } : { data: { id: o.result, status: 'queued' } }),
  rejected: statusBody,
};

/** Seed 002: `{status: "accepted", itemId, fieldsUpdated}`. */
const webhook: Shape = {
  accepted: (_r, o) => ({ status: 'accepted', itemId: o.result, fieldsUpdated: (o.detail?.fieldsUpdated as number | undefined) ?? 0, ...(o.duplicate ? { duplicate: true } : {}) }),
  rejected: statusBody,
};

const INBOUND = ['InboundWebhook'] as const;
/** Most deliveries carry no query: one shared, empty one serves them all (it is only read). */
const NO_QUERY = new URLSearchParams();

/** The URL's path segments after `prefix`, decoded; undefined when one cannot be decoded. */
function segments(path: string, prefix: string): string[] | undefined {
  try {
    return path.slice(prefix.length).split('/').map(decodeURIComponent);
  } catch {
    return undefined;
  }
}

/** The entry point a URL names, or undefined (answered 404). */
export function entryOf(url: string): Entry | undefined {
  const q = url.indexOf('?');
  const path = q < 0 ? url : url.slice(0, q);
  const query = q < 0 ? NO_QUERY : new URLSearchParams(url.slice(q + 1));
  if (path.startsWith(DELIVERY_PREFIX)) return { target: { endpointId: path.slice(DELIVERY_PREFIX.length) }, query, shape: native, idInPath: true };
  if (path.startsWith(INGEST_PREFIX)) {
    const token = path.slice(INGEST_PREFIX.length);
    if (!token.startsWith(TOKEN_PREFIX)) return undefined;
    return { target: { endpointId: token.slice(TOKEN_PREFIX.length) }, query, shape: ingest, kinds: INBOUND, idInPath: true, suspendedIsUnknown: true };
  }
  if (path.startsWith('/api/webhook/')) {
    const [name, ...rest] = segments(path, '/api/webhook/') ?? [];
    if (!name || rest.length) return undefined;
    return { target: { kind: 'InboundWebhook', namespace: query.get('namespace') || DEFAULT_NAMESPACE, name }, query, shape: webhook, kinds: INBOUND, idInPath: false };
  }
  if (path.startsWith('/inbound/')) {
    const [org, namespace, endpointId, last, ...rest] = segments(path, '/inbound/') ?? [];
    if (!org || !namespace || !endpointId || last !== 'ingest' || rest.length) return undefined;
    return { target: { endpointId }, query, shape: native, kinds: INBOUND, idInPath: true, namespace };
  }
  return undefined;
}

/** Every prefix an entry point answers under, for the HTTP server's routing. */
export const ENTRY_PREFIXES = [DELIVERY_PREFIX, INGEST_PREFIX, '/api/webhook/', '/inbound/'];
