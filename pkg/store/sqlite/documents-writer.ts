// Document ops on the writer thread. Each write appends to the change log (kind Document,
// the collection's name, the document's id as item, the document's origin) and keeps the
// collection's live-document counter exact, in the same transaction.
import type Database from 'better-sqlite3';
import { ApiError } from '../../api/errors.js';
import { DOCUMENT_COUNTER, DOCUMENT_KIND, type CollectionRef, type DeleteDocumentOp, type PutDocumentOp } from '../types.js';
import { DOCUMENT_COLUMNS, documentJson, putRow, staleDocument, type DocumentRow } from '../document-rows.js';
import type { WireOpResult } from './wire.js';

export interface DocumentWriterContext {
  /**
   * Appends a change-log row and returns its revision: the one `nextRevision` named. With
   * images, the row keeps the document before the change; the one after is the document's
   * own row until a later change replaces it (see keepAfter).
   */
  logChange(c: CollectionRef, id: string, type: 'ADDED' | 'MODIFIED' | 'DELETED', origin: string, images?: Images): number;
  nextRevision(): number;
  /** Keeps `image` as the after image of the change at `revision`, if that row has none (and is still in the log). */
  keepAfter(revision: number, image: string): void;
  addCounts(scope: string, deltas: Record<string, number>): void;
}

interface Images {
  after: string | null;
  before: string | null;
}

type Current = Pick<DocumentRow, 'version' | 'deleted_at' | 'created_at' | 'synced_fields'>;

export function documentWriter(db: Database.Database, ctx: DocumentWriterContext) {
  const q = {
    current: db.prepare('SELECT version, deleted_at, created_at, synced_fields FROM documents WHERE collection = ? AND id = ?'),
    insert: db.prepare(`INSERT INTO documents (collection, id, version, revision, data, raw, content_type, origin, external_id, event_type, created_at, updated_at, synced_fields)
      VALUES (?, ?, 1, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
    replace: db.prepare(`UPDATE documents SET version = version + 1, revision = ?, data = ?, raw = ?, content_type = ?, origin = ?,
      external_id = ?, event_type = ?, updated_at = ?, deleted_at = NULL, synced_fields = ? WHERE collection = ? AND id = ?`),
    softDelete: db.prepare(`UPDATE documents SET version = version + 1, revision = ?, origin = ?, updated_at = ?, deleted_at = ?
      WHERE collection = ? AND id = ?`),
    anyLive: db.prepare('SELECT 1 FROM documents WHERE collection = ? AND deleted_at IS NULL LIMIT 1').pluck(),
    any: db.prepare('SELECT 1 FROM documents WHERE collection = ? LIMIT 1').pluck(),
    drop: db.prepare('DELETE FROM documents WHERE (collection, id) IN (SELECT collection, id FROM documents WHERE collection = ? LIMIT ?)'),
    dropCounter: db.prepare('DELETE FROM counters WHERE scope = ? AND name = ?'),
    full: db.prepare(`SELECT ${DOCUMENT_COLUMNS} FROM documents WHERE collection = ? AND id = ?`),
  };

  /** The document's row: whole when the change keeps images (the image before is made from it). */
  const rowOf = (c: CollectionRef, id: string, whole: boolean): Current | DocumentRow | undefined =>
    (whole ? q.full : q.current).get(c.uid, id) as Current | DocumentRow | undefined;
  const isWhole = (r: Current | DocumentRow | undefined): r is DocumentRow => !!r && 'id' in r;

  /**
   * The version a change is about to replace, as its image: kept as the after image of the
   * change that wrote it, which read it from the document's row until now. A create, the
   * common write, so stores its document once.
   */
  function replacedImage(cur: Current | DocumentRow | undefined): string | null {
    if (!isWhole(cur)) return null;
    const image = documentJson(cur);
    ctx.keepAfter(cur.revision, image);
    return image;
  }

  function put(op: PutDocumentOp): WireOpResult {
    const c = op.collection;
    const cur = rowOf(c, op.id, !!op.image);
    const { row, live } = putRow(op, cur, ctx.nextRevision());
    const { version, data, raw, content_type: contentType } = row;
    const type = live ? 'MODIFIED' : 'ADDED';
    const replaced = op.image ? replacedImage(cur) : null;
    const rv = ctx.logChange(c, op.id, type, op.origin, op.image ? { after: null, before: live ? replaced : null } : undefined);
    if (cur) q.replace.run(rv, data, raw, contentType, op.origin, row.external_id, row.event_type, op.now, row.synced_fields, c.uid, op.id);
    else q.insert.run(c.uid, op.id, rv, data, raw, contentType, op.origin, row.external_id, row.event_type, op.now, op.now, row.synced_fields);
    if (!live) ctx.addCounts(c.uid, { [DOCUMENT_COUNTER]: 1 });
    return { rv, name: op.id, doc: { version, type } };
  }

  function remove(op: DeleteDocumentOp): WireOpResult {
    const c = op.collection;
    const cur = rowOf(c, op.id, !!op.image);
    if (!cur || cur.deleted_at) {
      if (op.expectVersion !== undefined) throw staleDocument(c, op.id, op.expectVersion, cur);
      throw new ApiError('NotFound', `document "${op.id}" not found in collection "${c.name}"`, { kind: DOCUMENT_KIND, name: op.id });
    }
    if (op.expectVersion !== undefined && cur.version !== op.expectVersion) throw staleDocument(c, op.id, op.expectVersion, cur);
    const version = cur.version + 1;
    const before = replacedImage(cur);
    const rv = ctx.logChange(c, op.id, 'DELETED', op.origin, before === null ? undefined : { after: null, before });
    q.softDelete.run(rv, op.origin, op.now, op.now, c.uid, op.id);
    ctx.addCounts(c.uid, { [DOCUMENT_COUNTER]: -1 });
    return { rv, name: op.id, doc: { version, type: 'DELETED' } };
  }

  function requireNone(c: CollectionRef): void {
    if (q.anyLive.get(c.uid)) {
      throw new ApiError('Conflict', `collection "${c.name}" still holds documents: delete them first, or delete with force`, { kind: 'Collection', name: c.name });
    }
  }

  /** Up to `chunk` documents of each collection; its counter goes with the last of them. */
  function dropAll(uids: string[], chunk: number): number {
    let n = 0;
    for (const uid of uids) {
      n += q.drop.run(uid, chunk).changes;
      if (!q.any.get(uid)) q.dropCounter.run(uid, DOCUMENT_COUNTER);
    }
    return n;
  }

  return { put, remove, requireNone, dropAll };
}
