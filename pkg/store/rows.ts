import { API_VERSION, type Status, type StoredResource } from '../api/types.js';
import type { BodyCodec } from './sealing.js';

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
}

export const RESOURCE_COLUMNS =
  'kind, namespace, name, uid, rv, create_rv, generation, created, labels, annotations, spec, status, endpoint_id';

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
  return {
    apiVersion: API_VERSION,
    kind: r.kind,
    metadata,
    spec: codec.decode(r.kind, r.namespace, r.name, r.spec),
    status: JSON.parse(r.status) as Status,
  };
}
