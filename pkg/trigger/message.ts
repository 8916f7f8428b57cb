// What a trigger sends for one change: the message body, its type and id, and where it goes.
// Built once, at dispatch, from the change-log row's images; queued as text with its target.
import { createHash } from 'node:crypto';
import type { SourceSpec } from '../api/kinds/source.js';
import type { TriggerEvent } from '../api/kinds/trigger.js';
import type { StoredResource } from '../api/types.js';
import { compileMapping } from '../mapping/index.js';
import type { JsonObject } from '../mapping/paths.js';
import type { ChangeEntry, StoredDocument } from '../store/types.js';

export const EVENT_OF: Record<ChangeEntry['type'], TriggerEvent> = { ADDED: 'create', MODIFIED: 'update', DELETED: 'delete' };
const PAST: Record<TriggerEvent, string> = { create: 'created', update: 'updated', delete: 'deleted' };

/** `document.created`, `task.deleted`, ... */
export const eventTypeOf = (what: 'document' | 'task', e: TriggerEvent): string => `${what}.${PAST[e]}`;

/** Where and how one message goes; the engine signs the body and sends it there. */
export interface MessageTarget {
  url: string;
  method: string;
  eventType: string;
  /** An external write: the document whose externalId the upstream's answer may set. */
  writeBack?: { collectionUid: string; namespace: string; collection: string; id: string; idPath: string };
}

/** One id per change and trigger: the same across retries, restarts and redeliveries. */
export function messageId(triggerUid: string, revision: number): string {
  return `msg_${createHash('sha256').update(`${triggerUid}/${revision}`).digest('base64url').slice(0, 24)}`;
}

/** The document as of this change; a change without images (written before the trigger was known) shows it as now. */
export interface ChangedDocument {
  document: StoredDocument;
  previous?: StoredDocument;
}

export function documentBody(id: string, type: TriggerEvent, c: ChangeEntry, d: ChangedDocument): Buffer {
  const body: Record<string, unknown> = { id, type: eventTypeOf('document', type), namespace: c.key.namespace, collection: c.key.name, document: d.document };
  if (type === 'update' && d.previous) body.previous = d.previous;
  body.timestamp = new Date().toISOString();
  return Buffer.from(JSON.stringify(body));
}

export function taskBody(id: string, type: TriggerEvent, c: ChangeEntry, task: StoredResource, previous?: StoredResource): Buffer {
  const body: Record<string, unknown> = { id, type: eventTypeOf('task', type), namespace: c.key.namespace, resource: 'tasks', task };
  if (type === 'update' && previous) body.previous = previous;
  body.timestamp = new Date().toISOString();
  return Buffer.from(JSON.stringify(body));
}

const mappings = new WeakMap<SourceSpec, ReturnType<typeof compileMapping> | null>();

function mappingOf(s: SourceSpec): ReturnType<typeof compileMapping> | null {
  let m = mappings.get(s);
  if (m === undefined) mappings.set(s, (m = s.field_mapping ? compileMapping(s.field_mapping) : null));
  return m;
}

/** An external write: the document's bare external shape to the Source's write URL ({id}: its externalId, or its id). */
export function externalWrite(source: SourceSpec, c: ChangeEntry, type: TriggerEvent, d: ChangedDocument, collectionUid: string): { body: Buffer; target: MessageTarget } {
  const doc = d.document;
  const write = source.write!;
  const url = write.url.replaceAll('{id}', encodeURIComponent(doc.meta.externalId ?? doc.id));
  const eventType = eventTypeOf('document', type);
  if (type === 'delete') return { body: Buffer.alloc(0), target: { url, method: 'DELETE', eventType } };
  const m = mappingOf(source);
  const data = (doc.data ?? {}) as JsonObject;
  const target: MessageTarget = { url, method: write.method, eventType };
  if (write.id_path) target.writeBack = { collectionUid, namespace: c.key.namespace, collection: c.key.name, id: doc.id, idPath: write.id_path };
  return { body: Buffer.from(JSON.stringify(m ? m.toExternal(data) : data)), target };
}

/** `payment.*` style patterns on an event type. */
const globs = new Map<string, RegExp>();

export function globMatches(patterns: string[], value: string | undefined): boolean {
  if (value === undefined) return false;
  return patterns.some((p) => {
    let re = globs.get(p);
    if (!re) globs.set(p, (re = new RegExp(`^${p.split('*').map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`)));
    return re.test(value);
  });
}
