// Odd values a client may send: strings, names, numbers, selectors, and JSON text that
// JSON.stringify cannot produce (1e400, deep nesting), kept as Raw until serialized.
import { stringify as toYamlText } from 'yaml';
import type { Rng } from './prng.js';

/** JSON text put into a body verbatim. */
export class Raw {
  constructor(readonly text: string) {}
}

export const ODD_STRINGS: readonly string[] = [
  '', ' ', 'ünïcödé', '日本語', '🦀', '\u0000', '\u0007', '\ud800', '\u202e', 'a\nb', '../..', '%2F', '${x}', '<script>',
  'null', 'true', '0', '-1', '1e400', 'NaN', 'x'.repeat(64), 'x'.repeat(300), 'x'.repeat(10_000), 'UPPER', '__proto__',
  'constructor', 'a=b', 'a,b', '(a)', '!a', '*', '\\', '"', "'",
];

/** Object names: ordinary ones (a small pool, so writes update as often as they create) and odd ones. */
export const NAMES: readonly string[] = ['a', 'b', 'fuzz-1', 'fuzz-2', 'x'.repeat(63)];
export const ODD_NAMES: readonly string[] = [
  '', 'x'.repeat(64), 'x'.repeat(5000), 'UPPER', 'Mixed-Case', 'ünï', '%C3%BC', '..', '.', '%2E%2E', '%2F', 'a%2Fb', '%00', '%',
  '%zz', '%FF', '%C0%AF', '-a', 'a-', 'a_b', 'a.b', '*', '~', "'", '"', 'a;b', 'a?b', 'status', 'rotate-endpoint', '%20', '+',
];

export const NUMBERS: readonly string[] = ['NaN', 'Infinity', '-Infinity', '-1', '0', '1', '1e22', '1.5', '0x10', '1_000', ' 5', '', '9'.repeat(400), '-0', '+1'];

export function name(rng: Rng): string {
  return rng.bool(0.7) ? rng.pick(NAMES) : rng.pick(ODD_NAMES);
}

/** A name as a URL path segment: mostly escaped, sometimes as raw bytes (odd ones and all). */
export function nameSegment(rng: Rng): string {
  const n = name(rng);
  if (n.includes('%')) return n; // an escape already, broken or not: that is the point
  if (rng.bool(0.8)) return escape(n);
  // UTF-8 as it goes on the wire; only what would end the path is escaped.
  return Buffer.from(n.replace(/[\s?#]/g, escape), 'utf8').toString('latin1');
}

/** Percent-encodes the UTF-8 of `s` (a lone surrogate too, where encodeURIComponent throws). */
export function escape(s: string): string {
  let out = '';
  for (const b of Buffer.from(s, 'utf8')) out += /[A-Za-z0-9\-_.~]/.test(String.fromCharCode(b)) ? String.fromCharCode(b) : `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
  return out;
}

export function oddString(rng: Rng): string {
  return rng.pick(ODD_STRINGS);
}

/** A label selector: well-formed requirements, broken ones, or too many. */
export function selector(rng: Rng): string {
  const key = (): string => rng.pick(['app', 'tier', 'orloj.dev/task-webhook', 'orloj.dev/webhook-event-id', 'a/b/c', 'x'.repeat(70), oddString(rng)]);
  const req = (): string =>
    rng.oneOf([
      () => `${key()}=${rng.pick(['web', '', oddString(rng)])}`,
      () => `${key()}!=${rng.pick(['web', ''])}`,
      () => `${key()}==x`,
      () => `${key()} in (${Array.from({ length: rng.range(0, 12) }, () => rng.pick(['a', 'b', ''])).join(',')})`,
      () => `${key()} notin (a`,
      () => `!${key()}`,
      () => key(),
      () => oddString(rng),
    ]);
  return Array.from({ length: rng.bool(0.1) ? rng.range(30, 300) : rng.range(1, 4) }, req).join(rng.pick([',', ', ', ',,']));
}

/** JSON text of a value, Raw pieces verbatim; keys are written as given (`__proto__` too). */
export function toJson(v: unknown): string {
  if (v instanceof Raw) return v.text;
  if (Array.isArray(v)) return `[${v.map(toJson).join(',')}]`;
  if (v !== null && typeof v === 'object') {
    return `{${Object.entries(v).map(([k, x]) => `${JSON.stringify(k)}:${toJson(x)}`).join(',')}}`;
  }
  return JSON.stringify(v) ?? 'null';
}

/** YAML text of a value; Raw pieces become plain scalars. */
export function toYaml(v: unknown): string {
  const raws: string[] = [];
  const swap = (x: unknown): unknown => {
    if (x instanceof Raw) return `@@raw${raws.push(x.text) - 1}@@`;
    if (Array.isArray(x)) return x.map(swap);
    if (x !== null && typeof x === 'object') return Object.fromEntries(Object.entries(x).map(([k, y]) => [k, swap(y)]));
    return x;
  };
  return toYamlText(swap(v), { lineWidth: 0 }).replace(/['"]?@@raw(\d+)@@['"]?/g, (_, i: string) => raws[Number(i)]!);
}

/** Sets `obj[path]` (creating objects on the way) with defineProperty, so `__proto__` is a plain key. */
export function setPath(obj: Record<string, unknown>, path: readonly string[], value: unknown): void {
  let at = obj;
  for (const k of path.slice(0, -1)) {
    const next = at[k];
    if (next === null || typeof next !== 'object' || Array.isArray(next)) Object.defineProperty(at, k, { value: {}, enumerable: true, writable: true, configurable: true });
    at = at[k] as Record<string, unknown>;
  }
  Object.defineProperty(at, path[path.length - 1]!, { value, enumerable: true, writable: true, configurable: true });
}

export function deletePath(obj: Record<string, unknown>, path: readonly string[]): void {
  let at: unknown = obj;
  for (const k of path.slice(0, -1)) at = (at as Record<string, unknown> | undefined)?.[k];
  if (at && typeof at === 'object') delete (at as Record<string, unknown>)[path[path.length - 1]!];
}

/** `[[[...]]]` or `{"a":{"a":...}}`, `depth` levels. */
export function nested(depth: number, objects: boolean): Raw {
  return new Raw(objects ? `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}` : `${'['.repeat(depth)}${']'.repeat(depth)}`);
}
