// An external write's answer: the upstream's id for the record, stored as the document's
// externalId (origin `trigger`, which the same external-write trigger does not fire on).
import { getPath, isObject } from '../mapping/paths.js';
import type { Op, Store } from '../store/types.js';
import type { MessageTarget } from './message.js';

export async function writeBackOps(store: Store, w: NonNullable<MessageTarget['writeBack']>, answer: Buffer): Promise<Op[]> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(answer.toString('utf8'));
  } catch {
    return [];
  }
  if (!isObject(parsed)) return [];
  const id = getPath(parsed, w.idPath);
  if (typeof id !== 'string' && typeof id !== 'number') return [];
  const doc = await store.data.getDocument(w.collectionUid, w.id);
  if (!doc || doc.meta.deletedAt || doc.meta.externalId === String(id)) return [];
  const body = doc.data === null ? { raw: doc.raw!, contentType: doc.meta.contentType ?? 'application/octet-stream' } : { data: doc.data };
  return [{
    op: 'putDocument', collection: { uid: w.collectionUid, namespace: w.namespace, name: w.collection }, id: w.id, body, origin: 'trigger',
    externalId: String(id), ...(doc.meta.eventType ? { eventType: doc.meta.eventType } : {}), now: new Date().toISOString(), expectVersion: doc.meta.version,
  }];
}
