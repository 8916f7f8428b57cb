// The Trigger reconciler: resolves what a trigger fires on (its collection, or the Source's),
// generates its signing Secret when it names none, and says Ready. A trigger turning Ready
// records the store revision it starts from: only changes committed after it fire it.
import { ApiError } from '../api/errors.js';
import type { TriggerSpec } from '../api/kinds/trigger.js';
import type { SourceSpec } from '../api/kinds/source.js';
import type { ObjectKey, Status, StoredResource } from '../api/types.js';
import { findCondition, ready } from '../controller/conditions.js';
import type { Reconciler } from '../controller/manager.js';
import { ensureGeneratedSecret } from '../controller/generated-secret.js';
import { patchStatus } from '../controller/status.js';
import type { Objects } from '../store/objects.js';
import { keysOf } from '../receiver/keys.js';
import { newSigningSecret } from './signing.js';

/** The label on a generated signing Secret: which trigger it belongs to. */
export const SIGNING_SECRET_FOR = 'orloj.dev/signing-secret-for';

/** The collection a trigger's documents come from: its own, or its Source's. */
async function collectionOf(store: Objects, t: StoredResource): Promise<string | [string, string]> {
  const spec = t.spec as unknown as TriggerSpec;
  if (spec.collection) return spec.collection;
  if (!spec.target) return '';
  const source = await store.get('Source', t.metadata.namespace, spec.target.source);
  if (!source) return ['SourceNotFound', `source "${spec.target.source}" not found`];
  const s = source.spec as unknown as SourceSpec;
  if (!s.write) return ['SourceNotWritable', `source "${spec.target.source}" has no write URL`];
  return s.collection;
}

/** `<name>-signing`, with one `whsec_` value. */
async function ensureSigningSecret(store: Objects, t: StoredResource): Promise<string | undefined> {
  const name = `${t.metadata.name}-signing`;
  return (await ensureGeneratedSecret(store, t.metadata.namespace, name, SIGNING_SECRET_FOR, t.metadata.name, newSigningSecret)) ? name : undefined;
}

interface Resolved {
  collection: string;
  secretRef?: string;
  blocked?: [string, string];
}

async function resolve(store: Objects, t: StoredResource): Promise<Resolved> {
  const spec = t.spec as unknown as TriggerSpec;
  const ns = t.metadata.namespace;
  const col = await collectionOf(store, t);
  if (Array.isArray(col)) return { collection: '', blocked: col };
  if (col && !(await store.get('Collection', ns, col))) return { collection: col, blocked: ['CollectionNotFound', `collection "${col}" not found`] };
  const secretRef = spec.secret_ref || (await ensureSigningSecret(store, t));
  if (!secretRef) return { collection: col, blocked: ['SecretConflict', `secret "${t.metadata.name}-signing" exists and was not generated for this trigger`] };
  const secret = await store.get('Secret', ns, secretRef);
  if (!secret) return { collection: col, secretRef, blocked: ['SecretNotFound', `secret "${secretRef}" not found`] };
  if (!keysOf(secret).length) return { collection: col, secretRef, blocked: ['SecretEmpty', `secret "${secretRef}" has no non-empty key`] };
  return { collection: col, secretRef };
}

/** Why it sends nothing though resolved: suspended, or its destination answered 410 for this generation. */
function paused(t: StoredResource): [string, string] | undefined {
  const spec = t.spec as unknown as TriggerSpec;
  if (spec.suspend) return ['Suspended', 'spec.suspend is true: changes are not sent'];
  const gone = t.status?.destinationGone as { generation?: number; message?: string } | undefined;
  if (gone && gone.generation === t.metadata.generation) return ['DestinationGone', gone.message ?? 'the destination answered 410 Gone'];
  return undefined;
}

/** A generated signing Secret goes with its trigger. */
async function dropSigningSecret(store: Objects, key: ObjectKey): Promise<void> {
  const secret = await store.get('Secret', key.namespace, `${key.name}-signing`);
  if (secret?.metadata.labels?.[SIGNING_SECRET_FOR] !== key.name) return;
  try {
    await store.delete({ kind: 'Secret', namespace: key.namespace, name: secret.metadata.name }, { resourceVersion: secret.metadata.resourceVersion });
  } catch (e) {
    if (!(e instanceof ApiError && (e.reason === 'NotFound' || e.reason === 'Conflict'))) throw e;
  }
}

export function triggerReconciler(store: Objects): Reconciler {
  return {
    kind: 'Trigger',
    // Its counters and last delivery (written once a second while it sends) change nothing it decides.
    shouldReconcile: (e) => e.origin !== 'delivery',
    async reconcile(key: ObjectKey) {
      const current = await store.get(key.kind, key.namespace, key.name);
      if (!current) return dropSigningSecret(store, key);
      const r = await resolve(store, current);
      // Read last: a change committed after this revision is one the trigger will see.
      const since = Number(store.store.control.revision());
      await patchStatus(store, key, (t) => {
        if (t.metadata.uid !== current.metadata.uid) return undefined;
        const gen = t.metadata.generation;
        const why = r.blocked ?? paused(t);
        const wasReady = findCondition(t.status.conditions, 'Ready')?.status === 'True';
        const status: Status = { ...t.status, observedGeneration: gen, collection: r.collection };
        if (r.secretRef) status.secretRef = r.secretRef;
        else delete status.secretRef;
        if (why) status.conditions = ready(t.status.conditions, 'False', why[0], why[1], gen);
        else {
          status.conditions = ready(t.status.conditions, 'True', 'Ready', `fires on ${r.collection ? `collection "${r.collection}"` : 'run tasks'}`, gen);
          if (!wasReady || typeof t.status.sinceRevision !== 'number') status.sinceRevision = since;
        }
        return status;
      });
    },
  };
}
