// InboundWebhook: a verified, new event upserts one document in the webhook's collection,
// through the bound Source's mapping or an inline one, validated against the collection's
// schema. Raw payloads are kept byte-exact with their content type.
import { sourceName, type InboundWebhookSpec } from '../../api/kinds/inbound-webhook.js';
import type { SourceSpec } from '../../api/kinds/source.js';
import type { Status, StoredResource } from '../../api/types.js';
import { checkInput } from '../../apiserver/input.js';
import { bindCollection, idOf, newDocumentId, putOp, type BoundCollection } from '../../documents/documents.js';
import { compileMapping, MappingError, type Mapping } from '../../mapping/index.js';
import type { JsonObject } from '../../mapping/paths.js';
import { bearer, pathToken, signature, staticHeader } from '../auth.js';
import { header, jsonBody } from '../crypto.js';
import { keysOf } from '../keys.js';
import { ReceiverBase } from './base.js';
import { getProfile, headerList, idHeadersOf } from '../profiles/index.js';
import { hmacProfile, SIGNED_INGEST } from '../webhook-options.js';
import type { ProfileOptions, SignatureProfile } from '../profiles/types.js';
import {
  Rejection, type Action, type Authenticator, type DeliveryRequest, type Fetch, type Outcome, type Problem, type Receiver, type ReceiverKind, type VerifiedDelivery,
} from '../types.js';
import { ApiError } from '../../api/errors.js';
import { ensureIngestKey, ingestURLs } from './inbound-webhook-status.js';
import { addJobOp, jobAdded, NotificationProblem, readNotification } from '../../hydration/job.js';

/** Everything compile fetched; a missing piece is a problem, in the order Ready shows them. */
interface Parts {
  collection?: BoundCollection;
  mapping?: Mapping;
  keys: Buffer[];
  signingKeys: Buffer[];
  problems: Problem[];
}

async function fetchParts(w: StoredResource, spec: InboundWebhookSpec, fetch: Fetch): Promise<Parts> {
  const ns = w.metadata.namespace;
  const problems: Problem[] = [];
  const col = await fetch('Collection', ns, spec.collection);
  if (!col) problems.push({ reason: 'CollectionNotFound', message: `collection "${spec.collection}" not found in namespace "${ns}"` });
  const mapping = await mappingOf(spec, ns, fetch, problems);
  const secretName = spec.secret_ref ?? (w.status.secretRef as string | undefined);
  const keys = await secretKeys(fetch, ns, spec.ingest_auth.type === 'path_token' ? undefined : secretName, problems);
  const signingKeys = await secretKeys(fetch, ns, spec.ingest_auth.type === 'bearer' ? spec.ingest_auth.signing_secret_ref || undefined : undefined, problems);
  return { collection: col ? bindCollection(col) : undefined, mapping, keys, signingKeys, problems };
}

async function mappingOf(spec: InboundWebhookSpec, ns: string, fetch: Fetch, problems: Problem[]): Promise<Mapping | undefined> {
  let m = spec.field_mapping;
  if (spec.source_binding) {
    const name = sourceName(spec.source_binding.source);
    const src = await fetch('Source', ns, name);
    if (!src) return void problems.push({ reason: 'SourceNotFound', message: `source "${name}" not found in namespace "${ns}"` });
    const s = src.spec as unknown as SourceSpec;
    if (s.collection !== spec.collection) return void problems.push({ reason: 'SourceMismatch', message: `source "${name}" is bound to collection "${s.collection}", not "${spec.collection}"` });
    if (spec.hydration && !s.read) problems.push({ reason: 'SourceNotReadable', message: `source "${name}" has no read endpoint (spec.read): hydration cannot fetch records` });
    m = s.field_mapping;
  }
  if (!m) return undefined;
  try {
    return compileMapping(m);
  } catch (e) {
    problems.push({ reason: 'MappingInvalid', message: `field mapping: ${(e as MappingError).message}` });
    return undefined;
  }
}

async function secretKeys(fetch: Fetch, ns: string, name: string | undefined, problems: Problem[]): Promise<Buffer[]> {
  if (!name) return [];
  const secret = await fetch('Secret', ns, name);
  const keys = keysOf(secret);
  if (!secret) problems.push({ reason: 'SecretNotFound', message: `secret "${name}" not found in namespace "${ns}"` });
  else if (!keys.length) problems.push({ reason: 'SecretEmpty', message: `secret "${name}" has no non-empty key` });
  return keys;
}

function authenticatorsOf(spec: InboundWebhookSpec, parts: Parts): Authenticator[] {
  const a = spec.ingest_auth;
  switch (a.type) {
    case 'hmac': {
      const { profile, opts } = hmacProfile(spec)!;
      return [signature(profile, parts.keys, opts)];
    }
    case 'static_header': return [staticHeader(a.header!, parts.keys)];
    case 'bearer': return a.signing_secret_ref ? [bearer(parts.keys), signature(getProfile('generic')!, parts.signingKeys, SIGNED_INGEST)] : [bearer(parts.keys)];
    case 'path_token': return [pathToken()];
  }
}

/** Top-level objects and arrays become JSON strings (seed 002). */
function flattened(data: JsonObject): JsonObject {
  const out: JsonObject = {};
  for (const k of Object.keys(data)) {
    const v = data[k]!;
    Object.defineProperty(out, k, { value: v !== null && typeof v === 'object' ? JSON.stringify(v) : v, enumerable: true, writable: true, configurable: true });
  }
  return out;
}

const refuse = (message: string, detail: string): Rejection => new Rejection(400, 'BadRequest', message, detail);

class InboundWebhookReceiver extends ReceiverBase implements Receiver {
  readonly authenticators: Authenticator[];
  readonly eventIdSource: string;
  readonly eventIdHeaders: readonly string[];
  readonly dedupeWindowMs: number;
  /** Without an event id every delivery is new: nothing to deduplicate on. */
  readonly eventIdOptional = true;
  /** path_token: the endpoint's id in the URL is the only credential, so a route by name cannot serve it. */
  readonly credentialInPath: boolean;
  private readonly hmac?: { profile: SignatureProfile; opts: ProfileOptions };

  constructor(
    w: StoredResource,
    private readonly spec: InboundWebhookSpec,
    private readonly parts: Parts,
    readonly authProblem: string | undefined,
    readonly problems: Problem[],
  ) {
    super(w, spec);
    this.authenticators = authenticatorsOf(spec, parts);
    this.hmac = hmacProfile(spec);
    this.eventIdSource = spec.idempotency.event_id_headers.join(', ');
    this.eventIdHeaders = headerList([...spec.idempotency.event_id_headers, ...(this.hmac ? idHeadersOf(this.hmac.profile, this.hmac.opts) : [])]);
    this.dedupeWindowMs = spec.idempotency.dedupe_window_seconds * 1000;
    this.credentialInPath = spec.ingest_auth.type === 'path_token';
  }

  eventId(req: DeliveryRequest): string | undefined {
    for (const h of this.spec.idempotency.event_id_headers) {
      const v = header(req, h);
      if (v) return v;
    }
    return this.hmac?.profile.eventId(req, this.hmac.opts);
  }

  private eventType(req: DeliveryRequest): string | undefined {
    return header(req, this.spec.event_type_header) || this.hmac?.profile.eventType(req, this.hmac.opts) || undefined;
  }

  act(d: VerifiedDelivery): Action {
    const c = this.parts.collection;
    if (!c) throw refuse('delivery could not be stored', `document write failed: collection "${this.spec.collection}" not found`);
    if (this.spec.hydration) return this.hydration(c, d);
    const meta = { origin: 'inbound_webhook' as const, eventType: this.eventType(d.req) };
    if (this.spec.payload.mode === 'raw') {
      const contentType = d.req.headers['content-type'] || 'application/octet-stream';
      const op = putOp(c, newDocumentId(), { raw: d.req.body.toString('base64'), contentType }, meta);
      return { ops: [op], detail: { fieldsUpdated: 0 } };
    }
    const data = this.canonical(d.req);
    const field = d.req.query?.get('idField') || this.spec.id_field || c.idField;
    const given = this.idFrom(data, field);
    try {
      const op = putOp(c, given ?? newDocumentId(), { data }, { ...meta, ...(given !== undefined ? { externalId: given } : {}) });
      return { ops: [op], detail: { fieldsUpdated: Object.keys(data).length } };
    } catch (e) {
      if (!(e instanceof ApiError)) throw e;
      throw refuse('payload does not match the collection schema', `document write failed: ${e.message}`);
    }
  }

  /** A thin notification: a job to fetch (or delete) the record it names, committed with the delivery. */
  private hydration(c: BoundCollection, d: VerifiedDelivery): Action {
    const unreadable = this.problems.find((p) => p.reason === 'SourceNotReadable' || p.reason === 'SourceNotFound');
    if (unreadable) throw new Rejection(503, 'ServiceUnavailable', 'delivery cannot be hydrated now; retry later', `hydration: ${unreadable.message}`);
    const payload = jsonBody(d.req.body);
    if (!payload) throw refuse('invalid or missing JSON object', 'hydration: the body is not a JSON object');
    let note;
    try {
      checkInput(payload);
      note = readNotification(this.spec.hydration!, payload as JsonObject);
    } catch (e) {
      if (e instanceof NotificationProblem) throw refuse(e.message, e.detail);
      if (e instanceof ApiError) throw refuse('invalid JSON payload', `hydration: ${e.message}`);
      throw e;
    }
    const job = { ...note, ...(d.eventId ? { eventId: d.eventId } : {}), ...(this.eventType(d.req) ? { eventType: this.eventType(d.req) } : {}) };
    return { ops: [addJobOp(this.object, this.owner, c.ref.uid, job, d.nowMs)], outcome: 'queued', committed: jobAdded, detail: { queued: true } };
  }

  /** The payload as a native document: parsed, checked, mapped, flattened. */
  private canonical(req: DeliveryRequest): JsonObject {
    const payload = jsonBody(req.body);
    if (!payload) throw refuse('invalid or missing JSON object', 'document write failed: the body is not a JSON object (payload.mode is json)');
    try {
      checkInput(payload);
      const native = this.parts.mapping ? this.parts.mapping.toNative(payload as JsonObject) : (payload as JsonObject);
      return this.spec.flatten ? flattened(native) : native;
    } catch (e) {
      if (e instanceof MappingError) throw refuse('payload does not fit the field mapping', `document write failed: ${e.message}`);
      if (e instanceof ApiError) throw refuse('invalid JSON payload', `document write failed: ${e.message}`);
      throw e;
    }
  }

  private idFrom(data: JsonObject, field: string): string | undefined {
    try {
      return idOf(data, field);
    } catch (e) {
      throw refuse('invalid item id', `document write failed: ${(e as Error).message}`);
    }
  }

  answer(o: Outcome): object {
    if (this.spec.hydration) return { accepted: true, duplicate: o.duplicate, status: 'queued', delivery: o.result, event_id: o.eventId || null };
    return { accepted: true, duplicate: o.duplicate, status: 'accepted', itemId: o.result, fieldsUpdated: (o.detail?.fieldsUpdated as number | undefined) ?? 0, event_id: o.eventId || null };
  }

  lastDelivery(o: Outcome): Status {
    return o.duplicate || this.spec.hydration ? {} : { lastItemID: o.result };
  }
}

/** Which Secret holds the ingest keys: the spec's, or for bearer the one the reconciler generated. */
function authProblemOf(spec: InboundWebhookSpec, parts: Parts): string | undefined {
  if (spec.ingest_auth.type === 'path_token') return undefined;
  const p = parts.problems.find((x) => x.reason === 'SecretNotFound' || x.reason === 'SecretEmpty');
  if (p) return p.message;
  return parts.keys.length ? undefined : 'no ingest key yet';
}

const ingestURLsStatus = (w: StoredResource, endpointID: string): Status => ({ ingestURLs: ingestURLs(w, endpointID) });

async function compile(w: StoredResource, fetch: Fetch): Promise<Receiver> {
  const spec = w.spec as InboundWebhookSpec;
  const parts = await fetchParts(w, spec, fetch);
  const problems = [...parts.problems];
  if (!spec.secret_ref && spec.ingest_auth.type === 'bearer' && !w.status.secretRef) problems.push({ reason: 'SecretPending', message: 'the ingest key Secret is being generated' });
  return new InboundWebhookReceiver(w, spec, parts, authProblemOf(spec, parts), problems);
}

export const inboundWebhookReceiver: ReceiverKind = { kind: 'InboundWebhook', compile, statusOf: ingestURLsStatus, prepare: ensureIngestKey };
