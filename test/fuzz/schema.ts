// What the fuzzer knows of each kind comes from its JSON schema in the registry: a new kind,
// or a new field, is fuzzed without touching this suite.
import type { JSONSchema, KindDef } from '../../pkg/api/kind.js';
import type { Rng } from './prng.js';
import { ODD_STRINGS, Raw, nested } from './values.js';

export interface Field {
  /** From the resource's top: `['spec', 'auth', 'profile']`. */
  path: string[];
  schema: JSONSchema;
}

const props = (s: JSONSchema): Record<string, JSONSchema> => (s.properties ?? {}) as Record<string, JSONSchema>;

/** Every declared property of a schema, nested ones too. */
export function fieldsOf(schema: JSONSchema, path: string[]): Field[] {
  return Object.entries(props(schema)).flatMap(([k, s]) => [{ path: [...path, k], schema: s }, ...fieldsOf(s, [...path, k])]);
}

/** What metadata holds, as a schema, so its fields are fuzzed like a spec's. */
const METADATA: JSONSchema = {
  type: 'object',
  properties: {
    name: { type: 'string' },
    namespace: { type: 'string' },
    labels: { type: 'object', additionalProperties: { type: 'string' } },
    annotations: { type: 'object', additionalProperties: { type: 'string' } },
    resourceVersion: { type: 'string' },
    uid: { type: 'string' },
    generation: { type: 'integer' },
  },
};

/** Every field of a kind a body can carry: apiVersion, kind, metadata, spec and status. */
export function kindFields(def: KindDef): Field[] {
  const top: JSONSchema = {
    type: 'object',
    properties: { apiVersion: { type: 'string' }, kind: { type: 'string' }, metadata: METADATA, spec: def.specSchema, ...(def.statusSchema ? { status: def.statusSchema } : {}) },
  };
  return fieldsOf(top, []);
}

/** A value the schema takes: its first enum value, else the least of its type; required properties filled in. */
export function validValue(schema: JSONSchema): unknown {
  if (Array.isArray(schema.enum)) return schema.enum[0];
  switch (schema.type) {
    case 'integer':
    case 'number':
      return typeof schema.minimum === 'number' ? schema.minimum : 1;
    case 'boolean':
      return false;
    case 'array':
      return [];
    case 'object':
      return Object.fromEntries(((schema.required ?? []) as string[]).map((k) => [k, validValue(props(schema)[k] ?? {})]));
    default:
      return 'x';
  }
}

/** A well-formed object of the kind, to be mutated. */
export function validObject(def: KindDef, name: string): Record<string, unknown> {
  return { apiVersion: 'orloj.dev/v1', kind: def.kind, metadata: { name }, spec: validValue(def.specSchema) };
}

/** Values of every JSON type and some no serializer writes, for any field; made anew each time, as cases mutate them. */
const anyWrong = (): unknown[] => [
  null, true, 0, -1, 'x', [], {}, [{}], { x: 'y' }, new Raw('1e400'), new Raw('-0'), 2 ** 64, nested(70, true), 'x'.repeat(70_000),
];

/** Values for this field that its schema refuses (and odd ones of the right type). */
export function wrongValues(schema: JSONSchema): unknown[] {
  const max = typeof schema.maximum === 'number' ? schema.maximum + 1 : 2 ** 53;
  const typed: Record<string, unknown[]> = {
    string: [...ODD_STRINGS, 12, ['x']],
    integer: ['1', 1.5, 0, max, new Raw('1e-400'), -(2 ** 63)],
    boolean: ['true', 'false', 1],
    object: ['x', [], { constructor: { prototype: 1 } }],
  };
  const first = Array.isArray(schema.enum) ? String((schema.enum as unknown[])[0]) : undefined;
  const en = first === undefined ? [] : [first.toUpperCase(), ` ${first}`];
  return [...(typed[String(schema.type)] ?? []), ...en, ...anyWrong()];
}

export function wrongValue(rng: Rng, schema: JSONSchema): unknown {
  return rng.pick(wrongValues(schema));
}

/** Paths of the objects a body holds (where unknown and odd keys can go). */
export function containers(def: KindDef): string[][] {
  return [[], ...kindFields(def).filter((f) => f.schema.type === 'object').map((f) => f.path)];
}
