// Informer caches: one list+watch per kind (client-node's ListWatch), mapped to
// StoredResource as events arrive, so reads never call the API server. The caches also keep
// what the drivers keep as indexes: status.endpointID across kinds, and run tasks by event.
import type { KubernetesListObject, KubernetesObject, ListWatch, Watch } from '@kubernetes/client-node';
import { ApiError } from '../../api/errors.js';
import { LABEL_EVENT_ID } from '../../api/kinds/task.js';
import type { StoredResource } from '../../api/types.js';
import { deletedView, fromKube, type KubeKind, type KubeList, type KubeObject } from './kinds.js';
import type { Rest } from './rest.js';

export interface CacheEvent {
  type: 'ADDED' | 'MODIFIED' | 'DELETED';
  object: StoredResource;
  revision: number;
}

export type CacheListener = (e: CacheEvent) => void;

/** What ListWatch is built from: the module is loaded once, dynamically (Kubernetes mode only). */
export interface InformerParts {
  ListWatch: typeof ListWatch;
  watch: Watch;
  rest: Rest;
  log: (msg: string) => void;
}

const RESTART_MS = 1000;

export const objectKey = (namespace: string, name: string): string => `${namespace}/${name}`;

/** (namespace, name) order, as the drivers' key index: -1, 0 or 1. */
function compare(o: StoredResource, namespace: string, name: string): number {
  const m = o.metadata;
  if (m.namespace !== namespace) return m.namespace < namespace ? -1 : 1;
  return m.name === name ? 0 : m.name < name ? -1 : 1;
}

function endpointOf(o: StoredResource | undefined): string | undefined {
  const id = o?.status.endpointID;
  return typeof id === 'string' && id ? id : undefined;
}

/** Indexes shared by every kind's cache. */
export class Indexes {
  readonly endpoints = new Map<string, StoredResource>();
  /** Tasks by their event-id label value (run tasks), to find a delivery's task after a crash. */
  readonly byEvent = new Map<string, Set<StoredResource>>();

  update(before: StoredResource | undefined, after: StoredResource | undefined): void {
    const [was, now] = [endpointOf(before), endpointOf(after)];
    if (was && this.endpoints.get(was) === before) this.endpoints.delete(was);
    if (now && after) this.endpoints.set(now, after);
    if (before?.kind === 'Task') this.byEvent.get(before.metadata.labels?.[LABEL_EVENT_ID] ?? '')?.delete(before);
    const ev = after?.kind === 'Task' ? after.metadata.labels?.[LABEL_EVENT_ID] : undefined;
    if (ev && after) (this.byEvent.get(ev) ?? this.byEvent.set(ev, new Set()).get(ev)!).add(after);
  }
}

export class KindCache {
  private objects = new Map<string, StoredResource>();
  /** The objects in key order, kept as they change: lists and name ranges read it. */
  private readonly ordered: StoredResource[] = [];
  private readonly listeners = new Set<CacheListener>();
  private waiters: Array<() => boolean> = [];
  /** Writes of this process to the kind that the cluster has not answered yet. */
  private readonly inFlight = new Set<number>();
  private nextWrite = 0;
  /** Events waiting for the writes that were in flight when they arrived. */
  private held: Array<{ e: CacheEvent; waits: Set<number> }> = [];
  private informer?: ListWatch<KubernetesObject>;
  private listed = false;
  private lastError?: unknown;
  private stopped = false;
  /** The newest revision this cache has seen of its kind (an event's, or an object's). */
  rv = 0;
  /** The revision of the cache's last list: a list answered from the cache is at least there. */
  private listRv = 0;

  constructor(
    readonly kind: KubeKind,
    private readonly indexes: Indexes,
    private readonly parts: InformerParts,
  ) {}

  /** Lists, then watches; resolves once listed and watching (or throws why not). */
  async start(): Promise<void> {
    const { ListWatch: LW, watch, rest } = this.parts;
    const k = this.kind;
    const list = async (): Promise<KubernetesListObject<KubernetesObject>> => {
      const q = k.fieldSelector ? `?fieldSelector=${encodeURIComponent(k.fieldSelector)}` : '';
      const l = await rest.request<KubeList>('GET', k.path() + q);
      this.listed = true;
      this.listRv = Math.max(this.listRv, Number(l.metadata.resourceVersion ?? 0));
      return l as unknown as KubernetesListObject<KubernetesObject>;
    };
    const lw = new LW<KubernetesObject>(k.path(), watch, list, false, undefined, k.fieldSelector);
    const raw = (fn: (o: KubeObject) => void) => (o: KubernetesObject) => fn(o as unknown as KubeObject);
    lw.on('add', raw((o) => this.upsert(o)));
    lw.on('update', raw((o) => this.upsert(o)));
    lw.on('delete', raw((o) => this.remove(o)));
    lw.on('error', (e: unknown) => this.failed(e));
    this.informer = lw;
    await lw.start();
    if (!this.listed) throw this.startError();
  }

  private startError(): Error {
    const why = this.lastError instanceof Error ? this.lastError.message : String(this.lastError);
    const hint = this.kind.core ? '' : ' (are the CRDs installed? kubectl apply -f crds/)';
    return new ApiError('ServiceUnavailable', `cannot list ${this.kind.kind} from the Kubernetes API server: ${why}${hint}`);
  }

  /** A watch that ended with an error is restarted: ListWatch leaves that to its user. */
  private failed(e: unknown): void {
    this.lastError = e;
    if (!this.listed || this.stopped) return;
    this.parts.log(`kubernetes: watch of ${this.kind.kind} failed (${(e as Error).message ?? e}); restarting`);
    setTimeout(() => void (this.stopped || this.informer?.start().catch((err: unknown) => this.failed(err))), RESTART_MS).unref();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.informer?.stop();
    this.listeners.clear();
  }

  /** What a list answered from this cache is current at. */
  version(): number {
    return Math.max(this.rv, this.listRv);
  }

  get(namespace: string, name: string): StoredResource | undefined {
    return this.objects.get(objectKey(namespace, name));
  }

  /** Every object, by namespace and name; read-only. */
  sorted(): readonly StoredResource[] {
    return this.ordered;
  }

  /** The index of the first object at or after (namespace, name). */
  lowerBound(namespace: string, name: string): number {
    let [lo, hi] = [0, this.ordered.length];
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (compare(this.ordered[mid]!, namespace, name) < 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** The objects of a namespace with names strictly between `after` and `before`. */
  range(namespace: string, after: string, before: string): StoredResource[] {
    let from = this.lowerBound(namespace, after);
    if (this.ordered[from] && compare(this.ordered[from]!, namespace, after) === 0) from++;
    return this.ordered.slice(from, Math.max(from, this.lowerBound(namespace, before)));
  }

  subscribe(fn: CacheListener): () => void {
    this.listeners.add(fn);
    return () => void this.listeners.delete(fn);
  }

  /** Resolves once `seen()` holds after some event (or at once), false after `timeoutMs`. */
  waitFor(seen: () => boolean, timeoutMs: number): Promise<boolean> {
    if (seen()) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== check);
        resolve(false);
      }, timeoutMs);
      const check = (): boolean => {
        if (!seen()) return false;
        clearTimeout(timer);
        resolve(true);
        return true;
      };
      this.waiters.push(check);
    });
  }

  private upsert(o: KubeObject): void {
    // An object being deleted (a finalizer holds it, as a Namespace's does) is gone for us.
    if (o.metadata.deletionTimestamp) return this.remove(o);
    const next = fromKube(this.kind, o);
    const key = objectKey(next.metadata.namespace, next.metadata.name);
    const before = this.objects.get(key);
    this.set(key, before, next);
    const sameUid = before && before.metadata.uid === next.metadata.uid;
    if (before && !sameUid) this.emit({ type: 'DELETED', object: deletedView(before, before.metadata.resourceVersion), revision: Number(before.metadata.resourceVersion) });
    this.emit({ type: sameUid ? 'MODIFIED' : 'ADDED', object: next, revision: Number(next.metadata.resourceVersion) });
  }

  private remove(o: KubeObject): void {
    const gone = fromKube(this.kind, o);
    const key = objectKey(gone.metadata.namespace, gone.metadata.name);
    const before = this.objects.get(key);
    const rv = Number(gone.metadata.resourceVersion);
    // Not one we show (or gone already): only the revision moves on, behind what is held back.
    if (!before || before.metadata.uid !== gone.metadata.uid) return this.held.length ? undefined : this.advance(rv);
    this.set(key, before, undefined);
    this.emit({ type: 'DELETED', object: deletedView(before, gone.metadata.resourceVersion), revision: rv });
  }

  private set(key: string, before: StoredResource | undefined, after: StoredResource | undefined): void {
    if (after) this.objects.set(key, after);
    else this.objects.delete(key);
    const o = (after ?? before)!;
    const i = this.lowerBound(o.metadata.namespace, o.metadata.name);
    const present = !!this.ordered[i] && compare(this.ordered[i]!, o.metadata.namespace, o.metadata.name) === 0;
    if (after) this.ordered.splice(i, present ? 1 : 0, after);
    else if (present) this.ordered.splice(i, 1);
    this.indexes.update(before, after);
  }

  private advance(rv: number): void {
    if (rv > this.rv) this.rv = rv;
    if (this.waiters.length) this.waiters = this.waiters.filter((w) => !w());
  }

  /**
   * A write of ours begins: events arriving until it ends wait for it, since one of them
   * may be its own, whose origin is known only from the answer. Each waits only for the
   * writes in flight when it arrived, so a steady stream of writes holds nothing for long.
   */
  begin(): number {
    const id = ++this.nextWrite;
    this.inFlight.add(id);
    return id;
  }

  end(id: number): void {
    this.inFlight.delete(id);
    for (const h of this.held) h.waits.delete(id);
    this.release();
  }

  private release(): void {
    while (this.held[0]?.waits.size === 0) this.deliver(this.held.shift()!.e);
  }

  private emit(e: CacheEvent): void {
    if (!this.held.length && !this.inFlight.size) return this.deliver(e);
    this.held.push({ e, waits: new Set(this.inFlight) });
    this.release();
  }

  private deliver(e: CacheEvent): void {
    if (e.revision > this.rv) this.rv = e.revision;
    for (const fn of this.listeners) {
      try {
        fn(e);
      } catch {
        // A failing listener must not break the cache or other listeners.
      }
    }
    this.advance(e.revision);
  }
}
