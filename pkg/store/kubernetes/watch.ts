// Watches from a resourceVersion: per kind, a Kubernetes watch from it replays what changed
// up to what the informer cache had seen when the watch began; the informer's stream goes on
// from there. The replay shows each object once, at its newest change, as the drivers'
// change-log replays do (a deleted object as its identity and labels only).
import type { Watch } from '@kubernetes/client-node';
import { ApiError } from '../../api/errors.js';
import type { StoredResource, WatchEvent, WriteOrigin } from '../../api/types.js';
import type { CacheEvent, KindCache } from './cache.js';
import { deletedView, fromKube, type KubeObject } from './kinds.js';

/** How long a replay waits for the cluster to catch up with the cache before it gives up. */
const REPLAY_TIMEOUT_MS = 30_000;
const ORIGINS_KEPT = 20_000;

/**
 * The cluster keeps no origin of a change: the origins of this process's own writes are
 * remembered for a while, by resourceVersion (deletions by uid); any other change is 'api'.
 */
export class Origins {
  private readonly byVersion = new Map<string, WriteOrigin>();

  remember(id: string, origin: WriteOrigin): void {
    this.byVersion.set(id, origin);
    if (this.byVersion.size > ORIGINS_KEPT) this.byVersion.delete(this.byVersion.keys().next().value!);
  }

  of(e: CacheEvent): WriteOrigin {
    const m = e.object.metadata;
    return (e.type === 'DELETED' ? this.byVersion.get(`uid:${m.uid}`) : undefined) ?? this.byVersion.get(String(e.revision)) ?? 'api';
  }
}

interface RawEvent {
  type: string;
  object: KubeObject & { code?: number; message?: string };
}

function toEvent(cache: KindCache, raw: RawEvent): CacheEvent | undefined {
  if (raw.type !== 'ADDED' && raw.type !== 'MODIFIED' && raw.type !== 'DELETED') return undefined;
  const o = fromKube(cache.kind, raw.object);
  const rv = o.metadata.resourceVersion;
  const gone = raw.type === 'DELETED' || !!raw.object.metadata.deletionTimestamp;
  return { type: gone ? 'DELETED' : raw.type, object: gone ? deletedView(o, rv) : o, revision: Number(rv) };
}

/** The raw changes of one kind after `since`, up to `target` (the cache's revision when the watch began). */
function changesOf(cache: KindCache, watch: Watch, since: number, target: number): Promise<CacheEvent[]> {
  const out: CacheEvent[] = [];
  const k = cache.kind;
  return new Promise((resolve, reject) => {
    let abort: AbortController | undefined;
    let finished = false;
    const finish = (err?: ApiError): void => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      abort?.abort();
      if (err) reject(err);
      else resolve(out);
    };
    const timer = setTimeout(() => finish(), REPLAY_TIMEOUT_MS);
    const onEvent = (type: string, object: RawEvent['object']): void => {
      if (type === 'ERROR') {
        const gone = object.code === 410;
        return finish(new ApiError(gone ? 'Gone' : 'InternalError', gone ? `too old resource version: ${since}; list again and watch from the list's resourceVersion` : `watch of ${k.kind} failed: ${object.message ?? ''}`));
      }
      const e = toEvent(cache, { type, object });
      if (!e) return;
      if (e.revision <= target) out.push(e);
      if (e.revision >= target) finish();
    };
    const params = { resourceVersion: String(since), ...(k.fieldSelector ? { fieldSelector: k.fieldSelector } : {}) };
    watch.watch(k.path(), params, onEvent, (err: unknown) => finish(err ? new ApiError('ServiceUnavailable', `watch of ${k.kind} ended: ${(err as Error).message ?? err}`) : undefined)).then(
      (c) => (finished ? c.abort() : (abort = c)),
      (err: unknown) => finish(new ApiError('ServiceUnavailable', `watch of ${k.kind} failed: ${(err as Error).message ?? err}`)),
    );
  });
}

/** Each object once, at its newest change: ADDED when created after `since`, DELETED when gone. */
function collapse(events: CacheEvent[]): CacheEvent[] {
  const newest = new Map<string, CacheEvent>();
  const created = new Set<string>();
  for (const e of events) {
    const uid = e.object.metadata.uid;
    if (e.type === 'ADDED') created.add(uid);
    newest.delete(uid);
    newest.set(uid, e);
  }
  return [...newest.values()].map((e) => (e.type === 'DELETED' ? e : { ...e, type: created.has(e.object.metadata.uid) ? 'ADDED' : 'MODIFIED' }));
}

export interface ReplayKind {
  cache: KindCache;
  /** The cache's revision when the watcher subscribed: its stream goes on after it. */
  target: number;
}

/** What changed after `since` in these kinds, by revision. */
export async function replay(kinds: ReplayKind[], watch: Watch, since: number, origins: Origins): Promise<WatchEvent[]> {
  const pending = kinds.filter((k) => k.target > since).map((k) => changesOf(k.cache, watch, since, k.target));
  const all = (await Promise.all(pending)).flatMap(collapse).sort((a, b) => a.revision - b.revision);
  return all.map((e) => toWatchEvent(e, origins));
}

export function toWatchEvent(e: CacheEvent, origins: Origins): WatchEvent {
  const o: StoredResource = e.object;
  return { type: e.type, key: { kind: o.kind, namespace: o.metadata.namespace, name: o.metadata.name }, object: o, origin: origins.of(e), revision: e.revision };
}
