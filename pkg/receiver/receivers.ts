import { LRUCache } from 'lru-cache';
import { ENDPOINT_ID_PATTERN } from '../api/endpoint.js';
import type { StoredResource, WatchEvent } from '../api/types.js';
import type { Objects } from '../store/objects.js';
import { lookupKind } from '../api/registry.js';
import type { ReceiverKinds } from './kinds/index.js';
import type { Fetch, Receiver } from './types.js';

const refKey = (kind: string, namespace: string, name: string): string => `${kind}/${namespace}/${name}`;

/** A referenced object as receivers read it; one copy serves every receiver that names it. */
interface Shared {
  obj?: StoredResource;
}

const endpointOf = (o: StoredResource): string | undefined => {
  const id = o.status.endpointID;
  return typeof id === 'string' && id ? id : undefined;
};

/**
 * Endpoint ID → compiled receiver, looked up through the store's endpoint index and kept
 * in an LRU. Watch events drop the entries whose object, or an object it refers to,
 * changed, found through small indexes so no event scans the cache. Every endpoint ID in
 * use is known (listed at start, then followed by the watch), so an unknown one is
 * answered without reading the store.
 */
export class ReceiverCache {
  /** Every receiver's endpoint ID, by uid, and the set of them. */
  private readonly endpoints = new Map<string, string>();
  private readonly known = new Set<string>();
  /** Every receiver's endpoint ID by kind/namespace/name, for routes that name a receiver. */
  private readonly byName = new Map<string, string>();
  private readonly byUid = new Map<string, string>();
  private readonly byRef = new Map<string, Set<string>>();
  private readonly cache = new LRUCache<string, Receiver>({
    max: 50_000,
    dispose: (r, id) => this.unindex(r, id),
  });
  private readonly shared = new LRUCache<string, Shared>({ max: 10_000 });
  /** Bumped by every invalidation: what was read before one is used but not cached. */
  private epoch = 0;
  private stopWatch: () => void = () => undefined;

  constructor(
    private readonly store: Objects,
    private readonly receiverKinds: ReceiverKinds,
    /** Called for each endpoint ID looked up in the store. */
    private readonly lookedUp: () => void = () => undefined,
  ) {}

  /** Watches first, then lists: a change made while listing is seen by the watch. */
  async start(): Promise<void> {
    this.stopWatch = await this.store.watch({}, undefined, (e) => this.invalidate(e));
    for (const kind of this.receiverKinds.keys()) {
      let cont: string | undefined;
      do {
        const page = await this.store.list(kind, { limit: 500, continue: cont });
        for (const o of page.items) this.track(o, endpointOf(o));
        cont = page.continue;
      } while (cont);
    }
  }

  /** The compiled receiver when it is cached: the hot path needs no promise for a hit. */
  cached(endpointId: string): Receiver | undefined {
    return this.cache.get(endpointId);
  }

  async lookup(endpointId: string): Promise<Receiver | undefined> {
    const hit = this.cache.get(endpointId);
    if (hit) return hit;
    if (!this.mayExist(endpointId)) return undefined;
    const epoch = this.epoch;
    this.lookedUp();
    const o = await this.store.findByEndpointId(endpointId);
    const kind = o && this.receiverKinds.get(o.kind);
    if (!o || !kind) return undefined;
    const r = await kind.compile(o, this.fetchShared);
    if (epoch === this.epoch) {
      this.cache.set(endpointId, r);
      this.index(r, endpointId);
    }
    return r;
  }

  /**
   * Known, or possibly just committed: a reader may see a new endpoint ID (a status read
   * right after the reconciler's commit) before its watch event is published here.
   */
  private mayExist(endpointId: string): boolean {
    return this.known.has(endpointId) || (this.store.store.unpublished() && ENDPOINT_ID_PATTERN.test(endpointId));
  }

  /** The endpoint ID of a receiver named by kind, namespace and name, from memory (or the store while a write is unpublished). */
  async endpointOfName(kind: string, namespace: string, name: string): Promise<string | undefined> {
    const id = this.byName.get(refKey(kind, namespace, name));
    if (id || !this.store.store.unpublished()) return id;
    const o = await this.store.get(kind, namespace, name);
    return o && endpointOf(o);
  }

  private track(o: StoredResource, endpointId: string | undefined): void {
    const name = refKey(o.kind, o.metadata.namespace, o.metadata.name);
    if (endpointId === undefined) this.byName.delete(name);
    else this.byName.set(name, endpointId);
    const uid = o.metadata.uid;
    const was = this.endpoints.get(uid);
    if (was === endpointId) return;
    if (was !== undefined) this.known.delete(was);
    if (endpointId === undefined) this.endpoints.delete(uid);
    else (this.endpoints.set(uid, endpointId), this.known.add(endpointId));
  }

  private readonly fetchShared: Fetch = async (kind, namespace, name) => {
    const key = refKey(kind, namespace, name);
    const hit = this.shared.get(key);
    if (hit) return hit.obj;
    const epoch = this.epoch;
    const obj = await this.store.get(kind, namespace, name);
    if (epoch === this.epoch) this.shared.set(key, { obj });
    return obj;
  };

  private refs(r: Receiver): string[] {
    const ns = r.object.metadata.namespace;
    return (lookupKind(r.object.kind)?.refs?.(r.object) ?? []).map((ref) => refKey(ref.kind, ns, ref.name));
  }

  private index(r: Receiver, id: string): void {
    this.byUid.set(r.object.metadata.uid, id);
    for (const k of this.refs(r)) {
      let s = this.byRef.get(k);
      if (!s) this.byRef.set(k, (s = new Set()));
      s.add(id);
    }
  }

  private unindex(r: Receiver, id: string): void {
    if (this.byUid.get(r.object.metadata.uid) === id) this.byUid.delete(r.object.metadata.uid);
    for (const k of this.refs(r)) {
      const s = this.byRef.get(k);
      s?.delete(id);
      if (s && !s.size) this.byRef.delete(k);
    }
  }

  private invalidate(e: WatchEvent): void {
    // The delivery path writes run tasks and counters: nothing a receiver is compiled from.
    if (e.origin === 'delivery') return;
    const { kind, namespace, name } = e.key;
    if (this.receiverKinds.has(kind)) {
      this.track(e.object, e.type === 'DELETED' ? undefined : endpointOf(e.object));
      // Even when it is not cached: a lookup compiling it right now must not keep what it read.
      this.epoch++;
      const id = this.byUid.get(e.object.metadata.uid);
      if (id) this.cache.delete(id);
      return;
    }
    const ref = refKey(kind, namespace, name);
    const ids = this.byRef.get(ref);
    if (!ids && !this.shared.has(ref)) return;
    this.epoch++;
    this.shared.delete(ref);
    for (const id of [...(ids ?? [])]) this.cache.delete(id);
  }

  close(): void {
    this.stopWatch();
    this.cache.clear();
  }
}
