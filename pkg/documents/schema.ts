import { createRequire } from 'node:module';
import type { Ajv, ErrorObject, ValidateFunction } from 'ajv';
import type { LRUCache } from 'lru-cache';
import type { Cause } from '../api/errors.js';

// Collection schemas are user input: compiled in their own instance (no shared $ids with
// the kinds' schemas), each once per collection generation. The instance is made on first
// use: the Collection kind imports this file, and orlojctl loads the kinds but compiles no
// schema (ajv alone takes about 40 ms to load; its cache's module, some more).
let instance: Ajv | undefined;
const ajv = (): Ajv =>
  (instance ??= new (createRequire(import.meta.url)('ajv') as typeof import('ajv')).Ajv({ allErrors: true, strict: false, addUsedSchema: false }));
let cache: LRUCache<string, ValidateFunction> | undefined;
const compiled = (): LRUCache<string, ValidateFunction> =>
  (cache ??= new (createRequire(import.meta.url)('lru-cache') as typeof import('lru-cache')).LRUCache<string, ValidateFunction>({ max: 10_000 }));

/** Why a collection schema cannot be compiled, or undefined. */
export function schemaProblem(schema: unknown): string | undefined {
  try {
    ajv().compile(schema as object);
    return undefined;
  } catch (e) {
    return (e as Error).message;
  }
}

/** The compiled validator of a collection, cached under `cacheKey` (uid and generation). */
export function documentValidator(cacheKey: string, schema: object): ValidateFunction {
  let v = compiled().get(cacheKey);
  if (!v) compiled().set(cacheKey, (v = ajv().compile(schema)));
  return v;
}

/** ajv errors as causes naming the document field, e.g. `data.severity`. */
export function documentCauses(errors: ErrorObject[] | null | undefined): Cause[] {
  return (errors ?? []).map((e) => {
    const base = `data${e.instancePath.replace(/\//g, '.')}`;
    if (e.keyword === 'required') return { field: `${base}.${String(e.params.missingProperty)}`, message: 'is required' };
    if (e.keyword === 'additionalProperties') return { field: `${base}.${String(e.params.additionalProperty)}`, message: 'is not allowed' };
    if (e.keyword === 'enum') return { field: base, message: `must be one of: ${(e.params.allowedValues as unknown[]).map(String).join(', ')}` };
    return { field: base, message: e.message ?? 'is invalid' };
  });
}
