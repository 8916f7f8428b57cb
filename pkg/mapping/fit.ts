// Whether the documents a field mapping writes on the way in (toNative) can pass the JSON
// Schema of the collection they go to: checked before a receiver is promoted, so a mapping
// that no longer fits fails the promotion instead of every delivery after it.
//
// Problem fields name the rule at fault, relative to the mapping, as compileMapping does:
//   to_external.<field>, to_native.<field>, compose.<field>, computed.<field>  a written field
//   value_maps.<field>.<native value>                                          one map entry
//   dates.<field>.native                                                       a date output
// and `schema.required.<field>` for a required field the mapping cannot produce.
//
// Only top-level `properties`, `patternProperties`, `additionalProperties` and `required`,
// and per field `type`, `enum`, `const` and `default`, are read; other keywords are ignored
// rather than guessed at. `format` is skipped too: the document validator has no format
// support and ignores it.

import type { MappingProblem } from './compile.js';
import type { FieldMappingSpec } from './schema.js';

type Schema = Record<string, unknown>;

/** What a rule writes into a field: its JSON type, and its value when that is known. */
interface Output {
  type: 'string' | 'number';
  value?: string;
}

interface Writer {
  rule: string;
  /** undefined for renames: the external value's type is not known before delivery. */
  output?: Output;
}

const isSchema = (v: unknown): v is Schema => v !== null && typeof v === 'object' && !Array.isArray(v);
const entries = <T>(v: Record<string, T> | undefined): Array<[string, T]> => (isSchema(v) ? Object.entries(v) : []);
const TEMPLATE_TOKEN = /\{[^{}]*\}/;

/** The native fields the mapping writes, by the rule that writes them (the last write wins, as in toNative). */
function writers(m: FieldMappingSpec): Map<string, Writer> {
  const out = new Map<string, Writer>();
  for (const [n] of entries(m.to_external)) out.set(n, { rule: `to_external.${n}` });
  for (const [n] of entries(m.to_native)) out.set(n, { rule: `to_native.${n}` });
  for (const [n] of entries(m.compose)) out.set(n, { rule: `compose.${n}`, output: { type: 'string' } });
  for (const [n, t] of entries(m.computed)) {
    // A template without placeholders is a constant, so its value is known.
    const constant = typeof t === 'string' && !TEMPLATE_TOKEN.test(t);
    out.set(n, { rule: `computed.${n}`, output: { type: 'string', ...(constant ? { value: t } : {}) } });
  }
  return out;
}

/** External paths toNative consumes: a top-level one of these never passes through. */
function consumed(m: FieldMappingSpec): Set<string> {
  const renames = [...entries(m.to_external), ...entries(m.to_native)].map(([, p]) => p);
  return new Set([...renames, ...entries(m.compose).flatMap(([, c]) => (Array.isArray(c?.from) ? c.from : []))]);
}

/** The subschemas that apply to top-level field `name`; `false` among them forbids it. */
function fieldSchemas(schema: Schema, name: string): unknown[] {
  const subs: unknown[] = [];
  if (isSchema(schema.properties) && Object.hasOwn(schema.properties, name)) subs.push(schema.properties[name]);
  for (const [pattern, sub] of entries(isSchema(schema.patternProperties) ? schema.patternProperties : undefined)) {
    try {
      if (new RegExp(pattern, 'u').test(name)) subs.push(sub);
    } catch {
      // ajv refuses such a schema at apply; nothing to match here.
    }
  }
  if (subs.length === 0 && schema.additionalProperties !== undefined) subs.push(schema.additionalProperties);
  return subs;
}

const list = (values: unknown[]): string => values.map((v) => JSON.stringify(v)).join(', ');

/** Why `out` cannot pass `sub`'s type, enum and const, or undefined. */
function misfit(out: Output, sub: unknown): string | undefined {
  if (!isSchema(sub)) return undefined;
  const types = (Array.isArray(sub.type) ? sub.type : [sub.type]).filter((t): t is string => typeof t === 'string');
  const typeOk = out.type === 'string' ? types.includes('string') : types.includes('number') || types.includes('integer');
  if (types.length && !typeOk) return `writes a ${out.type}, but the collection schema wants ${types.join(' or ')}`;
  const allowed = Object.hasOwn(sub, 'const') ? [sub.const] : Array.isArray(sub.enum) ? sub.enum : undefined;
  if (!allowed) return undefined;
  if (out.value === undefined) return `writes a ${out.type} that cannot be known to be one of ${list(allowed)}`;
  return allowed.includes(out.value) ? undefined : `writes ${JSON.stringify(out.value)}, which is not one of ${list(allowed)}`;
}

/** The problems of fitting `mapping`'s inbound output into documents of `schema`; empty when it fits. */
export function mappingFitProblems(mapping: FieldMappingSpec | undefined, schema: Record<string, unknown> | undefined): MappingProblem[] {
  // Without a mapping deliveries are stored as sent: nothing here decides what they hold.
  if (!mapping || !isSchema(schema)) return [];
  const written = writers(mapping);
  const renamed = new Set([...entries(mapping.to_external), ...entries(mapping.to_native)].map(([n]) => n));
  const used = consumed(mapping);
  const keep = mapping.unmapped !== 'drop';
  // An external field of the same name that no rule writes or consumes is kept as it is.
  const passesThrough = (n: string): boolean => keep && !written.has(n) && !used.has(n);
  // Value maps and dates transform renamed and passed-through fields only, never composed ones.
  const transformed = (n: string): boolean => renamed.has(n) || passesThrough(n);
  const problems: MappingProblem[] = [];

  for (const [n, w] of written) {
    const subs = fieldSchemas(schema, n);
    if (subs.includes(false)) problems.push({ field: w.rule, message: `writes "${n}", which the collection schema does not allow` });
    else if (w.output) pushMisfit(problems, w.rule, w.output, subs);
  }
  for (const [n, map] of entries(mapping.value_maps)) {
    // With a date rule too, the date rule's output is what gets stored.
    if (!transformed(n) || Object.hasOwn(mapping.dates ?? {}, n)) continue;
    const subs = fieldSchemas(schema, n);
    // Value maps write the native value as the string it is keyed by.
    for (const [v] of entries(map)) pushMisfit(problems, `value_maps.${n}.${v}`, { type: 'string', value: v }, subs);
  }
  for (const [n, rule] of entries(mapping.dates)) {
    if (!transformed(n)) continue;
    const native = rule?.native ?? 'rfc3339';
    pushMisfit(problems, `dates.${n}.native`, { type: native === 'unix' || native === 'unix_ms' ? 'number' : 'string' }, fieldSchemas(schema, n));
  }
  for (const n of Array.isArray(schema.required) ? schema.required : []) {
    if (typeof n !== 'string' || written.has(n) || passesThrough(n) || hasDefault(schema, n)) continue;
    const why = keep ? `its external field is consumed by another rule` : 'unmapped is drop';
    problems.push({ field: `schema.required.${n}`, message: `is required by the collection schema, but no rule writes it and ${why}` });
  }
  return problems;
}

function pushMisfit(problems: MappingProblem[], field: string, out: Output, subs: unknown[]): void {
  const why = subs.map((sub) => misfit(out, sub)).find((w) => w !== undefined);
  if (why) problems.push({ field, message: why });
}

function hasDefault(schema: Schema, name: string): boolean {
  const sub = isSchema(schema.properties) && Object.hasOwn(schema.properties, name) ? schema.properties[name] : undefined;
  return isSchema(sub) && Object.hasOwn(sub, 'default');
}
