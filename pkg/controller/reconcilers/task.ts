import { LABEL_EVENT_ID } from '../../api/kinds/task.js';
import type { Condition, ObjectKey, Spec, Status, StoredResource, WatchEvent } from '../../api/types.js';
import type { Objects } from '../../store/objects.js';
import { findCondition, ready } from '../conditions.js';
import type { Reconciler } from '../manager.js';
import { patchStatus } from '../status.js';

/** What a task's status follows from. */
type TaskState = { metadata: { generation: number }; spec: Spec; status: Status };

/** The Ready condition a task should show, from its mode and phase alone. */
function desiredReady(t: TaskState): Pick<Condition, 'status' | 'reason' | 'message'> {
  if (t.spec.mode === 'template') return { status: 'True', reason: 'Template', message: 'template task: never run, used by webhooks' };
  const phase = (t.status.phase as string | undefined) ?? 'Pending';
  if (phase === 'Failed') return { status: 'False', reason: 'Failed', message: String(t.status.message ?? 'the task failed') };
  return { status: 'True', reason: phase, message: `task is ${phase.toLowerCase()}` };
}

/** Templates are marked as such and never run; run tasks start Pending. Workers move phases. */
export function initialTaskStatus(t: TaskState, at?: string): Status {
  const want = desiredReady(t);
  const gen = t.metadata.generation;
  const phase = t.spec.mode === 'template' ? undefined : ((t.status.phase as string | undefined) ?? 'Pending');
  const status: Status = { ...t.status, observedGeneration: gen, conditions: ready(t.status.conditions, want.status, want.reason, want.message, gen, at) };
  if (phase) status.phase = phase;
  else delete status.phase;
  return status;
}

function upToDate(t: StoredResource): boolean {
  const c = findCondition(t.status.conditions, 'Ready');
  const want = desiredReady(t);
  return t.status.observedGeneration === t.metadata.generation && c?.status === want.status && c.reason === want.reason;
}

/**
 * How long a delivery's run task without any status is left to its creator. In Kubernetes mode a
 * create and its status are two writes, and another replica's delivery does not show as one here.
 */
export const CREATOR_GRACE_MS = 5000;

/** The time left before a status-less run task of a delivery is this reconciler's to write. */
function creatorsTurn(t: StoredResource, nowMs: number): number {
  if (Object.keys(t.status).length || !t.metadata.labels?.[LABEL_EVENT_ID]) return 0;
  return Math.max(0, Date.parse(t.metadata.creationTimestamp) + CREATOR_GRACE_MS - nowMs);
}

export function taskReconciler(store: Objects): Reconciler {
  return {
    kind: 'Task',
    resync: false,
    // Run tasks created by deliveries arrive complete: skipping them unread keeps the delivery path cheap.
    shouldReconcile: (e: WatchEvent) => e.origin !== 'delivery' && e.type !== 'DELETED' && !upToDate(e.object),
    async reconcile(key: ObjectKey) {
      let wait = 0;
      await patchStatus(store, key, (t) => {
        wait = creatorsTurn(t, Date.now());
        return wait || upToDate(t) ? undefined : initialTaskStatus(t);
      });
      return wait ? { requeueAfterMs: wait } : undefined;
    },
  };
}
