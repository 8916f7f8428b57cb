import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { ApiError, type Cause } from './errors.js';
import type { JSONSchema, KindDef } from './kind.js';
import { DEFAULT_NAMESPACE, nameProblem, stringMapProblems } from './meta.js';
import { kindNamed, unknownKind } from './registry.js';
import { API_VERSION, type ObjectMeta, type Resource, type Spec } from './types.js';

const ajv = new Ajv({ allErrors: true, useDefaults: true, strict: false });
const compiled = new Map<string, ValidateFunction>();

function validatorFor(def: KindDef): ValidateFunction {
  let v = compiled.get(def.kind);
  if (!v) compiled.set(def.kind, (v = ajv.compile(def.specSchema)));
  return v;
}

const snake = (s: string): string => s.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

/**
 * camelCase spellings are accepted for declared snake_case properties (SPEC §2);
 * free-form sub-objects (no declared properties) are left exactly as given.
 */
export function snakeCaseKeys(schema: JSONSchema, value: unknown, path: string, causes: Cause[]): unknown {
  const props = schema.properties as Record<string, JSONSchema> | undefined;
  if (!props || value === null || typeof value !== 'object' || Array.isArray(value)) return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    // Assigning it would set the prototype, and ajv would see inherited fields.
    if (k === '__proto__') {
      causes.push({ field: `${path}.${k}`, message: 'key not allowed' });
      continue;
    }
    const target = !Object.hasOwn(props, k) && Object.hasOwn(props, snake(k)) ? snake(k) : k;
    if (target !== k && target in (value as object)) {
      causes.push({ field: `${path}.${k}`, message: `duplicates ${path}.${target}` });
      continue;
    }
    out[target] = Object.hasOwn(props, target) ? snakeCaseKeys(props[target]!, v, `${path}.${target}`, causes) : v;
  }
  return out;
}

function ajvCause(e: ErrorObject): Cause {
  const base = `spec${e.instancePath.replace(/\//g, '.')}`;
  if (e.keyword === 'additionalProperties') {
    return { field: `${base}.${String(e.params.additionalProperty)}`, message: 'unknown field' };
  }
  if (e.keyword === 'required') return { field: `${base}.${String(e.params.missingProperty)}`, message: 'is required' };
  if (e.keyword === 'enum') {
    return { field: base, message: `must be one of: ${(e.params.allowedValues as unknown[]).join(', ')}` };
  }
  return { field: base, message: e.message ?? 'is invalid' };
}

export function invalid(kind: string, name: string, causes: Cause[]): ApiError {
  const summary = causes.map((c) => (c.field ? `${c.field}: ${c.message}` : c.message)).join('; ');
  return new ApiError('Invalid', `${kind} "${name}" is invalid: ${summary}`, { kind, name, causes });
}

function checkMeta(def: KindDef, meta: Partial<ObjectMeta>): Cause[] {
  const causes: Cause[] = [];
  const np = nameProblem(meta.name);
  if (np) causes.push({ field: 'metadata.name', message: np });
  if (def.namespaced && meta.namespace !== undefined) {
    const nsp = nameProblem(meta.namespace);
    if (nsp) causes.push({ field: 'metadata.namespace', message: nsp });
  }
  causes.push(...stringMapProblems('metadata.labels', meta.labels, true));
  causes.push(...stringMapProblems('metadata.annotations', meta.annotations, false));
  return causes;
}

/** The kind a body's `kind:` field names exactly, or a 400 that says which one it may mean. */
export function requireKind(kind: unknown): KindDef {
  if (typeof kind !== 'string' || !kind) throw new ApiError('BadRequest', 'kind is required');
  const def = kindNamed(kind);
  if (!def) throw new ApiError('BadRequest', unknownKind(kind));
  return def;
}

/**
 * Turns untrusted input (parsed YAML or JSON) into a resource with defaults applied,
 * or throws an ApiError naming every bad field. Status in the input is dropped: it is
 * written only through the status subresource.
 */
export function validateResource(input: unknown, defaultNamespace = DEFAULT_NAMESPACE): { def: KindDef; obj: Resource } {
  if (input === null || typeof input !== 'object' || Array.isArray(input)) {
    throw new ApiError('BadRequest', 'a resource must be an object with apiVersion, kind, metadata and spec');
  }
  const raw = input as Record<string, unknown>;
  const def = requireKind(raw.kind);
  const meta = (raw.metadata ?? {}) as Partial<ObjectMeta>;
  const name = typeof meta.name === 'string' ? meta.name : '';
  const causes: Cause[] = [];
  if (raw.apiVersion !== undefined && raw.apiVersion !== API_VERSION) {
    causes.push({ field: 'apiVersion', message: `must be ${API_VERSION}` });
  }
  if (typeof raw.metadata !== 'object' || raw.metadata === null) causes.push({ field: 'metadata', message: 'is required' });
  else causes.push(...checkMeta(def, meta));
  const rawSpec = raw.spec ?? {};
  if (typeof rawSpec !== 'object' || rawSpec === null || Array.isArray(rawSpec)) causes.push({ field: 'spec', message: 'must be an object' });
  if (causes.length) throw invalid(def.kind, name, causes);

  const spec = snakeCaseKeys(def.specSchema, structuredClone(rawSpec), 'spec', causes) as Spec;
  const validate = validatorFor(def);
  if (!validate(spec)) causes.push(...(validate.errors ?? []).map(ajvCause));
  if (causes.length) throw invalid(def.kind, name, causes);

  const metadata: ObjectMeta = { name };
  if (def.namespaced) metadata.namespace = meta.namespace ?? defaultNamespace;
  if (meta.labels && Object.keys(meta.labels).length) metadata.labels = { ...meta.labels };
  if (meta.annotations && Object.keys(meta.annotations).length) metadata.annotations = { ...meta.annotations };
  if (meta.resourceVersion !== undefined) metadata.resourceVersion = String(meta.resourceVersion);
  const obj: Resource = { apiVersion: API_VERSION, kind: def.kind, metadata, spec: def.normalizeSpec ? def.normalizeSpec(spec) : spec };
  // What a schema cannot say (cross-field rules), the kind checks itself.
  const more = def.validate?.(obj) ?? [];
  if (more.length) throw invalid(def.kind, name, more);
  return { def, obj };
}
