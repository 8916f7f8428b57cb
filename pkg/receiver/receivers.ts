import { LRUCache } from 'lru-cache';
import { secretValues } from '../api/kinds/secret.js';
import type { TaskWebhookSpec } from '../api/kinds/task-webhook.js';
import type { StoredResource, WatchEvent } from '../api/types.js';
import type { ResourceStore } from '../store/types.js';
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
  template?: StoredResource;
  templateProblem?: string;
  dedupeWindowMs: number;
}

export const ownerOf = (o: StoredResource): string => `${o.kind}/${o.metadata.namespace}/${o.metadata.name}`;

async function compile(store: ResourceStore, w: StoredResource, endpointId: string): Promise<Receiver> {
  const spec = w.spec as TaskWebhookSpec;
  const ns = w.metadata.namespace;
  const { profile, opts } = webhookProfile(spec);
  const secret = await store.get('Secret', ns, spec.auth.secret_ref);
  const keys = secret ? secretValues(secret).filter((k) => k.length > 0) : [];
  const template = await store.get('Task', ns, spec.task_ref);
  return {
    endpointId,
    webhook: w,
    owner: ownerOf(w),
    spec,
    profile,
    opts,
    keys,
    keyProblem: !secret ? `secret "${spec.auth.secret_ref}" not found` : keys.length ? undefined : `secret "${spec.auth.secret_ref}" has no keys`,
    template: template?.spec.mode === 'template' ? template : undefined,
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
  private readonly stopWatch: () => void;

  constructor(private readonly store: ResourceStore) {
    this.stopWatch = store.watch({}, undefined, (e) => this.invalidate(e));
  }

  async lookup(endpointId: string): Promise<Receiver | undefined> {
    const hit = this.cache.get(endpointId);
    if (hit) return hit;
    const w = await this.store.findByEndpointId(endpointId);
    if (!w || w.kind !== 'TaskWebhook') return undefined;
    const r = await compile(this.store, w, endpointId);
    this.cache.set(endpointId, r);
    this.index(r, endpointId);
    return r;
  }

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
    const o = e.object;
    if (o.kind === 'TaskWebhook') {
      const id = this.byUid.get(o.metadata.uid);
      const r = id ? this.cache.peek(id) : undefined;
      if (!id || !r) return;
      // Counter writes touch only status; keep the entry unless something it uses moved.
      const same = e.type !== 'DELETED' && r.webhook.metadata.generation === o.metadata.generation
        && o.status.endpointID === id && r.webhook.status.phase === o.status.phase;
      if (!same) this.cache.delete(id);
      return;
    }
    const ids = this.byRef.get(refKey(o.kind, o.metadata.namespace, o.metadata.name));
    for (const id of [...(ids ?? [])]) this.cache.delete(id);
  }

  close(): void {
    this.stopWatch();
    this.cache.clear();
  }
}
