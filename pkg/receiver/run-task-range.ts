// Where a webhook's run tasks are in the store, and how they go: by name, oldest first, and in
// batches. A run task is named `<base>-<12 hex of ms><4 hex of a counter>` (runTaskName), so a
// webhook's tasks lie in one stretch of the key index (kind, namespace, name), in the order they
// were made: the oldest are found, and counted, without reading any other object.
import type { StoredResource, WriteOrigin } from '../api/types.js';
import type { NamedObject, NameRange, Store } from '../store/types.js';
import { hexMs, LABEL_WEBHOOK, LABEL_WEBHOOK_NAMESPACE, runTaskBase } from './run-task.js';

/** Run tasks per delete unit: one commit each, a row delete and a change-log row per task. */
export const BATCH = 500;
/**
 * A webhook's run tasks are made after it was (its creationTimestamp is to the second) and
 * before now, by any replica's clock: the range reaches this far beyond both. What it holds
 * of an earlier webhook of the name is told apart by its owner.
 */
const CLOCK_MARGIN_MS = 10 * 60_000;

/** The webhook a run task must name to be its own. */
export interface WebhookRef {
  namespace: string;
  name: string;
  uid: string;
}

export const refOf = (w: StoredResource): WebhookRef => ({ namespace: w.metadata.namespace, name: w.metadata.name, uid: w.metadata.uid });

/**
 * The stretch of names that holds the webhook's run tasks made by `nowMs`. Bounded by time at
 * both ends, it leaves out another webhook's whose name merely continues this one's (`orders`,
 * `orders-eu`); what it may still hold of others (a name sharing the first 40 characters, one
 * of `orders-01…` that spells a time) ownedBy tells apart, though it is counted.
 */
export function runTaskRange(w: StoredResource, nowMs: number): NameRange {
  const created = Date.parse(w.metadata.creationTimestamp);
  const from = Number.isNaN(created) ? 0 : created - CLOCK_MARGIN_MS;
  return { kind: 'Task', namespace: w.metadata.namespace, after: `${runTaskBase(w.metadata.name)}-${hexMs(from)}`, before: namesBefore(w.metadata.name, nowMs) };
}

/** The end of a webhook's range at `nowMs`: a range kept for later moves its end along. */
export const namesBefore = (webhookName: string, nowMs: number): string => `${runTaskBase(webhookName)}-${hexMs(nowMs + CLOCK_MARGIN_MS)}`;

/**
 * Whether a task is this webhook's run task: it carries the webhook's labels and names it
 * (by uid) as its owner, or names no owner (made before run tasks named theirs). Another
 * webhook's whose name shares the first 40 characters, and those an earlier webhook of the
 * same name left (deleted without --cascade), are not.
 */
export function ownedBy(t: NamedObject, w: WebhookRef): boolean {
  const labels = t.labels;
  if (labels?.[LABEL_WEBHOOK] !== w.name) return false;
  const ns = labels[LABEL_WEBHOOK_NAMESPACE];
  if (ns !== undefined && ns !== w.namespace) return false;
  const owners = t.ownerReferences;
  return !owners?.length || owners.some((o) => o.uid === w.uid);
}

/** Deletes these tasks of the namespace in one unit; returns how many went (those gone already are skipped). */
export async function deleteTasks(store: Store, origin: WriteOrigin, namespace: string, tasks: NamedObject[]): Promise<number> {
  if (!tasks.length) return 0;
  const objects = tasks.map((t) => ({ name: t.name, uid: t.uid }));
  const r = await store.commit({ origin, ops: [{ op: 'deleteMany', kind: 'Task', namespace, objects }] });
  return r.held ? 0 : (r.deleted?.length ?? 0);
}

/** `?cascade=true`: deletes the run tasks of a webhook (just deleted), a batch per unit. Returns how many went. */
export async function deleteRunTasks(store: Store, origin: WriteOrigin, webhook: StoredResource): Promise<number> {
  const range = runTaskRange(webhook, Date.now());
  const ref = refOf(webhook);
  let n = 0;
  for (let after = range.after; ; ) {
    const page = await store.control.scanNames({ ...range, after }, BATCH);
    n += await deleteTasks(store, origin, range.namespace, page.filter((t) => ownedBy(t, ref)));
    if (page.length < BATCH) return n;
    after = page[page.length - 1]!.name;
  }
}
