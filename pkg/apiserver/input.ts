// Limits on what a client may send, checked before anything looks inside it: a parsed body
// that is too deep, too big in elements, circular (a YAML alias of itself) or carries a
// `__proto__` key is refused with a clear answer instead of overflowing the stack or
// reaching the prototype chain; query parameters are single and bounded.
import { ApiError } from '../api/errors.js';

export const MAX_DEPTH = 64;
export const MAX_ELEMENTS = 100_000;
/** Keys that would reach an object's prototype when assigned. */
const FORBIDDEN_KEYS = new Set(['__proto__']);

export const tooDeep = (): ApiError => new ApiError('BadRequest', `the body is nested deeper than ${MAX_DEPTH} levels`);
export const tooManyElements = (): ApiError => new ApiError('BadRequest', `the body has more than ${MAX_ELEMENTS} elements`);

/** Walks a parsed body without recursion; throws a 400 or 422 naming the first problem. */
export function checkInput(value: unknown): void {
  const stack: Array<{ v: unknown; depth: number; path: string }> = [{ v: value, depth: 0, path: '' }];
  const seen = new Set<object>();
  let elements = 0;
  while (stack.length) {
    const { v, depth, path } = stack.pop()!;
    if (v === null || typeof v !== 'object') continue;
    if (seen.has(v)) throw new ApiError('BadRequest', `the body refers to itself at ${path || 'the top'} (a YAML alias of its own parent)`);
    seen.add(v);
    if (depth >= MAX_DEPTH) throw tooDeep();
    for (const [k, child] of Object.entries(v)) {
      if (++elements > MAX_ELEMENTS) throw tooManyElements();
      const at = Array.isArray(v) ? `${path}[${k}]` : path ? `${path}.${k}` : k;
      if (FORBIDDEN_KEYS.has(k)) throw new ApiError('Invalid', `${at}: the key "${k}" is not allowed`, { causes: [{ field: at, message: 'key not allowed' }] });
      stack.push({ v: child, depth: depth + 1, path: at });
    }
  }
}

const MAX_PARAM_LENGTH = 8192;

/** Every query parameter given once and of bounded length. */
export function checkQuery(query: Record<string, string | string[] | undefined>): void {
  for (const [k, v] of Object.entries(query)) {
    if (Array.isArray(v)) throw new ApiError('BadRequest', `query parameter "${k}" is given more than once`);
    if (v !== undefined && v.length > MAX_PARAM_LENGTH) throw new ApiError('BadRequest', `query parameter "${k}" is longer than ${MAX_PARAM_LENGTH} characters`);
  }
}

/** A list's page size: a positive whole number (absent: `def`); a larger one is served as `max`. */
export function pageSize(value: unknown, def: number, max: number): number {
  const n = value === undefined || value === '' ? def : Number(value);
  if (!Number.isSafeInteger(n) || n < 1) throw new ApiError('BadRequest', `limit must be a positive whole number, got "${String(value)}"`);
  return Math.min(n, max);
}

/** A positive integer parameter up to `max` (absent: `def`). */
export function intParam(value: unknown, name: string, def: number | undefined, max: number): number | undefined {
  if (value === undefined || value === '') return def;
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 1 || n > max) throw new ApiError('BadRequest', `${name} must be a whole number from 1 to ${max}, got "${String(value)}"`);
  return n;
}
