import { retrySchema, type RetrySpec } from '../retry-schema.js';
import type { Cause } from '../errors.js';
import type { KindDef, Ref } from '../kind.js';
import type { Resource, StoredResource } from '../types.js';
import { conditionsSchema } from '../conditions-schema.js';
import { parseSelector } from '../selector.js';
import { destinationPolicy } from '../../outbound/policy.js';

export type TriggerEvent = 'create' | 'update' | 'delete';

export interface TriggerSpec {
  collection?: string;
  resource?: 'tasks';
  label_selector?: string;
  events: TriggerEvent[];
  url?: string;
  target?: { source: string };
  filter?: { event_types?: string[] };
  secret_ref: string;
  skip_hook_writes: boolean;
  skip_inbound_webhook_writes: boolean;
  retry: RetrySpec;
  timeout_seconds: number;
  suspend: boolean;
}

export const DEFAULT_BACKOFF_SECONDS = [5, 30, 120, 600];

/** What it watches and where it sends: one of each pair, and a URL the destination guard would send to. */
function validateTrigger(t: Resource): Cause[] {
  const spec = t.spec as unknown as TriggerSpec;
  const causes: Cause[] = [];
  if (spec.target) {
    if (spec.collection !== undefined) causes.push({ field: 'spec.collection', message: "an external write fires on its Source's collection: leave spec.collection out" });
  } else if ((spec.collection === undefined) === (spec.resource === undefined)) causes.push({ field: 'spec.collection', message: 'set exactly one of spec.collection and spec.resource' });
  if ((spec.url === undefined) === (spec.target === undefined)) causes.push({ field: 'spec.url', message: 'set exactly one of spec.url and spec.target' });
  if (spec.target && spec.resource) causes.push({ field: 'spec.target', message: 'an external write sends documents: use it with the Source\'s collection, not spec.resource' });
  if (spec.label_selector !== undefined && spec.resource === undefined) causes.push({ field: 'spec.label_selector', message: 'selects run tasks: only with spec.resource: tasks' });
  if (spec.label_selector) {
    try {
      parseSelector(spec.label_selector);
    } catch (e) {
      causes.push({ field: 'spec.label_selector', message: (e as Error).message });
    }
  }
  if (spec.url !== undefined) {
    if (!URL.canParse(spec.url)) causes.push({ field: 'spec.url', message: 'is not a URL' });
    else {
      const refused = destinationPolicy().literalProblem(spec.url);
      if (refused) causes.push({ field: 'spec.url', message: refused, reason: 'DestinationNotAllowed' });
    }
  }
  return causes;
}

export const TriggerKind: KindDef = {
  kind: 'Trigger',
  plural: 'triggers',
  singular: 'trigger',
  aliases: ['trg'],
  namespaced: true,
  specSchema: {
    type: 'object',
    additionalProperties: false,
    required: ['events'],
    properties: {
      collection: { type: 'string', minLength: 1, description: 'fire on document changes in this Collection' },
      resource: { type: 'string', enum: ['tasks'], description: 'fire on run-task changes instead' },
      label_selector: { type: 'string', maxLength: 4096, description: 'with resource: tasks, e.g. orloj.dev/task-webhook=NAME' },
      events: { type: 'array', items: { type: 'string', enum: ['create', 'update', 'delete'] }, minItems: 1, uniqueItems: true, default: ['create', 'update', 'delete'] },
      url: { type: 'string', pattern: '^https?://', maxLength: 2048 },
      target: { type: 'object', additionalProperties: false, required: ['source'], properties: { source: { type: 'string', minLength: 1 } } },
      filter: {
        type: 'object',
        additionalProperties: false,
        properties: { event_types: { type: 'array', items: { type: 'string', minLength: 1, maxLength: 256 }, maxItems: 100 } },
      },
      secret_ref: { type: 'string', default: '', description: 'empty: a Secret <name>-signing is generated' },
      skip_hook_writes: { type: 'boolean', default: true },
      skip_inbound_webhook_writes: { type: 'boolean', default: true },
      retry: retrySchema({ max_attempts: 1, backoff_seconds: DEFAULT_BACKOFF_SECONDS }),
      timeout_seconds: { type: 'integer', minimum: 1, maximum: 300, default: 15 },
      suspend: { type: 'boolean', default: false },
    },
  },
  statusSchema: {
    type: 'object',
    properties: {
      observedGeneration: { type: 'integer' },
      conditions: conditionsSchema,
      secretRef: { type: 'string' },
      collection: { type: 'string' },
      sinceRevision: { type: 'integer' },
      deliveredCount: { type: 'integer' },
      failedAttempts: { type: 'integer' },
      deadLetterCount: { type: 'integer' },
      lastDeliveryTime: { type: 'string' },
      lastError: { type: 'string' },
      destinationGone: { type: 'object', properties: { generation: { type: 'integer' }, message: { type: 'string' } } },
    },
  },
  columns: [
    { name: 'COLLECTION', jsonPath: '.status.collection' },
    { name: 'EVENTS', jsonPath: '.spec.events' },
    { name: 'URL', jsonPath: '.spec.url', wide: true },
    { name: 'DELIVERED', jsonPath: '.status.deliveredCount' },
    { name: 'DEAD', jsonPath: '.status.deadLetterCount' },
    { name: 'READY', jsonPath: '.status.conditions[?(@.type=="Ready")].status' },
  ],
  validate: validateTrigger,
  refs: (o: StoredResource): Ref[] => {
    const spec = o.spec as unknown as TriggerSpec;
    const refs: Ref[] = [];
    if (spec.collection) refs.push({ kind: 'Collection', name: spec.collection });
    if (spec.target) refs.push({ kind: 'Source', name: spec.target.source });
    const secret = spec.secret_ref || (typeof o.status?.secretRef === 'string' ? o.status.secretRef : '');
    if (secret) refs.push({ kind: 'Secret', name: secret });
    return refs;
  },
  server: () => import('../../trigger/server.js').then((m) => m.triggerServer),
};
