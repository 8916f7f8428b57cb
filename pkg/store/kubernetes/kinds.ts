// How each Orloj kind lives in the cluster, and the mapping between a cluster object and a
// StoredResource. Six kinds are CRDs (orloj.dev/v1). Secret is a core v1 Secret of type
// Opaque: only those, since other types belong to other tools (service-account tokens,
// TLS, Helm releases), and a reconciler writing status onto them would be intrusive.
// Namespace is a core Namespace, spec.environment ↔ label orloj.dev/environment. Core
// kinds have no status of ours: it is kept as JSON in an annotation.
import { kinds } from '../../api/registry.js';
import { crdPlural, isCrdKind } from '../../crd/generate.js';
import { API_VERSION, type ObjectMeta, type OwnerReference, type Spec, type Status, type StoredResource } from '../../api/types.js';

export const ENVIRONMENT_LABEL = 'orloj.dev/environment';
export const STATUS_ANNOTATION = 'orloj.dev/status';
/** Kubernetes 1.21+ labels every namespace with its name: not ours to show or keep. */
const NAME_LABEL = 'kubernetes.io/metadata.name';

export interface KubeMeta {
  name: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  ownerReferences?: OwnerReference[];
  finalizers?: string[];
}

export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata: KubeMeta;
  spec?: Record<string, unknown>;
  status?: Record<string, unknown>;
  data?: Record<string, string>;
  type?: string;
}

export interface KubeList {
  metadata: { resourceVersion?: string; continue?: string };
  items: KubeObject[];
}

export interface KubeKind {
  kind: string;
  namespaced: boolean;
  /** The collection's path, in a namespace (or cluster-wide when namespace is undefined). */
  path(namespace?: string): string;
  /** A field selector the informer lists with (Secrets: Opaque only). */
  fieldSelector?: string;
  core: boolean;
  apiVersion: string;
  clusterKind: string;
}

const GROUP_PATH = '/apis/orloj.dev/v1';


function crdKind(kind: string, plural: string): KubeKind {
  return {
    kind, namespaced: true, core: false, apiVersion: API_VERSION, clusterKind: kind,
    path: (ns) => (ns === undefined ? `${GROUP_PATH}/${plural}` : `${GROUP_PATH}/namespaces/${encodeURIComponent(ns)}/${plural}`),
  };
}

const secretKind: KubeKind = {
  kind: 'Secret', namespaced: true, core: true, apiVersion: 'v1', clusterKind: 'Secret', fieldSelector: 'type=Opaque',
  path: (ns) => (ns === undefined ? '/api/v1/secrets' : `/api/v1/namespaces/${encodeURIComponent(ns)}/secrets`),
};

const namespaceKind: KubeKind = {
  kind: 'Namespace', namespaced: false, core: true, apiVersion: 'v1', clusterKind: 'Namespace', path: () => '/api/v1/namespaces',
};

/** Every kind the store serves from the cluster. */
export const KUBE_KINDS: readonly KubeKind[] = [namespaceKind, secretKind, ...kinds.filter(isCrdKind).map((d) => crdKind(d.kind, crdPlural(d)))];

const byKind = new Map(KUBE_KINDS.map((k) => [k.kind, k]));
export const kubeKind = (kind: string): KubeKind | undefined => byKind.get(kind);

/** One object's path. */
export const objectPath = (k: KubeKind, namespace: string, name: string): string =>
  `${k.path(k.namespaced ? namespace : undefined)}/${encodeURIComponent(name)}`;

function without(m: Record<string, string> | undefined, ...keys: string[]): Record<string, string> | undefined {
  if (!m) return undefined;
  const out = { ...m };
  for (const k of keys) delete out[k];
  return Object.keys(out).length ? out : undefined;
}

function statusOf(annotations: Record<string, string> | undefined): Status {
  const raw = annotations?.[STATUS_ANNOTATION];
  if (!raw) return {};
  try {
    return JSON.parse(raw) as Status;
  } catch {
    return {};
  }
}

function coreSpec(kind: string, o: KubeObject): Spec {
  if (kind === 'Secret') return { type: o.type ?? 'Opaque', data: o.data ?? {} };
  const env = o.metadata.labels?.[ENVIRONMENT_LABEL];
  return env ? { environment: env } : {};
}

/**
 * Finalizers others set (the store has no place for them): kept beside the objects read, so
 * that an update, which replaces the metadata, sends them back.
 */
const finalizers = new WeakMap<StoredResource, string[]>();
export const finalizersOf = (o: StoredResource | undefined): string[] | undefined => (o ? finalizers.get(o) : undefined);

/** A cluster object as the store shows it. */
export function fromKube(k: KubeKind, o: KubeObject): StoredResource {
  const out = mapped(k, o);
  if (o.metadata.finalizers?.length) finalizers.set(out, o.metadata.finalizers);
  return out;
}

function mapped(k: KubeKind, o: KubeObject): StoredResource {
  const m = o.metadata;
  const annotations = without(m.annotations, STATUS_ANNOTATION);
  const labels = k.kind === 'Namespace' ? without(m.labels, ENVIRONMENT_LABEL, NAME_LABEL) : without(m.labels);
  const metadata: StoredResource['metadata'] = {
    name: m.name, namespace: k.namespaced ? (m.namespace ?? '') : '', uid: m.uid ?? '', resourceVersion: m.resourceVersion ?? '0',
    generation: m.generation ?? 1, creationTimestamp: m.creationTimestamp ?? '',
  };
  if (labels) metadata.labels = labels;
  if (annotations) metadata.annotations = annotations;
  if (m.ownerReferences?.length) metadata.ownerReferences = m.ownerReferences;
  const spec = k.core ? coreSpec(k.kind, o) : (o.spec ?? {});
  const status = k.core ? statusOf(m.annotations) : ((o.status ?? {}) as Status);
  return { apiVersion: API_VERSION, kind: k.kind, metadata, spec, status };
}

function kubeMeta(k: KubeKind, o: StoredResource, withVersion: boolean): KubeMeta {
  const m: ObjectMeta = o.metadata;
  const meta: KubeMeta = { name: m.name };
  if (k.namespaced) meta.namespace = m.namespace;
  if (withVersion && m.resourceVersion && m.resourceVersion !== '0') meta.resourceVersion = m.resourceVersion;
  let labels = m.labels;
  if (k.kind === 'Namespace' && typeof o.spec.environment === 'string') labels = { ...labels, [ENVIRONMENT_LABEL]: o.spec.environment };
  if (labels && Object.keys(labels).length) meta.labels = labels;
  let annotations = m.annotations;
  if (k.core && o.status && Object.keys(o.status).length) annotations = { ...annotations, [STATUS_ANNOTATION]: JSON.stringify(o.status) };
  if (annotations && Object.keys(annotations).length) meta.annotations = annotations;
  if (m.ownerReferences?.length) meta.ownerReferences = m.ownerReferences;
  return meta;
}

/** The cluster object a write sends: metadata the cluster keeps, spec (or a core kind's fields). */
export function toKube(k: KubeKind, o: StoredResource, withVersion: boolean): KubeObject {
  const out: KubeObject = { apiVersion: k.apiVersion, kind: k.clusterKind, metadata: kubeMeta(k, o, withVersion) };
  if (k.kind === 'Secret') {
    out.type = typeof o.spec.type === 'string' ? o.spec.type : 'Opaque';
    out.data = (o.spec.data as Record<string, string> | undefined) ?? {};
  } else if (!k.core) out.spec = o.spec;
  return out;
}

/** The status annotation's value for a core kind's status. */
export const statusAnnotation = (status: Status): string | null => (Object.keys(status).length ? JSON.stringify(status) : null);

/** A deletion as a watcher sees it: identity and labels, nothing else (a Secret's values go with it). */
export function deletedView(o: StoredResource, resourceVersion: string): StoredResource {
  const metadata: StoredResource['metadata'] = {
    name: o.metadata.name, namespace: o.metadata.namespace, uid: o.metadata.uid, resourceVersion, generation: 0, creationTimestamp: '',
  };
  if (o.metadata.labels) metadata.labels = o.metadata.labels;
  return { apiVersion: API_VERSION, kind: o.kind, metadata, spec: {}, status: {} };
}
