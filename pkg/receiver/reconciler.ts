// One reconciler for every receiver kind: it keeps an endpoint ID (random, kept for the
// object's life), mirrors the receiver's configuration problems into Ready, phase and
// lastError, and records an event on every Ready transition. It runs again whenever an
// object the receiver refers to changes (the manager's reference index).
import { endpointPath, newEndpointId } from '../api/endpoint.js';
import type { ObjectKey, Status, StoredResource } from '../api/types.js';
import { findCondition, ready } from '../controller/conditions.js';
import type { Reconciler } from '../controller/manager.js';
import { patchStatus } from '../controller/status.js';
import type { Objects } from '../store/objects.js';
import { COUNTER_FIELDS } from './status-mirror.js';
import type { Problem, ReceiverKind } from './types.js';

function desiredStatus(kind: ReceiverKind, w: StoredResource, prepared: Status, problem: Problem | undefined, suspended: boolean): Status {
  const gen = w.metadata.generation;
  const endpointID = (w.status.endpointID as string | undefined) ?? newEndpointId();
  const s: Status = { ...w.status, ...prepared, observedGeneration: gen, ...kind.statusOf?.(w, endpointID) };
  s.endpointID = endpointID;
  s.endpointPath = endpointPath(endpointID);
  // Zero until the delivery path counts (it owns these fields from then on).
  for (const f of Object.values(COUNTER_FIELDS)) s[f] ??= 0;
  const wasReady = findCondition(w.status.conditions, 'Ready')?.status === 'True';
  if (problem) {
    s.phase = 'Error';
    s.lastError = problem.message;
    s.conditions = ready(w.status.conditions, 'False', problem.reason, problem.message, gen);
  } else if (suspended) {
    s.phase = 'Suspended';
    s.conditions = ready(w.status.conditions, 'False', 'Suspended', 'deliveries are refused while spec.suspend is true', gen);
  } else {
    s.phase = 'Ready';
    // Ready again: the error from before (its configuration, or a delivery refused meanwhile)
    // is history, kept by the events and the delivery records. Delivery errors while Ready stay.
    if (!wasReady) delete s.lastError;
    s.conditions = ready(w.status.conditions, 'True', 'Ready', 'accepting deliveries', gen);
  }
  return s;
}

/**
 * `recovering` is told before a receiver that was not Ready is made Ready, so that refusals
 * from before, still on their way to its status, do not bring the old lastError back.
 */
export function receiverReconciler(kind: ReceiverKind, store: Objects, recovering: (uid: string) => void = () => undefined): Reconciler {
  const fetch = (k: string, namespace: string, name: string) => store.get(k, namespace, name);
  return {
    kind: kind.kind,
    // The delivery path writes only counters; other status-only changes need no reconcile either.
    shouldReconcile: (e) =>
      e.origin !== 'delivery' && e.type !== 'DELETED'
      && (e.object.status.observedGeneration !== e.object.metadata.generation || !e.object.status.endpointID),
    async reconcile(key: ObjectKey) {
      const w = await store.get(key.kind, key.namespace, key.name);
      if (!w) return;
      const prepared = (await kind.prepare?.(w, store)) ?? {};
      const r = await kind.compile({ ...w, status: { ...w.status, ...prepared } }, fetch);
      const before = findCondition(w.status.conditions, 'Ready');
      if (before && before.status !== 'True' && !r.problems.length && !r.suspended) recovering(w.metadata.uid);
      const updated = await patchStatus(store, key, (cur) => desiredStatus(kind, cur, prepared, r.problems[0], r.suspended));
      const after = findCondition(updated?.status.conditions, 'Ready');
      if (after && (before?.status !== after.status || before.reason !== after.reason)) {
        await store.recordEvent(key, after.status === 'True' ? 'Normal' : 'Warning', after.reason, after.message);
      }
    },
  };
}
