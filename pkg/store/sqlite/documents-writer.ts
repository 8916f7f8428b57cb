// Document ops on the writer thread. Each write appends to the change log (kind Document,
// the collection's name, the document's id as item, the document's origin) and keeps the
// collection's live-document counter exact, in the same transaction.
import type Database from 'better-sqlite3';
import { alreadyExists, ApiError } from '../../api/errors.js';
import { DOCUMENT_COUNTER, DOCUMENT_KIND, type CollectionRef, type DeleteDocumentOp, type PutDocumentOp } from '../types.js';
import { DOCUMENT_COLUMNS, toDocument, type DocumentRow } from './documents.js';
import type { WireOpResult } from './wire.js';

export interface DocumentWriterContext {
  /** Appends a change-log row and returns its revision. */
  logChange(c: CollectionRef, id: string, type: 'ADDED' | 'MODIFIED' | 'DELETED', origin: string): number;
  addCounts(scope: string, deltas: Record<string, number>): void;
  /** Keeps the document after and before the change in its change-log row. */
  setImages(rv: number, after: string | null, before: string | null): void;
}

interface Current {
  version: number;
  deleted_at: string | null;
}

export function documentWriter(db: Database.Database, ctx: DocumentWriterContext) {
  const q = {
    current: db.prepare('SELECT version, deleted_at FROM documents WHERE collection = ? AND id = ?'),
    insert: db.prepare(`INSERT INTO documents (collection, id, version, revision, data, raw, content_type, origin, external_id, event_type, created_at, updated_at)
      VALUES (?, ?, 1, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
    replace: db.prepare(`UPDATE documents SET version = version + 1, revision = ?, data = ?, raw = ?, content_type = ?, origin = ?,
      external_id = ?, event_type = ?, updated_at = ?, deleted_at = NULL WHERE collection = ? AND id = ? RETURNING version`).pluck(),
    softDelete: db.prepare(`UPDATE documents SET version = version + 1, revision = ?, origin = ?, updated_at = ?, deleted_at = ?
      WHERE collection = ? AND id = ? RETURNING version`).pluck(),
    anyLive: db.prepare('SELECT 1 FROM documents WHERE collection = ? AND deleted_at IS NULL LIMIT 1').pluck(),
    any: db.prepare('SELECT 1 FROM documents WHERE collection = ? LIMIT 1').pluck(),
    drop: db.prepare('DELETE FROM documents WHERE (collection, id) IN (SELECT collection, id FROM documents WHERE collection = ? LIMIT ?)'),
    dropCounter: db.prepare('DELETE FROM counters WHERE scope = ? AND name = ?'),
    full: db.prepare(`SELECT ${DOCUMENT_COLUMNS} FROM documents WHERE collection = ? AND id = ?`),
  };

  /** The document as a reader would get it now, as JSON (null when there is none). */
  const image = (c: CollectionRef, id: string): string | null => {
    const row = q.full.get(c.uid, id) as DocumentRow | undefined;
    return row ? JSON.stringify(toDocument(row)) : null;
  };

  const stale = (c: CollectionRef, id: string, expect: number, cur: Current | undefined): ApiError =>
    new ApiError('PreconditionFailed', `document "${id}" in collection "${c.name}" is at version ${cur && !cur.deleted_at ? cur.version : 'none'}, not ${expect}`, { kind: DOCUMENT_KIND, name: id });

  function put(op: PutDocumentOp): WireOpResult {
    const c = op.collection;
    const cur = q.current.get(c.uid, op.id) as Current | undefined;
    const live = !!cur && !cur.deleted_at;
    if (op.ifAbsent && live) throw alreadyExists(DOCUMENT_KIND, op.id);
    if (op.expectVersion !== undefined && (!live || cur.version !== op.expectVersion)) throw stale(c, op.id, op.expectVersion, cur);
    const type = live ? 'MODIFIED' : 'ADDED';
    const before = op.image && live ? image(c, op.id) : null;
    const rv = ctx.logChange(c, op.id, type, op.origin);
    const b = op.body;
    const [data, raw, contentType] = 'data' in b ? [JSON.stringify(b.data), null, null] : [null, Buffer.from(b.raw, 'base64'), b.contentType];
    let version = 1;
    if (cur) version = q.replace.get(rv, data, raw, contentType, op.origin, op.externalId ?? null, op.eventType ?? null, op.now, c.uid, op.id) as number;
    else q.insert.run(c.uid, op.id, rv, data, raw, contentType, op.origin, op.externalId ?? null, op.eventType ?? null, op.now, op.now);
    if (!live) ctx.addCounts(c.uid, { [DOCUMENT_COUNTER]: 1 });
    if (op.image) ctx.setImages(rv, image(c, op.id), before);
    return { rv, name: op.id, doc: { version, type } };
  }

  function remove(op: DeleteDocumentOp): WireOpResult {
    const c = op.collection;
    const cur = q.current.get(c.uid, op.id) as Current | undefined;
    if (!cur || cur.deleted_at) {
      if (op.expectVersion !== undefined) throw stale(c, op.id, op.expectVersion, cur);
      throw new ApiError('NotFound', `document "${op.id}" not found in collection "${c.name}"`, { kind: DOCUMENT_KIND, name: op.id });
    }
    if (op.expectVersion !== undefined && cur.version !== op.expectVersion) throw stale(c, op.id, op.expectVersion, cur);
    const before = op.image ? image(c, op.id) : null;
    const rv = ctx.logChange(c, op.id, 'DELETED', op.origin);
    const version = q.softDelete.get(rv, op.origin, op.now, op.now, c.uid, op.id) as number;
    if (op.image) ctx.setImages(rv, image(c, op.id), before);
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
