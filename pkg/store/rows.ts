import { API_VERSION, type OwnerReference, type Status, type StoredResource } from '../api/types.js';
import type { BodyCodec } from './sealing.js';
import type { NamedObject } from './types.js';

export interface ResourceRow {
  kind: string;
  namespace: string;
  name: string;
  uid: string;
  rv: number;
  create_rv: number;
  generation: number;
  created: string;
  labels: string | null;
  annotations: string | null;
  spec: string;
  status: string;
  endpoint_id: string | null;
  /** metadata.ownerReferences as JSON. */
  owners: string | null;
}

export const RESOURCE_COLUMNS =
  'kind, namespace, name, uid, rv, create_rv, generation, created, labels, annotations, spec, status, endpoint_id, owners';

/** The object a row holds; the codec opens the spec of a sensitive kind. */
export function rowToResource(r: ResourceRow, codec: BodyCodec): StoredResource {
  const metadata: StoredResource['metadata'] = {
    name: r.name,
    namespace: r.namespace,
    uid: r.uid,
    resourceVersion: String(r.rv),
    generation: r.generation,
    creationTimestamp: r.created,
  };
  if (r.labels) metadata.labels = JSON.parse(r.labels) as Record<string, string>;
  if (r.annotations) metadata.annotations = JSON.parse(r.annotations) as Record<string, string>;
  if (r.owners) metadata.ownerReferences = JSON.parse(r.owners) as OwnerReference[];
  return {
    apiVersion: API_VERSION,
    kind: r.kind,
    metadata,
    spec: codec.decode(r.kind, r.namespace, r.name, r.spec),
    status: JSON.parse(r.status) as Status,
  };
}

/** The owners column of an object: null without owner references. */
export const ownersOf = (m: { ownerReferences?: OwnerReference[] }): string | null => (m.ownerReferences?.length ? JSON.stringify(m.ownerReferences) : null);

/** The columns a name scan reads: no spec (status only when asked for). */
export interface NamedRow {
  name: string;
  uid: string;
  labels: string | null;
  owners: string | null;
  status?: string;
}

export const NAMED_COLUMNS = 'name, uid, labels, owners';

export function rowToNamed(r: NamedRow): NamedObject {
  const o: NamedObject = { name: r.name, uid: r.uid };
  if (r.labels) o.labels = JSON.parse(r.labels) as Record<string, string>;
  if (r.owners) o.ownerReferences = JSON.parse(r.owners) as OwnerReference[];
  if (r.status !== undefined) o.status = JSON.parse(r.status) as Status;
  return o;
}
