import { LRUCache } from 'lru-cache';
import { secretValues } from '../api/kinds/secret.js';
import type { TaskWebhookSpec } from '../api/kinds/task-webhook.js';
import type { StoredResource, WatchEvent } from '../api/types.js';
import type { ResourceStore } from '../store/types.js';
import { runTaskTemplate, type RunTaskTemplate } from './run-task.js';
import { webhookProfile } from './webhook-options.js';
import type { ProfileOptions, SignatureProfile } from './profiles/types.js';

/** Everything the delivery path needs about one endpoint, computed once per change. */
export interface Receiver {
  endpointId: string;
  webhook: StoredResource;
  owner: string;
  spec: TaskWebhookSpec;
  profile: SignatureProfile;
  opts: ProfileOptions;
  /** Candidate signing keys: every key of the referenced Secret. */
  keys: Buffer[];
  /** Why verification cannot succeed (e.g. the Secret is missing), for lastError. */
  keyProblem?: string;
  /** What its run tasks share; undefined while the template is missing or not a template. */
  runTask?: RunTaskTemplate;
  templateProblem?: string;
  dedupeWindowMs: number;
}

export const ownerOf = (o: StoredResource): string => `${o.kind}/${o.metadata.namespace}/${o.metadata.name}`;

/** A referenced Secret or template as receivers use it; one copy serves every webhook that names it. */
interface Shared {
  obj?: StoredResource;
  keys: Buffer[];
}

type Fetch = (kind: 'Secret' | 'Task', namespace: string, name: string) => Promise<Shared>;

async function compile(fetch: Fetch, w: StoredResource, endpointId: string): Promise<Receiver> {
  const spec = w.spec as TaskWebhookSpec;
  const ns = w.metadata.namespace;
  const { profile, opts } = webhookProfile(spec);
  const { obj: secret, keys } = await fetch('Secret', ns, spec.auth.secret_ref);
  const { obj: template } = await fetch('Task', ns, spec.task_ref);
  const usable = template?.spec.mode === 'template' ? template : undefined;
  return {
    endpointId,
    // Status (counters, errors) is not needed here and changes every second.
    webhook: { ...w, status: {} },
    owner: ownerOf(w),
    spec,
    profile,
    opts,
    keys,
    keyProblem: !secret ? `secret "${spec.auth.secret_ref}" not found` : keys.length ? undefined : `secret "${spec.auth.secret_ref}" has no keys`,
    runTask: usable && runTaskTemplate(w, usable),
    templateProblem: !template
      ? `template task "${spec.task_ref}" not found`
      : template.spec.mode !== 'template'
        ? `task "${spec.task_ref}" is not a template`
        : undefined,
    dedupeWindowMs: (spec.idempotency?.dedupe_window_seconds ?? profile.defaults.dedupeWindowSeconds) * 1000,
  };
}

const refKey = (kind: string, namespace: string, name: string): string => `${kind}/${namespace}/${name}`;

/**
 * Endpoint ID → compiled receiver, looked up through the store's endpoint index and kept
 * in an LRU. Watch events drop the entries whose webhook, secret or template changed,
 * found through small indexes so no event scans the cache.
 */
export class ReceiverCache {
  private readonly byUid = new Map<string, string>();
  private readonly byRef = new Map<string, Set<string>>();
  private readonly cache = new LRUCache<string, Receiver>({
    max: 50_000,
    dispose: (r, id) => this.unindex(r, id),
  });
  private readonly shared = new LRUCache<string, Shared>({ max: 10_000 });
  /** Bumped by every invalidation: what was read before one is used but not cached. */
  private epoch = 0;
  private readonly stopWatch: () => void;

  constructor(private readonly store: ResourceStore) {
    this.stopWatch = store.watch({}, undefined, (e) => this.invalidate(e));
  }

  /** The compiled receiver when it is cached: the hot path needs no promise for a hit. */
  cached(endpointId: string): Receiver | undefined {
    return this.cache.get(endpointId);
  }

  async lookup(endpointId: string): Promise<Receiver | undefined> {
    const hit = this.cache.get(endpointId);
    if (hit) return hit;
    const epoch = this.epoch;
    const w = await this.store.findByEndpointId(endpointId);
    if (!w || w.kind !== 'TaskWebhook') return undefined;
    const r = await compile(this.fetchShared, w, endpointId);
    if (epoch === this.epoch) {
      this.cache.set(endpointId, r);
      this.index(r, endpointId);
    }
    return r;
  }

  private readonly fetchShared: Fetch = async (kind, namespace, name) => {
    const key = refKey(kind, namespace, name);
    const hit = this.shared.get(key);
    if (hit) return hit;
    const epoch = this.epoch;
    const obj = await this.store.get(kind, namespace, name);
    const s = { obj, keys: kind === 'Secret' && obj ? secretValues(obj).filter((k) => k.length > 0) : [] };
    if (epoch === this.epoch) this.shared.set(key, s);
    return s;
  };

  private refs(r: Receiver): string[] {
    const ns = r.webhook.metadata.namespace;
    return [refKey('Secret', ns, r.spec.auth.secret_ref), refKey('Task', ns, r.spec.task_ref)];
  }

  private index(r: Receiver, id: string): void {
    this.byUid.set(r.webhook.metadata.uid, id);
    for (const k of this.refs(r)) {
      let s = this.byRef.get(k);
      if (!s) this.byRef.set(k, (s = new Set()));
      s.add(id);
    }
  }

  private unindex(r: Receiver, id: string): void {
    if (this.byUid.get(r.webhook.metadata.uid) === id) this.byUid.delete(r.webhook.metadata.uid);
    for (const k of this.refs(r)) {
      const s = this.byRef.get(k);
      s?.delete(id);
      if (s && !s.size) this.byRef.delete(k);
    }
  }

  private invalidate(e: WatchEvent): void {
    // The delivery path writes run tasks and counters: nothing a receiver is compiled from.
    if (e.origin === 'delivery') return;
    const { kind } = e.key;
    if (kind === 'TaskWebhook') {
      // Even when it is not cached: a lookup compiling it right now must not keep what it read.
      this.epoch++;
      const id = this.byUid.get(e.object.metadata.uid);
      if (id) this.cache.delete(id);
      return;
    }
    if (kind !== 'Secret' && kind !== 'Task') return;
    this.epoch++;
    const ref = refKey(kind, e.key.namespace, e.key.name);
    this.shared.delete(ref);
    const ids = this.byRef.get(ref);
    for (const id of [...(ids ?? [])]) this.cache.delete(id);
  }

  close(): void {
    this.stopWatch();
    this.cache.clear();
  }
}
