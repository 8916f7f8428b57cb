import { API_VERSION, type Status, type StoredResource } from '../../api/types.js';

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
  deleted_at: number | null;
}

export { RESOURCE_COLUMNS } from './statements.js';

export function rowToResource(r: ResourceRow): StoredResource {
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
    spec: JSON.parse(r.spec) as Record<string, unknown>,
    status: JSON.parse(r.status) as Status,
  };
}

export function resourceToRow(o: StoredResource, createRv: number): ResourceRow {
  const m = o.metadata;
  return {
    kind: o.kind,
    namespace: m.namespace,
    name: m.name,
    uid: m.uid,
    rv: Number(m.resourceVersion),
    create_rv: createRv,
    generation: m.generation,
    created: m.creationTimestamp,
    labels: m.labels && Object.keys(m.labels).length ? JSON.stringify(m.labels) : null,
    annotations: m.annotations && Object.keys(m.annotations).length ? JSON.stringify(m.annotations) : null,
    spec: JSON.stringify(o.spec),
    status: JSON.stringify(o.status ?? {}),
    endpoint_id: typeof o.status?.endpointID === 'string' && o.status.endpointID ? o.status.endpointID : null,
    deleted_at: null,
  };
}
