import type { Cause } from '../errors.js';
import type { KindDef } from '../kind.js';
import type { Resource } from '../types.js';
import { receiverColumns, receiverStatusSchema } from '../receiver-schema.js';

export const DEFAULT_MAX_BODY_BYTES = 1024 * 1024;
/** Run tasks a webhook keeps when its spec names no history_limit. */
export const DEFAULT_HISTORY_LIMIT = 1000;

export interface TaskWebhookSpec {
  task_ref: string;
  suspend: boolean;
  auth: {
    profile: string;
    secret_ref: string;
    signature_header?: string;
    signature_prefix?: string;
    timestamp_header?: string;
    max_skew_seconds: number;
  };
  idempotency: { event_id_header?: string; dedupe_window_seconds?: number };
  payload: { mode: 'raw' | 'json'; input_key: string };
  max_body_bytes: number;
  /** Run tasks kept for this webhook, the oldest deleted first (absent in objects stored before it existed). */
  history_limit?: number;
  /** A finished run task is deleted this long after its completedAt. */
  ttl_seconds_after_finished?: number;
  [extra: string]: unknown;
}

/** Profiles whose signature covers a timestamp, so a captured delivery stays valid for the skew. */
const TIMESTAMPED = new Set(['generic', 'stripe', 'slack', 'standard-webhooks']);

/**
 * A dedup window shorter than the timestamp skew would accept a byte-identical replay again
 * once the window passed while its signature still holds.
 */
function windowCoversSkew(w: Resource): Cause[] {
  const spec = w.spec as TaskWebhookSpec;
  const window = spec.idempotency?.dedupe_window_seconds;
  const timestamped = TIMESTAMPED.has(spec.auth.profile) && !(spec.auth.profile === 'generic' && spec.auth.timestamp_header === '');
  if (window === undefined || !timestamped || window >= spec.auth.max_skew_seconds) return [];
  return [{ field: 'spec.idempotency.dedupe_window_seconds', message: `must be at least auth.max_skew_seconds (${spec.auth.max_skew_seconds}): a replay inside the skew would be accepted again` }];
}

export const TaskWebhookKind: KindDef = {
  kind: 'TaskWebhook',
  plural: 'task-webhooks',
  singular: 'task-webhook',
  aliases: ['taskwebhook', 'taskwebhooks', 'tw'],
  namespaced: true,
  specSchema: {
    type: 'object',
    additionalProperties: false,
    required: ['task_ref', 'auth'],
    properties: {
      task_ref: { type: 'string', minLength: 1, description: 'a Task with mode: template in the same namespace' },
      suspend: { type: 'boolean', default: false },
      auth: {
        type: 'object',
        additionalProperties: false,
        required: ['secret_ref'],
        default: {},
        properties: {
          profile: {
            type: 'string',
            enum: ['generic', 'github', 'stripe', 'slack', 'standard-webhooks', 'gitlab', 'static-header'],
            default: 'generic',
          },
          secret_ref: { type: 'string', minLength: 1 },
          signature_header: { type: 'string', pattern: '^[A-Za-z0-9-]+$' },
          signature_prefix: { type: 'string' },
          timestamp_header: { type: 'string', pattern: '^[A-Za-z0-9-]*$' },
          max_skew_seconds: { type: 'integer', minimum: 1, maximum: 86400, default: 300 },
        },
      },
      idempotency: {
        type: 'object',
        additionalProperties: false,
        default: {},
        properties: {
          event_id_header: { type: 'string', pattern: '^[A-Za-z0-9-]+$' },
          dedupe_window_seconds: { type: 'integer', minimum: 1, maximum: 31536000, description: 'profile default: 86400, github 259200' },
        },
      },
      payload: {
        type: 'object',
        additionalProperties: false,
        default: {},
        properties: {
          mode: { type: 'string', enum: ['raw', 'json'], default: 'raw' },
          input_key: { type: 'string', minLength: 1, default: 'webhook_payload' },
        },
      },
      max_body_bytes: { type: 'integer', minimum: 1, maximum: 67108864, default: DEFAULT_MAX_BODY_BYTES },
      history_limit: {
        type: 'integer', minimum: 0, maximum: 100000, default: DEFAULT_HISTORY_LIMIT,
        description: 'run tasks kept for this webhook; beyond it the oldest are deleted',
      },
      ttl_seconds_after_finished: {
        type: 'integer', minimum: 0, maximum: 315360000,
        description: 'a finished run task (status.phase Succeeded or Failed, with status.completedAt) is deleted this many seconds after completedAt',
      },
    },
  },
  statusSchema: receiverStatusSchema({ lastTriggeredTask: { type: 'string' } }),
  validate: windowCoversSkew,
  refs: (w) => {
    const spec = w.spec as TaskWebhookSpec;
    return [{ kind: 'Secret', name: spec.auth.secret_ref }, { kind: 'Task', name: spec.task_ref }];
  },
  server: () => import('../../receiver/kinds/task-webhook.js').then((m) => ({ receiver: m.taskWebhookReceiver })),
  columns: receiverColumns([
    { name: 'PROFILE', jsonPath: '.spec.auth.profile' },
    { name: 'TASK', jsonPath: '.spec.task_ref' },
  ]),
};
