// The Kubernetes store: resources are objects of the cluster (CRDs, core Secrets and
// Namespaces), read from informer caches and written through the API server; the data plane
// (claims, counters, records, documents, queues, jobs, events and the change log) is the
// data store's, an opened SQLite or PostgreSQL store. @kubernetes/client-node is loaded here
// only, dynamically: other modes never load it.
import type { KubeConfig } from '@kubernetes/client-node';
import type { DataPlaneStore, Elector, Maintenance, SharedSettings, Store, Unit, UnitResult } from '../types.js';
import { Indexes, KindCache } from './cache.js';
import { commitUnit, isObjectOp } from './commit.js';
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

function claimKeys(unit: Unit): string[] {
  const keys: string[] = [];
  for (const op of unit.ops) {
    if (op.op !== 'claim') break;
    keys.push(`${op.scope}\n${op.key}`);
  }
  return keys;
}

export class KubernetesStore implements Store {
  readonly data: DataPlaneStore;
  readonly shared?: SharedSettings;
  private closing?: Promise<void>;
  /** Per claimed key, the last unit claiming it (settled, never rejected). */
  private readonly claiming = new Map<string, Promise<void>>();
  /** Units of other origins than delivery whose cluster writes may not all be seen yet. */
  private writing = 0;

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

  /**
   * Units claiming the same key commit one after the other, in the order they came: the
   * first copy of a delivery wins, as in the other drivers, and a later copy is answered
   * held before it writes anything to the cluster.
   */
  commit(unit: Unit): Promise<UnitResult> {
    const keys = claimKeys(unit);
    if (!keys.length) return this.commitNow(unit);
    const before = keys.flatMap((k) => this.claiming.get(k) ?? []);
    const run = Promise.all(before).then(() => this.commitNow(unit));
    const settled = run.then(() => undefined, () => undefined);
    for (const k of keys) this.claiming.set(k, settled);
    void settled.then(() => {
      for (const k of keys) if (this.claiming.get(k) === settled) this.claiming.delete(k);
    });
    return run;
  }

  /** Each cluster op waits for its informer, so a unit's writes are all seen once it is committed. */
  private async commitNow(unit: Unit): Promise<UnitResult> {
    const counted = unit.origin !== 'delivery' && unit.ops.some(isObjectOp);
    if (counted) this.writing++;
    try {
      return await commitUnit(unit, this.ops, this.dataStore, NAMESPACED);
    } finally {
      if (counted) this.writing--;
    }
  }

  /** True while a unit of ours (not a delivery's) may have written to the cluster what the informers have not shown yet. */
  unpublished(): boolean {
    return this.writing > 0 || this.dataStore.unpublished();
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
