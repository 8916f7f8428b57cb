// What a sync writes: the mapped record alone (replace), or merged into the document so that
// only the fields syncs own change (merge). A sync owns the fields it wrote last time.
import type { JsonObject } from '../mapping/paths.js';
import { put } from '../mapping/paths.js';

export interface Synced {
  data: JsonObject;
  /** The fields this sync wrote (its non-null ones), sorted: what the next merge owns. */
  syncedFields: string[];
}

const written = (record: JsonObject): string[] => Object.keys(record).filter((k) => record[k] !== null).sort();

/**
 * With `merge`: the document's fields, less those an earlier sync wrote that the upstream
 * now clears (absent or null), with the record's non-null fields over them. Without: the record.
 */
export function synced(record: JsonObject, current: { data: JsonObject; syncedFields?: string[] } | undefined, merge: boolean): Synced {
  const syncedFields = written(record);
  if (!merge || !current) return { data: record, syncedFields };
  const data: JsonObject = {};
  const owned = new Set(current.syncedFields ?? []);
  for (const k of Object.keys(current.data)) if (!owned.has(k) || (record[k] !== undefined && record[k] !== null)) put(data, k, current.data[k]!);
  for (const k of syncedFields) put(data, k, record[k]!);
  return { data, syncedFields };
}
