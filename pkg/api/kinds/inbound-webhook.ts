import type { Cause } from '../errors.js';
import type { KindDef, Ref } from '../kind.js';
import type { Resource, Spec, StoredResource } from '../types.js';
import { receiverColumns, receiverStatusSchema } from '../receiver-schema.js';
import { retrySchema, type RetrySpec } from '../retry-schema.js';
import { fieldMappingSchema, type FieldMappingSpec } from '../../mapping/index.js';
import { mappingCauses, normalizeMapping, type SourceSpec } from './source.js';

export const INBOUND_MAX_BODY_BYTES = 5 * 1024 * 1024;
export const DEFAULT_EVENT_ID_HEADERS = ['X-Webhook-Id', 'X-Event-Id', 'Idempotency-Key', 'X-Request-Id'];

export interface IngestAuth {
  type: 'hmac' | 'static_header' | 'bearer' | 'path_token';
  profile?: string;
  signature_header?: string;
  signature_prefix?: string;
  timestamp_header?: string;
  max_skew_seconds?: number;
  header?: string;
  signing_secret_ref?: string;
}

/** Thin notifications ("record X changed"): the full record is fetched from the bound Source's read endpoint. */
export interface HydrationSpec {
  id_path: string;
  event_path?: string;
  event_map?: Record<string, 'upsert' | 'delete'>;
  merge: boolean;
  retry: RetrySpec;
}

export const HYDRATION_BACKOFF_SECONDS = [1, 5, 30, 120];

const dottedPath = { type: 'string', minLength: 1, maxLength: 256, pattern: '^[^.]+(\\.[^.]+)*$' };

const hydrationSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['id_path'],
  properties: {
    id_path: { ...dottedPath, description: 'where the record id is in the notification (dotted path)' },
    event_path: { ...dottedPath, description: 'where the event name is; mapped through event_map' },
    event_map: { type: 'object', additionalProperties: { type: 'string', enum: ['upsert', 'delete'] }, description: 'event name → upsert or delete (anything else: upsert)' },
    merge: { type: 'boolean', default: false, description: 'a re-sync refreshes only the fields syncs wrote and keeps the rest' },
    retry: retrySchema({ max_attempts: 5, backoff_seconds: HYDRATION_BACKOFF_SECONDS }),
  },
};

export interface InboundWebhookSpec {
  collection: string;
  secret_ref?: string;
  ingest_auth: IngestAuth;
  id_field?: string;
  flatten: boolean;
  source_binding?: { collection: string; source: string };
  field_mapping?: FieldMappingSpec;
  hydration?: HydrationSpec;
  idempotency: { event_id_headers: string[]; dedupe_window_seconds: number };
  payload: { mode: 'json' | 'raw' };
  event_type_header: string;
  max_body_bytes: number;
  suspend: boolean;
  [extra: string]: unknown;
}

const headerName = { type: 'string', pattern: '^[A-Za-z0-9-]+$', maxLength: 128 };

/** One object for every scheme (a structural schema); which fields a scheme takes is checked in validate. */
const ingestAuthSchema = {
  type: 'object',
  additionalProperties: false,
  default: { type: 'hmac' },
  properties: {
    type: { type: 'string', enum: ['hmac', 'static_header', 'bearer', 'path_token'], default: 'hmac' },
    profile: { type: 'string', enum: ['generic', 'github', 'stripe', 'slack', 'standard-webhooks', 'gitlab'], description: 'hmac: default generic' },
    signature_header: headerName,
    signature_prefix: { type: 'string', maxLength: 64 },
    timestamp_header: { type: 'string', pattern: '^[A-Za-z0-9-]*$', maxLength: 128 },
    max_skew_seconds: { type: 'integer', minimum: 1, maximum: 86400, description: 'hmac: default 300' },
    header: { ...headerName, description: 'static_header: the header whose value is a key of the Secret' },
    signing_secret_ref: { type: 'string', description: 'bearer: also require X-Webhook-Signature over timestamp.body' },
  },
};

/** The fields each scheme takes besides `type`. */
const SCHEME_FIELDS: Record<string, string[]> = {
  hmac: ['profile', 'signature_header', 'signature_prefix', 'timestamp_header', 'max_skew_seconds'],
  static_header: ['header'],
  bearer: ['signing_secret_ref'],
  path_token: [],
};

function schemeCauses(auth: Record<string, unknown>): Cause[] {
  const allowed = SCHEME_FIELDS[String(auth.type)] ?? [];
  const causes = Object.keys(auth)
    .filter((k) => k !== 'type' && !allowed.includes(k))
    .map((k) => ({ field: `spec.ingest_auth.${k}`, message: `is not used by ingest_auth.type ${String(auth.type)}` }));
  if (auth.type === 'static_header' && !auth.header) causes.push({ field: 'spec.ingest_auth.header', message: 'is required with ingest_auth.type static_header' });
  return causes;
}

/** Seed 000 names sources with underscores (shop_api); object names use hyphens. */
export const sourceName = (name: string): string => name.replace(/_/g, '-');

function validateInbound(w: Resource): Cause[] {
  const spec = w.spec as InboundWebhookSpec;
  const causes: Cause[] = schemeCauses(spec.ingest_auth as unknown as Record<string, unknown>);
  if (spec.source_binding && spec.field_mapping) causes.push({ field: 'spec.field_mapping', message: 'source_binding and field_mapping are mutually exclusive: use one' });
  if (spec.source_binding && spec.source_binding.collection !== spec.collection) {
    causes.push({ field: 'spec.source_binding.collection', message: `must be the webhook's collection "${spec.collection}"` });
  }
  const needsSecret = spec.ingest_auth.type === 'hmac' || spec.ingest_auth.type === 'static_header';
  if (needsSecret && !spec.secret_ref) causes.push({ field: 'spec.secret_ref', message: `is required with ingest_auth.type ${spec.ingest_auth.type}` });
  if (spec.payload.mode === 'raw' && (spec.field_mapping || spec.source_binding || spec.flatten)) {
    causes.push({ field: 'spec.payload.mode', message: 'raw bodies are stored as they are: no mapping, binding or flatten' });
  }
  return [...causes, ...hydrationCauses(spec), ...mappingCauses('spec.field_mapping', spec.field_mapping)];
}

/** Hydration fetches from the bound Source: it needs a binding, and stores JSON documents. */
function hydrationCauses(spec: InboundWebhookSpec): Cause[] {
  if (!spec.hydration) return [];
  const causes: Cause[] = [];
  if (!spec.source_binding) causes.push({ field: 'spec.hydration', message: 'needs spec.source_binding: the bound Source\'s read endpoint is what it fetches' });
  if (spec.payload.mode === 'raw') causes.push({ field: 'spec.payload.mode', message: 'hydration stores JSON documents: payload.mode must be json' });
  if (spec.flatten) causes.push({ field: 'spec.flatten', message: 'hydration stores the fetched record as the Source maps it: no flatten' });
  return causes;
}

/**
 * The bound Source, when it exists now, must serve the webhook's collection and, for
 * hydration, have a read endpoint (its reconciler checks again: the Source may change later).
 */
async function checkInboundRefs(w: Resource, get: (kind: string, name: string) => Promise<StoredResource | undefined>): Promise<Cause[]> {
  const spec = w.spec as InboundWebhookSpec;
  if (!spec.source_binding) return [];
  const name = sourceName(spec.source_binding.source);
  const src = (await get('Source', name))?.spec as unknown as SourceSpec | undefined;
  if (!src) return [];
  if (src.collection !== spec.collection) return [{ field: 'spec.source_binding.source', message: `source "${name}" is bound to collection "${src.collection}", not "${spec.collection}"` }];
  if (spec.hydration && !src.read) return [{ field: 'spec.hydration', message: `source "${name}" has no read endpoint (spec.read) to fetch records from` }];
  return [];
}

function refsOf(w: StoredResource): Ref[] {
  const spec = w.spec as InboundWebhookSpec;
  const refs: Ref[] = [{ kind: 'Collection', name: spec.collection }];
  if (spec.secret_ref) refs.push({ kind: 'Secret', name: spec.secret_ref });
  const generated = w.status.secretRef;
  if (typeof generated === 'string' && generated !== spec.secret_ref) refs.push({ kind: 'Secret', name: generated });
  if (spec.ingest_auth.type === 'bearer' && spec.ingest_auth.signing_secret_ref) refs.push({ kind: 'Secret', name: spec.ingest_auth.signing_secret_ref });
  if (spec.source_binding) refs.push({ kind: 'Source', name: sourceName(spec.source_binding.source) });
  return refs;
}

export const InboundWebhookKind: KindDef = {
  kind: 'InboundWebhook',
  plural: 'inbound-webhooks',
  singular: 'inbound-webhook',
  aliases: ['inboundwebhook', 'inboundwebhooks', 'iw'],
  namespaced: true,
  specSchema: {
    type: 'object',
    additionalProperties: false,
    required: ['collection'],
    properties: {
      collection: { type: 'string', minLength: 1, description: 'the Collection deliveries write documents to' },
      secret_ref: { type: 'string', minLength: 1, description: 'Secret whose keys verify deliveries (generated for bearer when empty)' },
      ingest_auth: ingestAuthSchema,
      id_field: { type: 'string', minLength: 1, pattern: '^[^.]+$', description: "payload field holding the item id (default: the collection's id_field)" },
      flatten: { type: 'boolean', default: false, description: 'store nested objects and arrays as JSON strings' },
      source_binding: {
        type: 'object',
        additionalProperties: false,
        required: ['collection', 'source'],
        properties: { collection: { type: 'string', minLength: 1 }, source: { type: 'string', minLength: 1 } },
      },
      field_mapping: fieldMappingSchema,
      hydration: hydrationSchema,
      idempotency: {
        type: 'object',
        additionalProperties: false,
        default: {},
        properties: {
          event_id_headers: { type: 'array', items: headerName, maxItems: 16, default: DEFAULT_EVENT_ID_HEADERS },
          dedupe_window_seconds: { type: 'integer', minimum: 1, maximum: 31536000, default: 86400 },
        },
      },
      payload: {
        type: 'object',
        additionalProperties: false,
        default: {},
        properties: { mode: { type: 'string', enum: ['json', 'raw'], default: 'json' } },
      },
      event_type_header: { ...headerName, default: 'X-Event-Type' },
      max_body_bytes: { type: 'integer', minimum: 1, maximum: 67108864, default: INBOUND_MAX_BODY_BYTES },
      suspend: { type: 'boolean', default: false },
    },
  },
  statusSchema: receiverStatusSchema({
    ingestURLs: { type: 'object', additionalProperties: { type: 'string' } },
    secretRef: { type: 'string' },
    lastItemID: { type: 'string' },
  }),
  normalizeSpec: (spec: Spec): Spec => {
    const s = spec as InboundWebhookSpec;
    return s.field_mapping ? { ...spec, field_mapping: normalizeMapping(s.field_mapping) } : spec;
  },
  validate: validateInbound,
  checkRefs: checkInboundRefs,
  refs: refsOf,
  server: () => import('../../receiver/kinds/inbound-webhook.js').then((m) => ({ receiver: m.inboundWebhookReceiver })),
  columns: receiverColumns([
    { name: 'COLLECTION', jsonPath: '.spec.collection' },
    { name: 'AUTH', jsonPath: '.spec.ingest_auth.type' },
  ]),
};
