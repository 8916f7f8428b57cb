// Documents as drivers store them: one row each, the same columns in every driver.
import { alreadyExists, ApiError } from '../api/errors.js';
import { DOCUMENT_KIND, type CollectionRef, type PutDocumentOp, type StoredDocument } from './types.js';

export interface DocumentRow {
  id: string;
  version: number;
  revision: number;
  data: string | null;
  raw: Buffer | null;
  content_type: string | null;
  origin: StoredDocument['meta']['origin'];
  external_id: string | null;
  event_type: string | null;
  created_at: string;
  updated_at: string;
  deleted_at: string | null;
  /** JSON array of meta.syncedFields. */
  synced_fields: string | null;
}

/**
 * The collections that hold document rows (live or not): one index seek per collection, where
 * `SELECT DISTINCT` would read every row (the data lives in the primary-key b-tree), taking
 * the loop for a long pause every time on a large store.
 */
export const DOCUMENT_SCOPES_SQL = `WITH RECURSIVE s(c) AS (
    SELECT min(collection) FROM documents
    UNION ALL SELECT (SELECT min(collection) FROM documents WHERE collection > s.c) FROM s WHERE s.c IS NOT NULL)
  SELECT c AS collection FROM s WHERE c IS NOT NULL`;

export const DOCUMENT_COLUMNS = 'id, version, revision, data, raw, content_type, origin, external_id, event_type, created_at, updated_at, deleted_at, synced_fields';

/** DOCUMENT_COLUMNS of the table aliased `d`, as `d_<column>`: for a join that selects another table's columns too. */
export const JOINED_DOCUMENT_COLUMNS = DOCUMENT_COLUMNS.split(', ').map((k) => `d.${k} AS d_${k}`).join(', ');

export type JoinedDocumentRow = { [K in keyof DocumentRow as `d_${K}`]: DocumentRow[K] | null };

/** The document row a JOINED_DOCUMENT_COLUMNS join found; undefined when it found none. Spelled out, not mapped, as it runs per change read. */
export function joinedDocument(r: JoinedDocumentRow): DocumentRow | undefined {
  if (r.d_id === null || r.d_version === null || r.d_revision === null || r.d_origin === null || r.d_created_at === null || r.d_updated_at === null) return undefined;
  return {
    id: r.d_id, version: r.d_version, revision: r.d_revision, data: r.d_data, raw: r.d_raw, content_type: r.d_content_type,
    origin: r.d_origin, external_id: r.d_external_id, event_type: r.d_event_type, created_at: r.d_created_at,
    updated_at: r.d_updated_at, deleted_at: r.d_deleted_at, synced_fields: r.d_synced_fields,
  };
}

export function toDocument(r: DocumentRow): StoredDocument {
  const meta: StoredDocument['meta'] = { origin: r.origin, version: r.version, createdAt: r.created_at, updatedAt: r.updated_at, revision: r.revision };
  if (r.external_id !== null) meta.externalId = r.external_id;
  if (r.event_type !== null) meta.eventType = r.event_type;
  if (r.content_type !== null) meta.contentType = r.content_type;
  if (r.deleted_at !== null) meta.deletedAt = r.deleted_at;
  if (r.synced_fields) meta.syncedFields = JSON.parse(r.synced_fields) as string[];
  const doc: StoredDocument = { id: r.id, data: r.data === null ? null : (JSON.parse(r.data) as Record<string, unknown>), meta };
  if (r.raw !== null) doc.raw = r.raw.toString('base64');
  return doc;
}

/** JSON.stringify(toDocument(r)), without parsing the stored data only to write it again. */
export function documentJson(r: DocumentRow): string {
  const text = JSON.stringify(toDocument({ ...r, data: null }));
  if (r.data === null) return text;
  // The id is the first key and a JSON string cannot hold an unescaped quote, so `"data":null` follows it.
  const head = `{"id":${JSON.stringify(r.id)},"data":`;
  return `${head}${r.data}${text.slice(head.length + 'null'.length)}`;
}

/** Field names a filter may name: a plain top-level key. */
export const FILTER_FIELD = /^[A-Za-z0-9_-]{1,128}$/;

/**
 * The JSON texts a query value matches: the string itself, and the number, boolean or
 * null it spells (`?count=3` finds 3 and "3").
 */
export function jsonTextsOf(value: string): string[] {
  const texts = [JSON.stringify(value)];
  if (value === 'true' || value === 'false' || value === 'null') texts.push(value);
  else if (/^-?\d+(\.\d+)?([eE][+-]?\d+)?$/.test(value) && Number.isFinite(Number(value))) texts.push(JSON.stringify(Number(value)));
  return texts;
}

/** What a write needs of the document it finds. */
export type CurrentDocument = Pick<DocumentRow, 'version' | 'deleted_at' | 'created_at' | 'synced_fields'>;

export const staleDocument = (c: CollectionRef, id: string, expect: number, cur: CurrentDocument | undefined): ApiError =>
  new ApiError('PreconditionFailed', `document "${id}" in collection "${c.name}" is at version ${cur && !cur.deleted_at ? cur.version : 'none'}, not ${expect}`, { kind: DOCUMENT_KIND, name: id });

/** A put's preconditions against the document it finds, and the row it writes at `revision`. */
export function putRow(op: PutDocumentOp, cur: CurrentDocument | undefined, revision: number): { row: DocumentRow; live: boolean } {
  const live = !!cur && !cur.deleted_at;
  if (op.ifAbsent && live) throw alreadyExists(DOCUMENT_KIND, op.id);
  if (op.expectVersion !== undefined && (!live || cur.version !== op.expectVersion)) throw staleDocument(op.collection, op.id, op.expectVersion, cur);
  const b = op.body;
  const [data, raw, contentType] = 'data' in b ? [JSON.stringify(b.data), null, null] : [null, Buffer.from(b.raw, 'base64'), b.contentType];
  const row: DocumentRow = {
    id: op.id, version: cur ? cur.version + 1 : 1, revision, data, raw, content_type: contentType, origin: op.origin,
    external_id: op.externalId ?? null, event_type: op.eventType ?? null, created_at: cur?.created_at ?? op.now, updated_at: op.now, deleted_at: null,
    // What a sync wrote stays its own across other writes (a local PATCH), until the next sync.
    synced_fields: op.syncedFields ? JSON.stringify(op.syncedFields) : (cur?.synced_fields ?? null),
  };
  return { row, live };
}
