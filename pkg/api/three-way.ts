// The three-way merge of `orlojctl apply`, as kubectl's client-side apply does it for custom
// resources: what the last apply sent (kept in an annotation), what this apply sends, and the
// live object. Fields that another client set, and that no apply ever sent, stay.
import { stableStringify } from '../util/json.js';
import type { ObjectMeta, Resource } from './types.js';

/** Holds, as JSON, what the last apply sent (an AppliedConfiguration). */
export const LAST_APPLIED = 'orloj.dev/last-applied-configuration';

/** What an apply sent: the fields an apply manages, without system metadata or status. */
export interface AppliedConfiguration {
  apiVersion: string;
  kind: string;
  metadata: Pick<ObjectMeta, 'name' | 'namespace' | 'labels' | 'annotations'>;
  spec: Record<string, unknown>;
}

type JsonObject = Record<string, unknown>;

const isObject = (v: unknown): v is JsonObject => v !== null && typeof v === 'object' && !Array.isArray(v);

/**
 * `live` with `desired` merged in: every key of `desired` is set (objects merged key by key,
 * anything else, arrays too, replaced), and every key of `last` that `desired` no longer has
 * is removed. Keys in neither `last` nor `desired` are kept as `live` has them. A null in
 * `desired` is a value like any other (the manifest said so), not a deletion.
 */
export function mergeThreeWay(last: unknown, desired: unknown, live: unknown): unknown {
  if (!isObject(desired)) return structuredClone(desired);
  const out: JsonObject = isObject(live) ? { ...live } : {};
  if (isObject(last)) for (const k of Object.keys(last)) if (!Object.hasOwn(desired, k)) delete out[k];
  for (const [k, v] of Object.entries(desired)) {
    out[k] = mergeThreeWay(isObject(last) ? last[k] : undefined, v, Object.hasOwn(out, k) ? out[k] : undefined);
  }
  return out;
}

/** The record an apply of `desired` leaves (its annotation of itself left out). */
export function appliedConfiguration(desired: Resource): AppliedConfiguration {
  const { name, namespace, labels } = desired.metadata;
  const annotations = withoutLastApplied(desired.metadata.annotations);
  const metadata: AppliedConfiguration['metadata'] = { name };
  if (namespace) metadata.namespace = namespace;
  if (labels && Object.keys(labels).length) metadata.labels = { ...labels };
  if (annotations) metadata.annotations = annotations;
  return { apiVersion: desired.apiVersion, kind: desired.kind, metadata, spec: structuredClone(desired.spec) };
}

/** The record the object's last apply left; none when it has none, or one that is not an object. */
export function lastApplied(o: Resource): AppliedConfiguration | undefined {
  const text = o.metadata.annotations?.[LAST_APPLIED];
  if (text === undefined) return undefined;
  try {
    const v: unknown = JSON.parse(text);
    return isObject(v) && isObject(v.metadata) ? (v as unknown as AppliedConfiguration) : undefined;
  } catch {
    return undefined; // hand-edited into something else: treated as absent, so nothing is removed
  }
}

function withoutLastApplied(annotations: Record<string, string> | undefined): Record<string, string> | undefined {
  if (!annotations) return undefined;
  const { [LAST_APPLIED]: _own, ...rest } = annotations;
  return Object.keys(rest).length ? rest : undefined;
}

function stringMap(v: unknown): Record<string, string> | undefined {
  return isObject(v) && Object.keys(v).length ? (v as Record<string, string>) : undefined;
}

/**
 * The object an apply of `desired` over `live` writes: labels, annotations and spec merged
 * three ways against `live`'s record of its last apply (none: nothing is removed, as kubectl
 * does), and `record` (what to remember of `desired`; a kind with secret values passes one
 * without them) as the new record. Without `live`, `desired` itself with the record.
 */
export function threeWayApply(desired: Resource, live: Resource | undefined, record: AppliedConfiguration): Resource {
  // A record is an annotation any writer may have edited: only its objects count.
  const managed = (o: Resource | AppliedConfiguration): JsonObject => ({
    labels: isObject(o.metadata.labels) ? o.metadata.labels : {},
    annotations: isObject(o.metadata.annotations) ? (withoutLastApplied(o.metadata.annotations) ?? {}) : {},
    spec: isObject(o.spec) ? o.spec : {},
  });
  const last = live && lastApplied(live);
  const merged = live ? (mergeThreeWay(last ? managed(last) : undefined, managed(desired), managed(live)) as JsonObject) : managed(desired);
  const metadata: ObjectMeta = { ...desired.metadata };
  delete metadata.labels;
  const labels = stringMap(merged.labels);
  if (labels) metadata.labels = labels;
  metadata.annotations = { ...stringMap(merged.annotations), [LAST_APPLIED]: stableStringify(record) }; // key order of a file is no change
  return { apiVersion: desired.apiVersion, kind: desired.kind, metadata, spec: merged.spec as JsonObject };
}
