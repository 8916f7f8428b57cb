// Dotted paths into plain JSON objects. Every read and write goes through own properties
// only: a payload key such as `__proto__` is data here, never a way to the prototype.

export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
export type JsonObject = { [k: string]: Json };

/** Segments that name an object's machinery rather than its data. */
const RESERVED = new Set(['__proto__', 'constructor', 'prototype']);

export function isObject(v: unknown): v is JsonObject {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** Why a dotted path cannot be used, or undefined when it can. */
export function pathProblem(path: string): string | undefined {
  if (typeof path !== 'string' || path === '') return 'must be a non-empty path';
  const segs = path.split('.');
  if (segs.some((s) => s === '')) return `"${path}" has an empty segment`;
  const bad = segs.find((s) => RESERVED.has(s));
  return bad ? `"${path}" uses the reserved name "${bad}"` : undefined;
}

export function getPath(obj: JsonObject, path: string): Json | undefined {
  let cur: Json | undefined = obj;
  for (const seg of path.split('.')) {
    if (!isObject(cur) || !Object.hasOwn(cur, seg)) return undefined;
    cur = cur[seg];
  }
  return cur;
}

/** Sets an own property, even one named `__proto__`. */
export function put(obj: JsonObject, key: string, value: Json): void {
  Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
}

export function setPath(obj: JsonObject, path: string, value: Json): void {
  const segs = path.split('.');
  let cur = obj;
  for (const seg of segs.slice(0, -1)) {
    const next = Object.hasOwn(cur, seg) ? cur[seg] : undefined;
    if (isObject(next)) cur = next;
    else put(cur, seg, (cur = {}));
  }
  put(cur, segs[segs.length - 1]!, value);
}

/** Removes a path and then every object it leaves empty on the way up. */
export function deletePath(obj: JsonObject, path: string): void {
  const segs = path.split('.');
  const trail: JsonObject[] = [obj];
  for (const seg of segs.slice(0, -1)) {
    const next = Object.hasOwn(trail[trail.length - 1]!, seg) ? trail[trail.length - 1]![seg] : undefined;
    if (!isObject(next)) return;
    trail.push(next);
  }
  for (let i = segs.length - 1; i >= 0; i--) {
    const holder = trail[i]!;
    delete holder[segs[i]!];
    if (Object.keys(holder).length > 0) return;
  }
}

/** A deep copy of JSON data that keeps `__proto__` keys as data. */
export function cloneJson<T extends Json>(v: T): T {
  if (Array.isArray(v)) return v.map((x) => cloneJson(x)) as T;
  if (!isObject(v)) return v;
  const out: JsonObject = {};
  for (const k of Object.keys(v)) put(out, k, cloneJson(v[k]!));
  return out as T;
}
