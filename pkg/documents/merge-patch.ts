import { isObject, put, type Json, type JsonObject } from '../mapping/paths.js';

/**
 * RFC 7386 JSON merge patch: objects merge key by key, null removes, anything else
 * replaces. Copies own properties only, so a `__proto__` key is data, never a prototype.
 */
export function mergePatch(target: Json | undefined, patch: Json): Json {
  if (!isObject(patch)) return patch;
  const out: JsonObject = {};
  if (isObject(target)) for (const k of Object.keys(target)) put(out, k, target[k]!);
  for (const k of Object.keys(patch)) {
    const v = patch[k]!;
    if (v === null) delete out[k];
    else put(out, k, mergePatch(Object.hasOwn(out, k) ? out[k] : undefined, v));
  }
  return out;
}
