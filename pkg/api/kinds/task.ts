import type { KindDef } from '../kind.js';

/** The label of a delivery's run task that names its event (kept out of the label index: unique per task). */
export const LABEL_EVENT_ID = 'orloj.dev/webhook-event-id';

export type TaskPhase = 'Pending' | 'Running' | 'Succeeded' | 'Failed';

export const TaskKind: KindDef = {
  kind: 'Task',
  plural: 'tasks',
  singular: 'task',
  aliases: [],
  namespaced: true,
  specSchema: {
    type: 'object',
    // Free-form fields (system, priority, retry, ...) are preserved as given.
    additionalProperties: true,
    properties: {
      mode: { type: 'string', enum: ['run', 'template'], default: 'run' },
      input: { type: 'object', default: {}, additionalProperties: true },
    },
  },
  statusSchema: {
    type: 'object',
    properties: {
      phase: { type: 'string', enum: ['Pending', 'Running', 'Succeeded', 'Failed', 'Template'] },
      startedAt: { type: 'string' },
      completedAt: { type: 'string' },
      message: { type: 'string' },
    },
  },
  unindexedLabels: [LABEL_EVENT_ID],
  server: () => import('../../controller/reconcilers/task.js').then((m) => ({ reconciler: m.taskReconciler })),
  columns: [
    { name: 'MODE', jsonPath: '.spec.mode' },
    { name: 'PHASE', jsonPath: '.status.phase' },
    { name: 'WEBHOOK', jsonPath: '.metadata.labels.orloj\\.dev/task-webhook', wide: true },
    { name: 'EVENT', jsonPath: '.metadata.labels.orloj\\.dev/webhook-event-id', wide: true },
  ],
};
