// What a job needs at the time it runs, read fresh: its InboundWebhook (the same one that
// queued it), the collection, the bound Source with its read endpoint, and the mapping.
import { sourceName, type HydrationSpec, type InboundWebhookSpec } from '../api/kinds/inbound-webhook.js';
import type { SourceSpec } from '../api/kinds/source.js';
import type { StoredResource } from '../api/types.js';
import { bindCollection, type BoundCollection } from '../documents/documents.js';
import { compileMapping, type Mapping } from '../mapping/index.js';
import type { Job, Store } from '../store/types.js';

export interface JobConfig {
  namespace: string;
  hydration: HydrationSpec;
  collection: BoundCollection;
  read: NonNullable<SourceSpec['read']>;
  mapping?: Mapping;
}

/** Why a job cannot run now: its reason is the record's. */
export interface ConfigProblem {
  reason: string;
  message: string;
  /** The webhook is gone (or another took its name): nothing will ever run this job. */
  final?: boolean;
}

export async function configOf(store: Store, job: Job): Promise<JobConfig | ConfigProblem> {
  const [, namespace = '', name = ''] = job.owner.split('/');
  const get = (kind: string, n: string): Promise<StoredResource | undefined> => store.control.get({ kind, namespace, name: n });
  const w = await get('InboundWebhook', name);
  if (!w || w.metadata.uid !== job.ownerUid) return { reason: 'WebhookGone', message: `inbound webhook "${name}" was deleted`, final: true };
  const spec = w.spec as InboundWebhookSpec;
  if (!spec.hydration || !spec.source_binding) return { reason: 'HydrationOff', message: `inbound webhook "${name}" no longer hydrates`, final: true };
  const col = await get('Collection', spec.collection);
  if (!col) return { reason: 'CollectionNotFound', message: `collection "${spec.collection}" not found` };
  const sname = sourceName(spec.source_binding.source);
  const src = await get('Source', sname);
  if (!src) return { reason: 'SourceNotFound', message: `source "${sname}" not found` };
  const s = src.spec as unknown as SourceSpec;
  if (!s.read) return { reason: 'SourceNotReadable', message: `source "${sname}" has no read endpoint` };
  let mapping: Mapping | undefined;
  try {
    mapping = s.field_mapping ? compileMapping(s.field_mapping) : undefined;
  } catch (e) {
    return { reason: 'MappingInvalid', message: `source "${sname}": ${(e as Error).message}` };
  }
  return { namespace, hydration: spec.hydration, collection: bindCollection(col), read: s.read, ...(mapping ? { mapping } : {}) };
}

export const isProblem = (c: JobConfig | ConfigProblem): c is ConfigProblem => 'reason' in c;
