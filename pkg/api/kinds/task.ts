import type { KindDef } from '../kind.js';

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
  unindexedLabels: ['orloj.dev/webhook-event-id'],
  server: () => import('../../controller/reconcilers/task.js').then((m) => ({ reconciler: m.taskReconciler })),
  columns: [
    { name: 'MODE', jsonPath: '.spec.mode' },
    { name: 'PHASE', jsonPath: '.status.phase' },
    { name: 'WEBHOOK', jsonPath: '.metadata.labels.orloj\\.dev/task-webhook', wide: true },
    { name: 'EVENT', jsonPath: '.metadata.labels.orloj\\.dev/webhook-event-id', wide: true },
  ],
};
