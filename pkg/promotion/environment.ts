// Environments (SPEC §8): a production namespace's receivers and triggers are created,
// changed and deleted only by promotion from a preview namespace. An operator may still
// stop one at once (spec.suspend), and label or annotate it.
import { ApiError } from '../api/errors.js';
import type { KindDef } from '../api/kind.js';
import type { Resource, StoredResource } from '../api/types.js';
import { deepEqual } from '../util/json.js';
import type { Objects } from '../store/objects.js';

export type Environment = 'preview' | 'production';

/** The kinds only promotion writes in production. */
export const PROMOTED_KINDS: readonly string[] = ['InboundWebhook', 'TaskWebhook', 'Trigger'];

export async function environmentOf(store: Objects, namespace: string): Promise<Environment | undefined> {
  const ns = await store.get('Namespace', '', namespace);
  return (ns?.spec as { environment?: Environment } | undefined)?.environment;
}

const promotionRequired = (kind: string, name: string, ns: string, what: string, how: string): ApiError =>
  new ApiError('PromotionRequired', `${kind} "${name}" cannot be ${what} in production namespace "${ns}": ${how}`, { kind, name });

/** Only spec.suspend differs (labels and annotations are not spec). */
function onlySuspend(before: StoredResource, after: Resource): boolean {
  const { suspend: _a, ...was } = before.spec as Record<string, unknown>;
  const { suspend: _b, ...now } = after.spec as Record<string, unknown>;
  return deepEqual(was, now);
}

/** Refuses a create or spec change of a promoted kind in production, unless it only suspends or resumes. */
export async function checkWrite(store: Objects, def: KindDef, obj: Resource): Promise<void> {
  if (!PROMOTED_KINDS.includes(def.kind)) return;
  const ns = obj.metadata.namespace ?? '';
  if ((await environmentOf(store, ns)) !== 'production') return;
  const existing = await store.get(def.kind, ns, obj.metadata.name);
  const name = obj.metadata.name;
  if (!existing) throw promotionRequired(def.kind, name, ns, 'created', `create it in a preview namespace and promote it (orlojctl promote --from PREVIEW --to ${ns})`);
  if (!onlySuspend(existing, obj)) throw promotionRequired(def.kind, name, ns, 'changed', `change it in preview and promote it; only spec.suspend, labels and annotations change here`);
}

export async function checkDelete(store: Objects, def: KindDef, namespace: string, name: string): Promise<void> {
  if (!PROMOTED_KINDS.includes(def.kind) || (await environmentOf(store, namespace)) !== 'production') return;
  throw promotionRequired(def.kind, name, namespace, 'deleted', 'delete it in preview and promote with --prune');
}

/** A Namespace write that sets or changes its environment: admin only. What changes, for its event. */
export async function environmentChange(store: Objects, obj: Resource, isAdmin: boolean): Promise<string | undefined> {
  if (obj.kind !== 'Namespace') return undefined;
  const before = await environmentOf(store, obj.metadata.name);
  const after = (obj.spec as { environment?: Environment }).environment;
  if (before === after) return undefined;
  if (!isAdmin) throw new ApiError('Forbidden', `changing the environment of namespace "${obj.metadata.name}" needs the admin role`);
  return `environment: ${before ?? 'unset'} -> ${after ?? 'unset'}`;
}
