import { createHash } from 'node:crypto';
import { isValidLabelValue } from '../api/meta.js';
import type { TaskWebhookSpec } from '../api/kinds/task-webhook.js';
import type { StoredResource } from '../api/types.js';
import { initialTaskStatus } from '../controller/reconcilers/task.js';

export const LABEL_WEBHOOK = 'orloj.dev/task-webhook';
export const LABEL_WEBHOOK_NAMESPACE = 'orloj.dev/task-webhook-namespace';
export const LABEL_EVENT_ID = 'orloj.dev/webhook-event-id';

export interface RunTaskInput {
  webhook: StoredResource;
  template: StoredResource;
  eventId: string;
  eventType?: string;
  profile: string;
  payload: unknown;
  receivedAt: string;
}

const hash16 = (s: string): string => createHash('sha256').update(s).digest('hex').slice(0, 16);

/**
 * Same webhook and event id → same name (41 + 17 characters at most, so the store's
 * `-<n>` suffix for a replay after an expired window still fits in 63).
 */
export function runTaskName(webhookName: string, eventId: string): string {
  const base = webhookName.slice(0, 40).replace(/-+$/, '');
  return `${base}-${hash16(eventId)}`;
}

/** The run task a delivery creates: the template's spec and labels, mode run, webhook input keys. */
export function buildRunTask(i: RunTaskInput): StoredResource {
  const spec = i.webhook.spec as TaskWebhookSpec;
  const tplSpec = i.template.spec;
  const input: Record<string, unknown> = {
    ...((tplSpec.input as Record<string, unknown> | undefined) ?? {}),
    [spec.payload.input_key]: i.payload,
    webhook_event_id: i.eventId,
    webhook_received_at: i.receivedAt,
    webhook_source: i.profile,
  };
  if (i.eventType) input.webhook_event_type = i.eventType;
  const task: StoredResource = {
    apiVersion: i.template.apiVersion,
    kind: 'Task',
    metadata: {
      name: runTaskName(i.webhook.metadata.name, i.eventId),
      namespace: i.template.metadata.namespace,
      labels: {
        ...(i.template.metadata.labels ?? {}),
        [LABEL_WEBHOOK]: i.webhook.metadata.name,
        [LABEL_WEBHOOK_NAMESPACE]: i.webhook.metadata.namespace,
        // Label values are restricted; an event id that does not fit is labelled by its hash.
        [LABEL_EVENT_ID]: isValidLabelValue(i.eventId) ? i.eventId : hash16(i.eventId),
      },
      uid: crypto.randomUUID(),
      resourceVersion: '0',
      generation: 1,
      creationTimestamp: i.receivedAt.replace(/\.\d+Z$/, 'Z'),
    },
    spec: { ...tplSpec, mode: 'run', input },
    status: {},
  };
  task.status = initialTaskStatus(task);
  return task;
}
