import { endpointPath, newEndpointId } from '../../api/endpoint.js';
import { secretValues } from '../../api/kinds/secret.js';
import type { TaskWebhookSpec } from '../../api/kinds/task-webhook.js';
import type { ObjectKey, Status, StoredResource, WatchEvent } from '../../api/types.js';
import type { Objects } from '../../store/objects.js';
import { findCondition, ready } from '../conditions.js';
import type { Reconciler, Watch } from '../manager.js';
import { patchStatus } from '../status.js';

interface Problem {
  reason: string;
  message: string;
}

/** What keeps a webhook from accepting deliveries, if anything. */
async function findProblem(store: Objects, w: StoredResource): Promise<Problem | undefined> {
  const spec = w.spec as TaskWebhookSpec;
  const ns = w.metadata.namespace;
  const task = await store.get('Task', ns, spec.task_ref);
  if (!task) return { reason: 'TemplateNotFound', message: `task "${spec.task_ref}" not found in namespace "${ns}"` };
  if (task.spec.mode !== 'template') {
    return { reason: 'TaskNotTemplate', message: `task "${spec.task_ref}" is not a template (spec.mode: template)` };
  }
  const secret = await store.get('Secret', ns, spec.auth.secret_ref);
  if (!secret) return { reason: 'SecretNotFound', message: `secret "${spec.auth.secret_ref}" not found in namespace "${ns}"` };
  if (!secretValues(secret).some((v) => v.length > 0)) {
    return { reason: 'SecretEmpty', message: `secret "${spec.auth.secret_ref}" has no non-empty key` };
  }
  return undefined;
}

function desiredStatus(w: StoredResource, problem: Problem | undefined): Status {
  const gen = w.metadata.generation;
  const s: Status = { ...w.status, observedGeneration: gen };
  const endpointID = (w.status.endpointID as string | undefined) ?? newEndpointId();
  s.endpointID = endpointID;
  s.endpointPath = endpointPath(endpointID);
  // Zero until the delivery path counts (it owns these fields from then on).
  for (const f of ['acceptedCount', 'duplicateCount', 'rejectedCount']) s[f] ??= 0;
  const wasReady = findCondition(w.status.conditions, 'Ready')?.status === 'True';
  if (problem) {
    s.phase = 'Error';
    s.lastError = problem.message;
    s.conditions = ready(w.status.conditions, 'False', problem.reason, problem.message, gen);
  } else if ((w.spec as TaskWebhookSpec).suspend) {
    s.phase = 'Suspended';
    s.conditions = ready(w.status.conditions, 'False', 'Suspended', 'deliveries are refused while spec.suspend is true', gen);
  } else {
    s.phase = 'Ready';
    // A configuration error is over once the webhook is ready again; delivery errors stay.
    if (!wasReady && findCondition(w.status.conditions, 'Ready')?.reason !== 'Suspended') delete s.lastError;
    s.conditions = ready(w.status.conditions, 'True', 'Ready', 'accepting deliveries', gen);
  }
  return s;
}

/** Webhooks in the changed object's namespace whose spec field `field` names it. */
function referencedBy(kind: string, pick: (s: TaskWebhookSpec) => string, filter?: (e: WatchEvent) => boolean): Watch {
  return {
    kind,
    filter,
    async map(e, store) {
      const { items } = await store.list('TaskWebhook', { namespace: e.key.namespace });
      return items
        .filter((w) => pick(w.spec as TaskWebhookSpec) === e.key.name)
        .map((w) => ({ kind: 'TaskWebhook', namespace: w.metadata.namespace, name: w.metadata.name }));
    },
  };
}

export function taskWebhookReconciler(store: Objects): Reconciler {
  return {
    kind: 'TaskWebhook',
    // The delivery path writes only counters; other status-only changes need no reconcile either.
    shouldReconcile: (e) =>
      e.origin !== 'delivery' && e.type !== 'DELETED'
      && (e.object.status.observedGeneration !== e.object.metadata.generation || !e.object.status.endpointID),
    watches: [
      // Run tasks never matter here (deliveries make only those): only templates, and a spec
      // change that may have turned a template into a run task.
      referencedBy('Task', (s) => s.task_ref, (e) => e.origin !== 'delivery'
        && (e.object.spec.mode === 'template' || (e.type === 'MODIFIED' && e.object.status.observedGeneration !== e.object.metadata.generation))),
      referencedBy('Secret', (s) => s.auth.secret_ref),
    ],
    async reconcile(key: ObjectKey) {
      const w = await store.get(key.kind, key.namespace, key.name);
      if (!w) return;
      const problem = await findProblem(store, w);
      const before = findCondition(w.status.conditions, 'Ready');
      const updated = await patchStatus(store, key, (cur) => desiredStatus(cur, problem));
      const after = findCondition(updated?.status.conditions, 'Ready');
      if (after && (before?.status !== after.status || before.reason !== after.reason)) {
        await store.recordEvent(key, after.status === 'True' ? 'Normal' : 'Warning', after.reason, after.message);
      }
    },
  };
}
