// One mapping, both directions: `toNative` canonicalises an external record (inbound
// deliveries, hydration), `toExternal` shapes a document for an upstream (external-write
// triggers). Compiled once per spec; every rule between fields is checked here.

import { formatDate, formatProblem, parseDate } from './dates.js';
import { cloneJson, deletePath, getPath, pathProblem, put, setPath, type Json, type JsonObject } from './paths.js';
import type { FieldMappingSpec, Scalar } from './schema.js';

export interface MappingProblem {
  /** Relative to the mapping, e.g. `to_external.status`. */
  field: string;
  message: string;
}

export class MappingError extends Error {
  constructor(readonly problems: MappingProblem[]) {
    super(problems.map((p) => `${p.field}: ${p.message}`).join('; '));
  }
}

export interface Mapping {
  toNative(external: JsonObject): JsonObject;
  toExternal(native: JsonObject): JsonObject;
}

interface Rules {
  /** native field ← external path (inbound renames). */
  inbound: Map<string, string>;
  /** native field → external path (outbound renames). */
  outbound: Map<string, string>;
  valueMaps: Map<string, { out: Map<string, Scalar>; in: Map<string, string> }>;
  dates: Map<string, { external: string; native: string }>;
  compose: Map<string, { from: string[]; separator: string }>;
  computed: Map<string, { template: string; paths: string[] }>;
  keep: boolean;
}

const TEMPLATE_TOKEN = /\{([^{}]*)\}/g;
const scalarKey = (v: Json): string | undefined => (v === null || typeof v !== 'object' ? JSON.stringify(v) : undefined);

/** Compiles a mapping, or throws a MappingError naming every field at fault. */
export function compileMapping(spec: FieldMappingSpec): Mapping {
  const problems: MappingProblem[] = [];
  const rules = checkRules(spec, problems);
  if (problems.length) throw new MappingError(problems);
  return { toNative: (e) => toNative(rules, e), toExternal: (n) => toExternal(rules, n) };
}

/** The problems of a mapping, for admission (empty when it compiles). */
export function mappingProblems(spec: FieldMappingSpec): MappingProblem[] {
  const problems: MappingProblem[] = [];
  checkRules(spec, problems);
  return problems;
}

function checkRules(spec: FieldMappingSpec, problems: MappingProblem[]): Rules {
  const nativeName = (section: string, n: string): boolean => {
    const p = n.includes('.') ? 'native fields are top-level names' : pathProblem(n);
    if (p) problems.push({ field: `${section}.${n}`, message: p });
    return !p;
  };
  const externalPath = (field: string, path: string): boolean => {
    const p = pathProblem(path);
    if (p) problems.push({ field, message: p });
    return !p;
  };
  const rules: Rules = {
    inbound: new Map(),
    outbound: new Map(),
    valueMaps: new Map(),
    dates: new Map(),
    compose: new Map(),
    computed: new Map(),
    keep: spec.unmapped !== 'drop',
  };
  for (const [n, p] of Object.entries(spec.to_external ?? {})) {
    if (!nativeName('to_external', n) || !externalPath(`to_external.${n}`, p)) continue;
    rules.outbound.set(n, p);
    rules.inbound.set(n, p);
  }
  for (const [n, p] of Object.entries(spec.to_native ?? {})) {
    if (!nativeName('to_native', n) || !externalPath(`to_native.${n}`, p)) continue;
    rules.inbound.set(n, p);
    if (!rules.outbound.has(n)) rules.outbound.set(n, p);
  }
  checkTargets(rules.outbound, spec, problems);
  for (const [n, rule] of Object.entries(spec.compose ?? {})) {
    if (!nativeName('compose', n)) continue;
    if (rules.inbound.has(n)) problems.push({ field: `compose.${n}`, message: `"${n}" is both renamed and composed` });
    rule.from.forEach((p, i) => externalPath(`compose.${n}.from[${i}]`, p));
    rules.compose.set(n, { from: rule.from, separator: rule.separator ?? ' ' });
  }
  for (const [n, template] of Object.entries(spec.computed ?? {})) {
    if (!nativeName('computed', n)) continue;
    if (rules.inbound.has(n) || rules.compose.has(n)) problems.push({ field: `computed.${n}`, message: `"${n}" is also renamed or composed` });
    rules.computed.set(n, { template, paths: templatePaths(template, `computed.${n}`, problems) });
  }
  for (const [n, map] of Object.entries(spec.value_maps ?? {})) {
    if (nativeName('value_maps', n)) rules.valueMaps.set(n, invertValueMap(map, `value_maps.${n}`, problems));
  }
  for (const [n, rule] of Object.entries(spec.dates ?? {})) {
    if (!nativeName('dates', n)) continue;
    const native = rule.native ?? 'rfc3339';
    for (const [side, f] of [['external', rule.external], ['native', native]] as const) {
      const p = formatProblem(f);
      if (p) problems.push({ field: `dates.${n}.${side}`, message: p });
    }
    rules.dates.set(n, { external: rule.external, native });
  }
  return rules;
}

/** Two native fields written to one external path (or one inside another) cannot be inverted. */
function checkTargets(outbound: Map<string, string>, spec: FieldMappingSpec, problems: MappingProblem[]): void {
  const seen = new Map<string, string>();
  const section = (n: string): string => (spec.to_external && Object.hasOwn(spec.to_external, n) ? 'to_external' : 'to_native');
  for (const [n, p] of outbound) {
    for (const [q, other] of seen) {
      if (q === p || q.startsWith(`${p}.`) || p.startsWith(`${q}.`)) {
        problems.push({ field: `${section(n)}.${n}`, message: `"${n}" and "${other}" are both renamed onto "${q === p ? p : q.length < p.length ? q : p}"` });
      }
    }
    seen.set(p, n);
  }
}

function templatePaths(template: string, field: string, problems: MappingProblem[]): string[] {
  const stripped = template.replace(TEMPLATE_TOKEN, '');
  if (stripped.includes('{') || stripped.includes('}')) problems.push({ field, message: 'has an unbalanced brace' });
  const paths = [...template.matchAll(TEMPLATE_TOKEN)].map((m) => m[1]!);
  paths.forEach((p) => {
    const why = pathProblem(p);
    if (why) problems.push({ field, message: why });
  });
  return paths;
}

function invertValueMap(map: Record<string, Scalar>, field: string, problems: MappingProblem[]) {
  const out = new Map<string, Scalar>();
  const back = new Map<string, string>();
  for (const [nativeValue, externalValue] of Object.entries(map)) {
    const k = JSON.stringify(externalValue);
    const clash = back.get(k);
    if (clash !== undefined) problems.push({ field, message: `"${clash}" and "${nativeValue}" both map to ${k}: the map cannot be inverted` });
    back.set(k, nativeValue);
    out.set(nativeValue, externalValue);
  }
  return { out, in: back };
}

/** Reformats a date field from one side's format to the other's. */
function redate(rules: Rules, n: string, v: Json, from: 'external' | 'native'): Json {
  const rule = rules.dates.get(n);
  if (!rule) return v;
  const ms = parseDate(rule[from], v);
  if (ms === undefined) throw new MappingError([{ field: n, message: `${JSON.stringify(v)} is not a date in ${rule[from]}` }]);
  return formatDate(from === 'external' ? rule.native : rule.external, ms);
}

const dateIn = (rules: Rules, n: string, v: Json): Json => redate(rules, n, v, 'external');
const dateOut = (rules: Rules, n: string, v: Json): Json => redate(rules, n, v, 'native');

/** Values a map does not name pass through unchanged. */
function valueIn(rules: Rules, n: string, v: Json): Json {
  const k = scalarKey(v);
  const native = k === undefined ? undefined : rules.valueMaps.get(n)?.in.get(k);
  return native ?? v;
}

function valueOut(rules: Rules, n: string, v: Json): Json {
  const map = rules.valueMaps.get(n)?.out;
  const key = v === null || typeof v !== 'object' ? String(v) : undefined;
  return key !== undefined && map?.has(key) ? map.get(key)! : v;
}

const text = (v: Json | undefined): string => (v === undefined || v === null ? '' : typeof v === 'string' ? v : JSON.stringify(v));

function toNative(rules: Rules, external: JsonObject): JsonObject {
  const out: JsonObject = {};
  const rest = rules.keep ? cloneJson(external) : {};
  const consume = (p: string): Json | undefined => {
    const v = getPath(external, p);
    if (rules.keep) deletePath(rest, p);
    return v;
  };
  for (const [n, p] of rules.inbound) {
    const v = consume(p);
    if (v !== undefined) put(out, n, dateIn(rules, n, valueIn(rules, n, v)));
  }
  for (const [n, { from, separator }] of rules.compose) {
    const parts = from.map(consume).filter((v) => v !== undefined && v !== null && v !== '');
    if (parts.length) put(out, n, parts.map(text).join(separator));
  }
  // Computed fields read the record but consume nothing: their inputs stay where they are.
  for (const [n, { template }] of rules.computed) {
    put(out, n, template.replace(TEMPLATE_TOKEN, (_, p: string) => text(getPath(external, p))));
  }
  for (const k of Object.keys(rest)) {
    if (!Object.hasOwn(out, k)) put(out, k, dateIn(rules, k, valueIn(rules, k, rest[k]!)));
  }
  return out;
}

function toExternal(rules: Rules, native: JsonObject): JsonObject {
  const out: JsonObject = {};
  const derived = (k: string): boolean => rules.compose.has(k) || rules.computed.has(k);
  for (const [n, p] of rules.outbound) {
    if (Object.hasOwn(native, n)) setPath(out, p, valueOut(rules, n, dateOut(rules, n, native[n]!)));
  }
  if (!rules.keep) return out;
  for (const k of Object.keys(native)) {
    if (rules.outbound.has(k) || derived(k) || getPath(out, k) !== undefined) continue;
    put(out, k, valueOut(rules, k, dateOut(rules, k, native[k]!)));
  }
  return out;
}
