import { ApiError } from '../../api/errors.js';
import type { DocumentQuery, DocumentStore, StoredDocument } from '../types.js';
import type { DB } from './db.js';
import { DOCUMENT_COLUMNS, DOCUMENT_SCOPES_SQL, FILTER_FIELD, jsonTextsOf, toDocument, type DocumentRow } from '../document-rows.js';

/** Reads of documents on the main thread's connection. */
export class SqliteDocuments implements DocumentStore {
  private readonly one;
  private readonly scopes;

  constructor(private readonly db: DB) {
    this.one = db.prepare(`SELECT ${DOCUMENT_COLUMNS} FROM documents WHERE collection = ? AND id = ?`);
    this.scopes = db.prepare(DOCUMENT_SCOPES_SQL).pluck();
  }

  async getDocument(collectionUid: string, id: string): Promise<StoredDocument | undefined> {
    const r = this.one.get(collectionUid, id) as DocumentRow | undefined;
    return r ? toDocument(r) : undefined;
  }

  async listDocuments(collectionUid: string, q: DocumentQuery): Promise<{ items: StoredDocument[]; more: boolean }> {
    const where = ['collection = ?'];
    const args: unknown[] = [collectionUid];
    if (!q.includeDeleted) where.push('deleted_at IS NULL');
    if (q.after !== undefined) (where.push('id > ?'), args.push(q.after));
    for (const [field, value] of Object.entries(q.where ?? {})) {
      if (!FILTER_FIELD.test(field)) throw new ApiError('BadRequest', `cannot filter on "${field}": a filter names a top-level field (letters, digits, _ and -)`);
      const texts = jsonTextsOf(value);
      where.push(`data -> ? IN (${texts.map(() => '?').join(', ')})`);
      args.push(`$."${field}"`, ...texts);
    }
    const rows = this.db.prepare(`SELECT ${DOCUMENT_COLUMNS} FROM documents WHERE ${where.join(' AND ')} ORDER BY id LIMIT ?`).all(...args, q.limit + 1) as DocumentRow[];
    const more = rows.length > q.limit;
    return { items: (more ? rows.slice(0, q.limit) : rows).map(toDocument), more };
  }

  async documentScopes(): Promise<string[]> {
    return this.scopes.all() as string[];
  }
}
