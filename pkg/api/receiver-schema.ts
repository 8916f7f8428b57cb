// What every receiver kind's status has: its endpoint, phase, last error and delivery
// counters, and the table columns that show them.
import { conditionsSchema } from './conditions-schema.js';
import type { Column, JSONSchema } from './kind.js';

/** The status schema of a receiver kind, with the kind's own fields added. */
export function receiverStatusSchema(own: Record<string, JSONSchema>): JSONSchema {
  return {
    type: 'object',
    properties: {
      phase: { type: 'string' },
      observedGeneration: { type: 'integer' },
      conditions: conditionsSchema,
      endpointID: { type: 'string' },
      endpointPath: { type: 'string' },
      lastError: { type: 'string' },
      lastDeliveryTime: { type: 'string' },
      lastEventID: { type: 'string' },
      ...own,
      acceptedCount: { type: 'integer' },
      duplicateCount: { type: 'integer' },
      rejectedCount: { type: 'integer' },
    },
  };
}

/** The kind's own columns first, then the endpoint, readiness and (wide) counters. */
export function receiverColumns(own: Column[]): Column[] {
  return [
    ...own,
    { name: 'ENDPOINT_PATH', jsonPath: '.status.endpointPath' },
    { name: 'READY', jsonPath: '.status.conditions[?(@.type=="Ready")].status' },
    { name: 'ACCEPTED', jsonPath: '.status.acceptedCount', wide: true },
    { name: 'DUPLICATE', jsonPath: '.status.duplicateCount', wide: true },
    { name: 'REJECTED', jsonPath: '.status.rejectedCount', wide: true },
    { name: 'LAST_ERROR', jsonPath: '.status.lastError', wide: true },
  ];
}
