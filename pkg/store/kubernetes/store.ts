// The Kubernetes store: resources are objects of the cluster (CRDs, core Secrets and
// Namespaces), read from informer caches and written through the API server; the data plane
// (claims, counters, records, documents, queues, jobs, events and the change log) is the
// data store's, an opened SQLite or PostgreSQL store. @kubernetes/client-node is loaded here
// only, dynamically: other modes never load it.
import type { KubeConfig } from '@kubernetes/client-node';
import type { DataPlaneStore, Elector, Maintenance, SharedSettings, Store, Unit, UnitResult } from '../types.js';
import { Indexes, KindCache } from './cache.js';
import { commitUnit } from './commit.js';
import { KubeControlPlane } from './control-plane.js';
import { KUBE_KINDS } from './kinds.js';
import { ClusterOps } from './objects-ops.js';
import { Rest } from './rest.js';
import { Origins } from './watch.js';

export interface KubernetesStoreOptions {
  kubeConfig: KubeConfig;
  /** The data plane's store, already open; closed with this one. */
  data: Store;
  /** Closed with the store, as the other drivers close theirs. */
  elector: Elector;
  log?: (msg: string) => void;
}

const NAMESPACED = KUBE_KINDS.filter((k) => k.namespaced).map((k) => k.kind);

export class KubernetesStore implements Store {
  readonly data: DataPlaneStore;
  readonly shared?: SharedSettings;
  private closing?: Promise<void>;

  private constructor(
    readonly control: KubeControlPlane,
    readonly elector: Elector,
    private readonly dataStore: Store,
    private readonly caches: KindCache[],
    private readonly ops: ClusterOps,
    private readonly rest: Rest,
  ) {
    this.data = dataStore.data;
    this.shared = dataStore.shared;
  }

  /** Starts one informer per kind; resolves once every one has listed and is watching. */
  static async open(opts: KubernetesStoreOptions): Promise<KubernetesStore> {
    const k8s = await import('@kubernetes/client-node');
    const log = opts.log ?? ((msg: string) => console.error(msg));
    const rest = Rest.create(opts.kubeConfig);
    const watch = new k8s.Watch(opts.kubeConfig);
    const indexes = new Indexes();
    const parts = { ListWatch: k8s.ListWatch, watch, rest, log };
    const caches = new Map(KUBE_KINDS.map((k) => [k.kind, new KindCache(k, indexes, parts)]));
    try {
      await Promise.all([...caches.values()].map((c) => c.start()));
    } catch (e) {
      await Promise.all([...caches.values()].map((c) => c.stop()));
      rest.close();
      throw e;
    }
    const origins = new Origins();
    const control = new KubeControlPlane(caches, indexes, opts.data.control, watch, origins);
    const ops = new ClusterOps({ rest, cache: (kind) => control.cache(kind), indexes, origins, log });
    return new KubernetesStore(control, opts.elector, opts.data, [...caches.values()], ops, rest);
  }

  commit(unit: Unit): Promise<UnitResult> {
    return commitUnit(unit, this.ops, this.dataStore, NAMESPACED);
  }

  /** True while a cluster write of ours has not been seen by the informers yet (or the data store's has not been published). */
  unpublished(): boolean {
    return this.ops.inFlight > 0 || this.dataStore.unpublished();
  }

  /** The data store's: the cluster compacts its own history. */
  maintain(m: Maintenance): Promise<number> {
    return this.dataStore.maintain(m);
  }

  close(): Promise<void> {
    return (this.closing ??= this.shutDown());
  }

  private async shutDown(): Promise<void> {
    await Promise.all(this.caches.map((c) => c.stop()));
    this.rest.close();
    await this.elector.close();
    await this.dataStore.close();
  }
}
