// Document ops inside a write transaction. Each write appends to the change log (kind
// Document, the collection's name, the document's id as item, the document's origin) and
// keeps the collection's live-document counter exact, in the same transaction.
import type { Sql } from 'postgres';
import { ApiError } from '../../api/errors.js';
import { DOCUMENT_COLUMNS, documentJson, putRow, staleDocument, type DocumentRow } from '../document-rows.js';
import type { OpResult } from '../results.js';
import { DOCUMENT_COUNTER, DOCUMENT_KIND, type CollectionRef, type DeleteDocumentOp, type PutDocumentOp } from '../types.js';
import type { WriteTx } from './ops.js';

const docKey = (collectionUid: string, id: string): string => `${collectionUid}\n${id}`;

/**
 * The documents a transaction has read or written, as they now are (null: none). Rows a
 * rolled-back unit wrote must not stay: `clear()` then, and the next read asks the database.
 */
export class DocumentRows {
  private readonly rows = new Map<string, DocumentRow | null>();

  /** Reads every document the ops name in one statement. */
  async prefetch(w: WriteTx, keys: Array<{ collection: string; id: string }>): Promise<void> {
    if (!keys.length) return;
    const found = await w.tx<Array<DocumentRow & { collection: string }>>`SELECT collection, ${w.tx.unsafe(DOCUMENT_COLUMNS)} FROM documents
      WHERE (collection, id) IN (SELECT * FROM unnest(${keys.map((k) => k.collection)}::text[], ${keys.map((k) => k.id)}::text[]))`;
    for (const k of keys) this.rows.set(docKey(k.collection, k.id), null);
    for (const { collection, ...row } of found) this.rows.set(docKey(collection, row.id), row);
  }

  async get(w: WriteTx, c: CollectionRef, id: string): Promise<DocumentRow | undefined> {
    const known = this.rows.get(docKey(c.uid, id));
    if (known !== undefined) return known ?? undefined;
    const [row] = await w.tx<DocumentRow[]>`SELECT ${w.tx.unsafe(DOCUMENT_COLUMNS)} FROM documents WHERE collection = ${c.uid} AND id = ${id}`;
    return row;
  }

  wrote(c: CollectionRef, row: DocumentRow): void {
    this.rows.set(docKey(c.uid, row.id), row);
  }

  clear(): void {
    this.rows.clear();
  }
}

const changeKey = (c: CollectionRef) => ({ kind: DOCUMENT_KIND, namespace: c.namespace, name: c.name });

export async function putDocument(w: WriteTx, op: PutDocumentOp): Promise<OpResult> {
  const c = op.collection;
  const cur = await w.documents.get(w, c, op.id);
  const { row, live } = putRow(op, cur, w.rev + 1);
  const { version, data, raw, content_type: contentType } = row;
  const type = live ? 'MODIFIED' : 'ADDED';
  const images = op.image ? { after: documentJson(row), before: live && cur ? documentJson(cur) : null } : {};
  const rv = w.logChange(changeKey(c), c.uid, type, op.origin, { item: op.id, ...images });
  w.documents.wrote(c, { ...row, revision: rv });
  w.defer(w.tx`INSERT INTO documents (collection, id, version, revision, data, raw, content_type, origin, external_id, event_type, created_at, updated_at, synced_fields)
    VALUES (${c.uid}, ${op.id}, ${version}, ${rv}, ${data}, ${raw}, ${contentType}, ${op.origin}, ${row.external_id}, ${row.event_type}, ${row.created_at}, ${op.now}, ${row.synced_fields})
    ON CONFLICT (collection, id) DO UPDATE SET version = excluded.version, revision = excluded.revision, data = excluded.data, raw = excluded.raw,
      content_type = excluded.content_type, origin = excluded.origin, external_id = excluded.external_id, event_type = excluded.event_type,
      updated_at = excluded.updated_at, deleted_at = NULL, synced_fields = excluded.synced_fields`);
  if (!live) w.addCounts(c.uid, { [DOCUMENT_COUNTER]: 1 });
  return { rv, name: op.id, doc: { version, type } };
}

export async function deleteDocument(w: WriteTx, op: DeleteDocumentOp): Promise<OpResult> {
  const c = op.collection;
  const cur = await w.documents.get(w, c, op.id);
  if (!cur || cur.deleted_at) {
    if (op.expectVersion !== undefined) throw staleDocument(c, op.id, op.expectVersion, cur);
    throw new ApiError('NotFound', `document "${op.id}" not found in collection "${c.name}"`, { kind: DOCUMENT_KIND, name: op.id });
  }
  if (op.expectVersion !== undefined && cur.version !== op.expectVersion) throw staleDocument(c, op.id, op.expectVersion, cur);
  const version = cur.version + 1;
  const images = op.image ? { after: documentJson({ ...cur, version, revision: w.rev + 1, origin: op.origin, updated_at: op.now, deleted_at: op.now }), before: documentJson(cur) } : {};
  const rv = w.logChange(changeKey(c), c.uid, 'DELETED', op.origin, { item: op.id, ...images });
  w.documents.wrote(c, { ...cur, version, revision: rv, origin: op.origin, updated_at: op.now, deleted_at: op.now });
  w.defer(w.tx`UPDATE documents SET version = ${version}, revision = ${rv}, origin = ${op.origin}, updated_at = ${op.now}, deleted_at = ${op.now}
    WHERE collection = ${c.uid} AND id = ${op.id}`);
  w.addCounts(c.uid, { [DOCUMENT_COUNTER]: -1 });
  return { rv, name: op.id, doc: { version, type: 'DELETED' } };
}

export async function requireNoDocuments(w: WriteTx, c: CollectionRef): Promise<void> {
  const [any] = await w.tx`SELECT 1 FROM documents WHERE collection = ${c.uid} AND deleted_at IS NULL LIMIT 1`;
  if (any) throw new ApiError('Conflict', `collection "${c.name}" still holds documents: delete them first, or delete with force`, { kind: 'Collection', name: c.name });
}

/** Up to `chunk` documents of each collection; its counter goes with the last of them. */
export async function dropDocuments(sql: Sql, uids: string[], chunk: number): Promise<number> {
  let n = 0;
  for (const uid of uids) {
    const dropped = await sql`DELETE FROM documents WHERE (collection, id) IN (SELECT collection, id FROM documents WHERE collection = ${uid} LIMIT ${chunk})`;
    n += dropped.count;
    const [left] = await sql`SELECT 1 FROM documents WHERE collection = ${uid} LIMIT 1`;
    if (!left) await sql`DELETE FROM counters WHERE scope = ${uid} AND name = ${DOCUMENT_COUNTER}`;
  }
  return n;
}
