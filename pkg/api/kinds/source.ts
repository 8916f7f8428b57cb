import type { Cause } from '../errors.js';
import type { KindDef, Ref } from '../kind.js';
import type { Resource, Spec, StoredResource } from '../types.js';
import { conditionsSchema } from '../conditions-schema.js';
import { fieldMappingSchema, mappingProblems, type FieldMappingSpec } from '../../mapping/index.js';
import { destinationPolicy } from '../../outbound/policy.js';

export interface SecretValueRef {
  secret_ref: string;
  key: string;
  prefix?: string;
}

export interface SourceSpec {
  collection: string;
  read?: { url: string; method: string; headers?: Record<string, string | SecretValueRef>; timeout_seconds: number };
  write?: { url: string; method: string; id_path?: string };
  field_mapping?: FieldMappingSpec;
}

const headerValue = {
  oneOf: [
    { type: 'string' },
    {
      type: 'object',
      additionalProperties: false,
      required: ['secret_ref', 'key'],
      properties: { secret_ref: { type: 'string', minLength: 1 }, key: { type: 'string', minLength: 1 }, prefix: { type: 'string' } },
    },
  ],
};

const httpUrl = { type: 'string', pattern: '^https?://', maxLength: 2048 };

/** Mapping problems with the spec path, e.g. `spec.field_mapping.to_external.b`. */
export function mappingCauses(prefix: string, mapping: FieldMappingSpec | undefined): Cause[] {
  return mapping ? mappingProblems(mapping).map((p) => ({ field: `${prefix}.${p.field}`, message: p.message })) : [];
}

function validateSource(s: Resource): Cause[] {
  const spec = s.spec as unknown as SourceSpec;
  const causes = mappingCauses('spec.field_mapping', spec.field_mapping);
  for (const [side, url] of [['read', spec.read?.url], ['write', spec.write?.url]] as const) {
    if (url !== undefined && !URL.canParse(url.replaceAll('{id}', 'x'))) causes.push({ field: `spec.${side}.url`, message: 'is not a URL' });
  }
  if (spec.read && !spec.read.url.includes('{id}')) causes.push({ field: 'spec.read.url', message: 'must contain {id}, where the record id goes' });
  for (const [side, url] of [['read', spec.read?.url], ['write', spec.write?.url]] as const) {
    const refused = url !== undefined && URL.canParse(url.replaceAll('{id}', 'x')) ? destinationPolicy().literalProblem(url.replaceAll('{id}', 'x')) : undefined;
    if (refused) causes.push({ field: `spec.${side}.url`, message: refused, reason: 'DestinationNotAllowed' });
  }
  return causes;
}

/** The Secrets a source's read headers take values from. */
export function sourceSecretRefs(spec: SourceSpec): SecretValueRef[] {
  return Object.values(spec.read?.headers ?? {}).filter((v): v is SecretValueRef => typeof v === 'object');
}

/** `to_rekor` is the seed's spelling of `to_native`. */
export function normalizeMapping(mapping: (FieldMappingSpec & { to_rekor?: Record<string, string> }) | undefined): FieldMappingSpec | undefined {
  if (!mapping?.to_rekor) return mapping;
  const { to_rekor, ...rest } = mapping;
  return { ...rest, to_native: { ...to_rekor, ...rest.to_native } };
}

export const SourceKind: KindDef = {
  kind: 'Source',
  plural: 'sources',
  singular: 'source',
  aliases: ['src'],
  namespaced: true,
  specSchema: {
    type: 'object',
    additionalProperties: false,
    required: ['collection'],
    properties: {
      collection: { type: 'string', minLength: 1, description: 'the Collection this source is bound to' },
      read: {
        type: 'object',
        additionalProperties: false,
        required: ['url'],
        properties: {
          url: { ...httpUrl, description: 'record URL with {id}' },
          method: { type: 'string', enum: ['GET', 'POST'], default: 'GET' },
          headers: { type: 'object', additionalProperties: headerValue },
          timeout_seconds: { type: 'integer', minimum: 1, maximum: 120, default: 10 },
        },
      },
      write: {
        type: 'object',
        additionalProperties: false,
        required: ['url'],
        properties: {
          url: { ...httpUrl, description: 'record URL; {id} is the document\'s externalId, or its id' },
          method: { type: 'string', enum: ['POST', 'PUT', 'PATCH'], default: 'POST' },
          id_path: { type: 'string', minLength: 1, maxLength: 256, description: 'where a 2xx JSON answer carries the upstream id (stored as externalId)' },
        },
      },
      field_mapping: fieldMappingSchema,
    },
  },
  statusSchema: { type: 'object', properties: { observedGeneration: { type: 'integer' }, conditions: conditionsSchema } },
  columns: [
    { name: 'COLLECTION', jsonPath: '.spec.collection' },
    { name: 'READ', jsonPath: '.spec.read.url', wide: true },
    { name: 'READY', jsonPath: '.status.conditions[?(@.type=="Ready")].status' },
  ],
  normalizeSpec: (spec: Spec): Spec => {
    const s = spec as unknown as SourceSpec;
    return s.field_mapping ? ({ ...spec, field_mapping: normalizeMapping(s.field_mapping) } as Spec) : spec;
  },
  validate: validateSource,
  refs: (o: StoredResource): Ref[] => {
    const spec = o.spec as unknown as SourceSpec;
    return [{ kind: 'Collection', name: spec.collection }, ...sourceSecretRefs(spec).map((r) => ({ kind: 'Secret', name: r.secret_ref }))];
  },
  server: () => import('../../controller/reconcilers/source.js').then((m) => ({ reconciler: m.sourceReconciler })),
};
