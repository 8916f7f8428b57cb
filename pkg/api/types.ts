// The resource shape shared by every kind (SPEC §2).
export const API_VERSION = 'orloj.dev/v1';

/** The object another one belongs to (as in Kubernetes): a run task names its TaskWebhook. */
export interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  /** The owner is the controller that made and manages this object. */
  controller?: boolean;
}

export interface ObjectMeta {
  name: string;
  namespace?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  creationTimestamp?: string;
  /** Set by the server (run tasks name their webhook); an apply keeps what is stored. */
  ownerReferences?: OwnerReference[];
}

export type ConditionStatus = 'True' | 'False' | 'Unknown';

export interface Condition {
  type: string;
  status: ConditionStatus;
  reason: string;
  message: string;
  lastTransitionTime: string;
  observedGeneration?: number;
}

export type Spec = Record<string, unknown>;

export interface Status extends Record<string, unknown> {
  observedGeneration?: number;
  conditions?: Condition[];
}

export interface Resource<S extends Spec = Spec, St extends Status = Status> {
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta;
  spec: S;
  status?: St;
}

/** A stored object always has its system metadata filled in. */
export interface StoredResource<S extends Spec = Spec, St extends Status = Status> extends Resource<S, St> {
  metadata: ObjectMeta & { namespace: string; uid: string; resourceVersion: string; generation: number; creationTimestamp: string };
  status: St;
}

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED';

/**
 * Who made a change: the API (users, GitOps), a reconciler, the delivery path (run tasks,
 * receiver counters), or the server itself. Stored in the change log, so watchers skip
 * what needs no reaction and avoid loops (a trigger must not fire on its hooks' writes).
 */
export type WriteOrigin = 'api' | 'reconciler' | 'delivery' | 'system';

export interface WatchEvent {
  type: WatchEventType;
  /** Known without reading the object. */
  key: ObjectKey;
  /** The object after the change (as it was, for DELETED); may be built on first read. */
  readonly object: StoredResource;
  origin: WriteOrigin;
  /** The revision of this change. */
  revision: number;
}

export interface ObjectKey {
  kind: string;
  namespace: string;
  name: string;
}

export function keyOf(o: { kind: string; metadata: { namespace?: string; name: string } }): ObjectKey {
  return { kind: o.kind, namespace: o.metadata.namespace ?? '', name: o.metadata.name };
}

export function keyString(k: ObjectKey): string {
  return k.namespace ? `${k.kind}/${k.namespace}/${k.name}` : `${k.kind}/${k.name}`;
}
