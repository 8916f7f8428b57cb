import { PROMOTED_FROM } from '../promotion/gather.js';
import { hash } from 'node:crypto';
import { isValidLabelValue } from '../api/meta.js';
import { LABEL_EVENT_ID } from '../api/kinds/task.js';
import type { TaskWebhookSpec } from '../api/kinds/task-webhook.js';
import type { OwnerReference, Spec, Status, StoredResource } from '../api/types.js';
import { initialTaskStatus } from '../controller/reconcilers/task.js';

export const LABEL_WEBHOOK = 'orloj.dev/task-webhook';
export const LABEL_WEBHOOK_NAMESPACE = 'orloj.dev/task-webhook-namespace';

const hash16 = (s: string): string => hash('sha256', s, 'hex').slice(0, 16);

let lastMs = 0;
let seq = 0;

/**
 * `<webhook>-<16 hex>`: 12 of milliseconds and 4 of a counter, so a webhook's new tasks sort
 * after its older ones and land together at the end of the name index (a hash would put
 * each on a random page). Uniqueness is the store's (a taken name gets `-2`); the claim on
 * the event id, not the name, is what dedups. 41 + 17 characters at most, so the suffix fits in 63.
 */
export function runTaskName(webhookName: string, nowMs: number): string {
  if (nowMs > lastMs) (lastMs = nowMs), (seq = 0);
  else seq = (seq + 1) & 0xffff;
  return `${runTaskBase(webhookName)}-${hexMs(lastMs)}${seq.toString(16).padStart(4, '0')}`;
}

/** What a webhook's run task names start with, before `-` and the time. */
export const runTaskBase = (webhookName: string): string => webhookName.slice(0, 40).replace(/-+$/, '');

/** A time in ms as run task names hold it: 12 hex digits, so that name order is time order. */
export const hexMs = (ms: number): string => Math.max(0, Math.floor(ms)).toString(16).padStart(12, '0');

/** What every run task of one webhook shares: computed once per webhook and template version. */
export interface RunTaskTemplate {
  apiVersion: string;
  namespace: string;
  webhookName: string;
  inputKey: string;
  /** The template's labels and the webhook's. */
  labels: Record<string, string>;
  /** The webhook, as every run task's owner: one frozen copy shared by all of them. */
  ownerReferences: readonly OwnerReference[];
  /** The template's spec with mode: run. */
  spec: Spec;
  input: Record<string, unknown>;
}

/** A promoted template's mark says where the template came from, not its run tasks. */
function withoutPromotion(labels: Record<string, string> | undefined): Record<string, string> {
  const { [PROMOTED_FROM]: _, ...rest } = labels ?? {};
  return rest;
}

export function runTaskTemplate(webhook: StoredResource, template: StoredResource): RunTaskTemplate {
  return {
    apiVersion: template.apiVersion,
    namespace: template.metadata.namespace,
    webhookName: webhook.metadata.name,
    inputKey: (webhook.spec as TaskWebhookSpec).payload.input_key,
    labels: { ...withoutPromotion(template.metadata.labels), [LABEL_WEBHOOK]: webhook.metadata.name, [LABEL_WEBHOOK_NAMESPACE]: webhook.metadata.namespace },
    ownerReferences: deepFreeze([ownerOf(webhook)]),
    spec: { ...template.spec, mode: 'run' },
    input: (template.spec.input as Record<string, unknown> | undefined) ?? {},
  };
}

/** The owner reference a run task carries to the webhook that made it. */
export function ownerOf(webhook: StoredResource): OwnerReference {
  return { apiVersion: webhook.apiVersion, kind: webhook.kind, name: webhook.metadata.name, uid: webhook.metadata.uid, controller: true };
}

export interface RunTaskEvent {
  eventId: string;
  eventType?: string;
  profile: string;
  payload: unknown;
  receivedAt: string;
  nowMs: number;
}

/** The run task a delivery creates: the template's spec and labels, mode run, webhook input keys. */
export function buildRunTask(t: RunTaskTemplate, e: RunTaskEvent): StoredResource {
  const input: Record<string, unknown> = {
    ...t.input,
    [t.inputKey]: e.payload,
    webhook_event_id: e.eventId,
    webhook_received_at: e.receivedAt,
    webhook_source: e.profile,
  };
  if (e.eventType) input.webhook_event_type = e.eventType;
  const created = e.receivedAt.slice(0, 19) + 'Z';
  return {
    apiVersion: t.apiVersion,
    kind: 'Task',
    metadata: {
      name: runTaskName(t.webhookName, e.nowMs),
      namespace: t.namespace,
      // Label values are restricted; an event id that does not fit is labelled by its hash.
      labels: { ...t.labels, [LABEL_EVENT_ID]: isValidLabelValue(e.eventId) ? e.eventId : hash16(e.eventId) },
      ownerReferences: t.ownerReferences as OwnerReference[],
      uid: crypto.randomUUID(),
      resourceVersion: '0',
      generation: 1,
      creationTimestamp: created,
    },
    spec: { ...t.spec, input },
    status: pendingStatus(created),
  };
}

let pending: { at: string; status: Status } | undefined;

/** A new run task's status depends only on the second it was made: one shared, frozen copy per second. */
function pendingStatus(at: string): Status {
  if (pending?.at !== at) {
    const status = initialTaskStatus({ metadata: { generation: 1 }, spec: { mode: 'run' }, status: {} }, at);
    pending = { at, status: deepFreeze(status) };
  }
  return pending.status;
}

function deepFreeze<T>(o: T): T {
  if (o && typeof o === 'object' && !Object.isFrozen(o)) {
    Object.freeze(o);
    for (const v of Object.values(o)) deepFreeze(v);
  }
  return o;
}
