// Reads served from the informer caches (the delivery path never calls the API server),
// watches from them and from the cluster's history; the change log, events and revisions of
// the data plane come from the data store.
import type { Watch } from '@kubernetes/client-node';
import { ApiError } from '../../api/errors.js';
import { matchesSelector } from '../../api/selector.js';
import type { ObjectKey, StoredResource, WatchEvent } from '../../api/types.js';
import { decodeContinue, encodeContinue } from '../continue-token.js';
import { DOCUMENT_KIND, type BeforePage, type ChangeEntry, type ControlPlaneStore, type ListOptions, type ListResult, type NamedObject, type NameRange, type ObjectEvent, type WatchFilter } from '../types.js';
import { REPLAY_PAGE } from '../watch-events.js';
import type { CacheEvent, Indexes, KindCache } from './cache.js';
import { KUBE_KINDS } from './kinds.js';
import { replay, toWatchEvent, type Origins } from './watch.js';

const immediate = (): Promise<void> => new Promise((r) => setImmediate(r));

export class KubeControlPlane implements ControlPlaneStore {
  constructor(
    private readonly caches: Map<string, KindCache>,
    private readonly indexes: Indexes,
    private readonly dataControl: ControlPlaneStore,
    private readonly watcher: Watch,
    private readonly origins: Origins,
  ) {}

  cache(kind: string): KindCache {
    const c = this.caches.get(kind);
    if (!c) throw new ApiError('BadRequest', `kind "${kind}" is not stored in the cluster`);
    return c;
  }

  async get(key: ObjectKey): Promise<StoredResource | undefined> {
    return this.caches.get(key.kind)?.get(key.namespace, key.name);
  }

  async list(kind: string, opts: ListOptions = {}): Promise<ListResult> {
    const c = this.cache(kind);
    const after = opts.continue ? decodeContinue(opts.continue) : undefined;
    const items: StoredResource[] = [];
    const limit = opts.limit;
    let more = false;
    const all = c.sorted();
    // Where the page starts: after the continue token's object, or at the namespace.
    let start = after ? c.lowerBound(after[0], after[1]) : opts.namespace !== undefined ? c.lowerBound(opts.namespace, '') : 0;
    if (after && all[start] && all[start]!.metadata.namespace === after[0] && all[start]!.metadata.name === after[1]) start++;
    for (let i = start; i < all.length; i++) {
      const o = all[i]!;
      const m = o.metadata;
      if (opts.namespace !== undefined && m.namespace !== opts.namespace) {
        if (m.namespace > opts.namespace) break;
        continue;
      }
      if (opts.labelSelector?.length && !matchesSelector(m.labels, opts.labelSelector)) continue;
      if (limit !== undefined && items.length >= limit) {
        more = true;
        break;
      }
      items.push(o);
    }
    const last = items[items.length - 1];
    return { items, resourceVersion: String(c.version()), continue: more && last ? encodeContinue(last.metadata.namespace, last.metadata.name) : undefined };
  }

  async findByEndpointId(endpointId: string): Promise<StoredResource | undefined> {
    return this.indexes.endpoints.get(endpointId);
  }

  private inRange(r: NameRange): StoredResource[] {
    return this.cache(r.kind).range(r.namespace, r.after, r.before);
  }

  async countNames(r: NameRange): Promise<number> {
    return this.inRange(r).length;
  }

  async scanNames(r: NameRange, limit: number, opts: { status?: boolean } = {}): Promise<NamedObject[]> {
    return this.inRange(r).slice(0, limit).map((o) => {
      const m = o.metadata;
      const n: NamedObject = { name: m.name, uid: m.uid };
      if (m.labels) n.labels = m.labels;
      if (m.ownerReferences) n.ownerReferences = m.ownerReferences;
      if (opts.status) n.status = o.status;
      return n;
    });
  }

  async watch(filter: WatchFilter, since: string | undefined, onEvent: (e: WatchEvent) => void, beforePage?: BeforePage): Promise<() => void> {
    if (filter.kind === DOCUMENT_KIND) return this.dataControl.watch(filter, since, onEvent, beforePage);
    const caches = filter.kind ? [this.cache(filter.kind)] : KUBE_KINDS.map((k) => this.cache(k.kind));
    // "0" is "any point" in Kubernetes: as the other drivers do once their log is compacted, now.
    const from = since === undefined || since === '' || since === '0' ? undefined : Number(since);
    if (from !== undefined && (!Number.isInteger(from) || from < 0)) throw new ApiError('BadRequest', `invalid resourceVersion "${since}"`);
    const wanted = (e: CacheEvent): boolean => filter.namespace === undefined || e.object.metadata.namespace === filter.namespace;
    // Live events are held back until the replay is delivered, so nothing falls between them.
    let held: CacheEvent[] | undefined = from === undefined ? undefined : [];
    let stopped = false;
    const send = (e: CacheEvent): void => {
      if (stopped || !wanted(e)) return;
      try {
        onEvent(toWatchEvent(e, this.origins));
      } catch {
        // A failing subscriber must not break the others.
      }
    };
    const targets = caches.map((cache) => ({ cache, target: cache.rv }));
    const offs = caches.map((c) => c.subscribe((e) => (held ? held.push(e) : send(e))));
    const stop = (): void => {
      stopped = true;
      for (const off of offs) off();
    };
    if (from === undefined) return stop;
    try {
      const events = await replay(targets, this.watcher, from, this.origins);
      await this.deliver(events.filter((e) => filter.namespace === undefined || e.key.namespace === filter.namespace), onEvent, beforePage, stop, () => stopped);
    } catch (e) {
      stop();
      throw e;
    }
    const live = held ?? [];
    held = undefined;
    for (const e of live) if (e.revision > from) send(e);
    return stop;
  }

  private async deliver(events: WatchEvent[], onEvent: (e: WatchEvent) => void, beforePage: BeforePage | undefined, stop: () => void, stopped: () => boolean): Promise<void> {
    for (let i = 0; i < events.length; i += REPLAY_PAGE) {
      if (i > 0) {
        await immediate();
        if ((await beforePage?.()) === false) stop();
      }
      if (stopped()) return;
      for (const e of events.slice(i, i + REPLAY_PAGE)) {
        try {
          onEvent(e);
        } catch {
          // as in send()
        }
      }
    }
  }

  revision(): string {
    return this.dataControl.revision();
  }

  changes(after: number, limit: number): Promise<ChangeEntry[]> {
    return this.dataControl.changes(after, limit);
  }

  onRevision(fn: (rev: number) => void): () => void {
    return this.dataControl.onRevision(fn);
  }

  listEvents(key: Partial<ObjectKey>, limit?: number): Promise<ObjectEvent[]> {
    return this.dataControl.listEvents(key, limit);
  }

  /** The cluster keeps Secrets (its own encryption at rest applies): nothing is sealed here. */
  async stale(): Promise<StoredResource[]> {
    return [];
  }
}
