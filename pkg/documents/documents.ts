// Product rules for documents, above any store driver: which collection a name means, how
// a document gets its id, schema validation on every write, merge patches, versions.
import { randomUUID } from 'node:crypto';
import { ApiError, notFound, type Cause } from '../api/errors.js';
import { DEFAULT_ID_FIELD, type CollectionSpec } from '../api/kinds/collection.js';
import { now } from '../api/meta.js';
import type { StoredResource } from '../api/types.js';
import type { Json, JsonObject } from '../mapping/paths.js';
import type { CollectionRef, DocumentBody, DocumentOrigin, Op, PutDocumentOp, Store, StoredDocument } from '../store/types.js';
import { mergePatch } from './merge-patch.js';
import { documentCauses, documentValidator } from './schema.js';

/** A collection as document writes need it. */
export interface BoundCollection {
  ref: CollectionRef;
  idField: string;
  /** Throws Invalid naming each field the schema refuses. */
  validate(data: JsonObject, id: string): void;
}

export function bindCollection(c: StoredResource): BoundCollection {
  const spec = c.spec as CollectionSpec;
  const ref = { uid: c.metadata.uid, namespace: c.metadata.namespace, name: c.metadata.name };
  return {
    ref,
    idField: spec.id_field ?? DEFAULT_ID_FIELD,
    validate(data, id) {
      const v = documentValidator(`${ref.uid}/${c.metadata.generation}`, spec.schema ?? {});
      if (!v(data)) throw invalidDocument(ref.name, id, documentCauses(v.errors));
    },
  };
}

export function invalidDocument(collection: string, id: string, causes: Cause[]): ApiError {
  const summary = causes.map((c) => `${c.field}: ${c.message}`).join('; ');
  return new ApiError('Invalid', `document "${id}" does not match the schema of collection "${collection}": ${summary}`, { kind: 'Document', name: id, causes });
}

const MAX_ID = 512;

/** Why a document id cannot be used, or undefined. */
export function idProblem(id: string): string | undefined {
  if (id === '') return 'may not be empty';
  if (id.length > MAX_ID) return `must be at most ${MAX_ID} characters`;
  return /[\u0000-\u001f\u007f]/.test(id) ? 'may not contain control characters' : undefined;
}

/**
 * The id a payload carries in `field`: a string or a number, as text. undefined when the
 * field is absent (the caller generates one); BadRequest when it cannot be an id.
 */
export function idOf(data: JsonObject, field: string): string | undefined {
  const v = Object.hasOwn(data, field) ? data[field] : undefined;
  if (v === undefined || v === null) return undefined;
  const id = typeof v === 'string' ? v : typeof v === 'number' && Number.isFinite(v) ? String(v) : undefined;
  const problem = id === undefined ? 'must be a string or a number' : idProblem(id);
  if (problem) throw new ApiError('BadRequest', `id field "${field}" ${problem}`, { causes: [{ field: `data.${field}`, message: problem }] });
  return id;
}

export const newDocumentId = (): string => randomUUID();

export interface WriteMeta {
  origin: DocumentOrigin;
  externalId?: string;
  eventType?: string;
  /** The version the caller read (If-Match). */
  ifMatch?: number;
}

/** The op that writes `body` as document `id`, validated first when it is JSON. */
export function putOp(c: BoundCollection, id: string, body: DocumentBody, meta: WriteMeta, extra: Partial<PutDocumentOp> = {}): PutDocumentOp {
  if ('data' in body) c.validate(body.data as JsonObject, id);
  return {
    op: 'putDocument', collection: c.ref, id, body, origin: meta.origin, now: now(),
    ...(meta.externalId !== undefined ? { externalId: meta.externalId } : {}),
    ...(meta.eventType !== undefined ? { eventType: meta.eventType } : {}),
    ...(meta.ifMatch !== undefined ? { expectVersion: meta.ifMatch } : {}),
    ...extra,
  };
}

/** Merge patches retried on a concurrent write when the caller named no version. */
const PATCH_RETRIES = 5;

/** Documents of collections, addressed by namespace and collection name. */
export class Documents {
  constructor(private readonly store: Store) {}

  async collection(namespace: string, name: string): Promise<BoundCollection> {
    const c = await this.store.control.get({ kind: 'Collection', namespace, name });
    if (!c) throw notFound('Collection', name, namespace);
    return bindCollection(c);
  }

  async get(c: BoundCollection, id: string, includeDeleted = false): Promise<StoredDocument> {
    const d = await this.store.data.getDocument(c.ref.uid, id);
    if (!d || (d.meta.deletedAt && !includeDeleted)) throw new ApiError('NotFound', `document "${id}" not found in collection "${c.ref.name}"`, { kind: 'Document', name: id });
    return d;
  }

  /** Creates (POST: AlreadyExists when the id is taken) or upserts (PUT) a document. */
  async write(c: BoundCollection, id: string | undefined, data: JsonObject, meta: WriteMeta, create: boolean): Promise<StoredDocument> {
    const docId = id ?? idOf(data, c.idField) ?? newDocumentId();
    await this.commit(putOp(c, docId, { data }, meta, create ? { ifAbsent: true } : {}));
    return this.get(c, docId);
  }

  async patch(c: BoundCollection, id: string, patch: JsonObject, meta: WriteMeta): Promise<StoredDocument> {
    for (let attempt = 1; ; attempt++) {
      const current = await this.get(c, id);
      if (meta.ifMatch !== undefined && current.meta.version !== meta.ifMatch) throw stale(c, id, current.meta.version, meta.ifMatch);
      if (current.data === null) throw new ApiError('BadRequest', `document "${id}" is raw bytes: it cannot be merge-patched`);
      const data = mergePatch(current.data as Json, patch) as JsonObject;
      try {
        await this.commit(putOp(c, id, { data }, { ...meta, ifMatch: current.meta.version }));
        return this.get(c, id);
      } catch (e) {
        const retry = e instanceof ApiError && e.reason === 'PreconditionFailed' && meta.ifMatch === undefined && attempt < PATCH_RETRIES;
        if (!retry) throw e;
      }
    }
  }

  async remove(c: BoundCollection, id: string, meta: WriteMeta): Promise<StoredDocument> {
    await this.commit({ op: 'deleteDocument', collection: c.ref, id, origin: meta.origin, now: now(), ...(meta.ifMatch !== undefined ? { expectVersion: meta.ifMatch } : {}) });
    return this.get(c, id, true);
  }

  private async commit(op: Op): Promise<void> {
    await this.store.commit({ origin: 'api', ops: [op] });
  }
}

function stale(c: BoundCollection, id: string, version: number, expected: number): ApiError {
  return new ApiError('PreconditionFailed', `document "${id}" in collection "${c.ref.name}" is at version ${version}, not ${expected}`, { kind: 'Document', name: id });
}
