// GET /openapi/v3: every kind's schema (the same ones the API validates with and the CRDs
// are generated from) and every route, as an OpenAPI 3.1 document. Built once per process.
import type { JSONSchema, KindDef } from '../api/kind.js';
import { LAST_APPLIED } from '../api/three-way.js';
import { MAX_OPERATIONS } from './patch.js';

type Doc = Record<string, unknown>;

const ref = (name: string): Doc => ({ $ref: `#/components/schemas/${name}` });
const json = (schema: Doc, description: string): Doc => ({ description, content: { 'application/json': { schema } } });
const errors = { default: json(ref('Status'), 'a failure, in the Kubernetes Status shape') };

const objectMeta: JSONSchema = {
  type: 'object',
  required: ['name'],
  properties: {
    name: { type: 'string' }, namespace: { type: 'string' },
    labels: { type: 'object', additionalProperties: { type: 'string' } },
    annotations: { type: 'object', additionalProperties: { type: 'string' } },
    uid: { type: 'string', readOnly: true }, resourceVersion: { type: 'string' },
    generation: { type: 'integer', readOnly: true }, creationTimestamp: { type: 'string', format: 'date-time', readOnly: true },
  },
};

/** RFC 6902: the operations a JSON patch applies, in order. */
const jsonPatch: JSONSchema = {
  type: 'array',
  maxItems: MAX_OPERATIONS,
  items: {
    type: 'object',
    required: ['op', 'path'],
    properties: { op: { enum: ['add', 'remove', 'replace', 'move', 'copy', 'test'] }, path: { type: 'string' }, from: { type: 'string' }, value: {} },
  },
};

const status: JSONSchema = {
  type: 'object',
  properties: {
    kind: { const: 'Status' }, apiVersion: { type: 'string' }, status: { enum: ['Failure', 'Success'] }, code: { type: 'integer' },
    reason: { type: 'string' }, message: { type: 'string' }, details: { type: 'object' },
  },
};

function kindSchema(def: KindDef): JSONSchema {
  return {
    type: 'object',
    description: `${def.kind}: ${def.namespaced ? 'namespaced' : 'cluster-wide'}; short names ${def.aliases.join(', ') || 'none'}`,
    required: ['kind', 'metadata', 'spec'],
    properties: {
      apiVersion: { const: 'orloj.dev/v1' }, kind: { const: def.kind }, metadata: ref('ObjectMeta'),
      spec: def.specSchema, status: { ...(def.statusSchema ?? { type: 'object' }), readOnly: true },
    },
  };
}

const listOf = (kind: string): JSONSchema => ({
  type: 'object',
  properties: { kind: { const: `${kind}List` }, metadata: { type: 'object', properties: { resourceVersion: { type: 'string' }, continue: { type: 'string' } } }, items: { type: 'array', items: ref(kind) } },
});

const param = (name: string, inn: 'path' | 'query', description: string, schema: Doc = { type: 'string' }): Doc => ({ name, in: inn, required: inn === 'path', description, schema });

function kindPaths(def: KindDef): Record<string, Doc> {
  const ns = def.namespaced ? [param('namespace', 'query', 'default: default')] : [];
  const name = param('name', 'path', `the ${def.singular}'s name`);
  const one = json(ref(def.kind), def.kind);
  const list = {
    get: {
      operationId: `list${def.kind}`, summary: `List or watch ${def.plural}`, tags: [def.kind],
      parameters: [...ns, param('labelSelector', 'query', 'e.g. app=x'), param('limit', 'query', 'page size', { type: 'integer' }), param('continue', 'query', 'the next page'), param('watch', 'query', 'stream changes (NDJSON)', { type: 'boolean' }), param('resourceVersion', 'query', 'watch from here')],
      responses: { 200: json(ref(`${def.kind}List`), `${def.kind}List, or a stream of watch events`), ...errors },
    },
    post: {
      operationId: `create${def.kind}`, summary: `Create a ${def.singular}`, tags: [def.kind], parameters: [...ns, param('dryRun', 'query', 'validate only', { type: 'boolean' })],
      requestBody: { required: true, content: { 'application/json': { schema: ref(def.kind) }, 'application/yaml': { schema: ref(def.kind) } } },
      responses: { 201: one, ...errors },
    },
  };
  const item = {
    get: { operationId: `read${def.kind}`, summary: `Read a ${def.singular}`, tags: [def.kind], parameters: [...ns, name], responses: { 200: one, ...errors } },
    put: {
      operationId: `apply${def.kind}`, summary: `Create or update a ${def.singular} (an identical one writes nothing)`, tags: [def.kind],
      parameters: [...ns, name, param('dryRun', 'query', 'validate only', { type: 'boolean' }), param('apply', 'query', `three-way merge with the live object, as orlojctl apply does: keeps what other clients set, removes what the last apply (annotation ${LAST_APPLIED}) sent and this one does not`, { type: 'boolean' })],
      requestBody: { required: true, content: { 'application/json': { schema: ref(def.kind) }, 'application/yaml': { schema: ref(def.kind) } } },
      responses: { 200: one, 201: one, ...errors },
    },
    delete: { operationId: `delete${def.kind}`, summary: `Delete a ${def.singular}`, tags: [def.kind], parameters: [...ns, name, param('resourceVersion', 'query', 'only at this version'), param('force', 'query', 'delete what admission would keep', { type: 'boolean' })], responses: { 200: one, ...errors } },
    patch: {
      operationId: `patch${def.kind}`, summary: `Patch a ${def.singular}'s spec, labels and annotations (written at the version read; a stale metadata.resourceVersion in the patch is 409)`, tags: [def.kind], parameters: [...ns, name, param('dryRun', 'query', 'validate only', { type: 'boolean' })],
      requestBody: { required: true, content: { 'application/merge-patch+json': { schema: { type: 'object' } }, 'application/json-patch+json': { schema: ref('JsonPatch') } } },
      responses: { 200: one, ...errors },
    },
  };
  const statusPath = {
    get: { operationId: `read${def.kind}Status`, tags: [def.kind], parameters: [...ns, name], responses: { 200: one, ...errors } },
    put: { operationId: `replace${def.kind}Status`, tags: [def.kind], parameters: [...ns, name], requestBody: { required: true, content: { 'application/json': { schema: ref(def.kind) } } }, responses: { 200: one, ...errors } },
  };
  return { [`/v1/${def.plural}`]: list, [`/v1/${def.plural}/{name}`]: item, [`/v1/${def.plural}/{name}/status`]: statusPath };
}

/** POST /v1/{plural}/{name}/test-delivery (pkg/receiver/test-delivery.ts): the receiver's answer, wrapped. */
function testDeliveryOp(): Doc {
  const answer = {
    type: 'object',
    required: ['kind', 'httpStatus', 'body'],
    properties: {
      apiVersion: { type: 'string' },
      kind: { const: 'TestDelivery' },
      httpStatus: { type: 'integer', description: 'what the receiver answered, as a sender would have got it' },
      body: { type: 'object', description: "the receiver's answer body" },
      warnings: { type: 'array', items: { type: 'string' }, description: 'what was not sent as asked (an event id the profile reads elsewhere, a missing key)' },
    },
  };
  return {
    operationId: 'testDelivery',
    summary: "The body, signed by the server with the receiver's own key and scheme and delivered through the receive path, recorded as a test (writer)",
    parameters: [
      param('plural', 'path', 'task-webhooks or inbound-webhooks'), param('name', 'path', 'name'), param('namespace', 'query', 'default: default'),
      param('eventId', 'query', 'the event id (default: a random one)'), param('eventType', 'query', 'the event type'), param('key', 'query', 'which key of the Secret signs (default: the first)'),
    ],
    requestBody: { required: false, content: { '*/*': { schema: {} } } },
    responses: { 200: json(answer, "the receiver's answer"), 409: json(ref('Status'), 'no endpoint yet, or suspended'), ...errors },
  };
}

/** Routes beside the kinds' own: deliveries, documents, promotion, health. */
function otherPaths(): Record<string, Doc> {
  const obj = json({ type: 'object' }, 'the answer');
  const body = { required: true, content: { 'application/json': { schema: { type: 'object' } } } };
  const op = (operationId: string, summary: string, extra: Doc = {}) => ({ operationId, summary, responses: { 200: obj, ...errors }, ...extra });
  const id = param('id', 'path', 'a delivery record id', { type: 'integer' });
  const collection = param('collection', 'path', 'the collection');
  const doc = param('id', 'path', 'the document id');
  return {
    '/healthz': { get: { ...op('healthz', 'Liveness'), security: [] } },
    '/readyz': { get: { ...op('readyz', 'Readiness: 503 until this replica serves'), security: [] } },
    '/version': { get: { ...op('version', 'The server version'), security: [] } },
    '/metrics': { get: { operationId: 'metrics', summary: 'Prometheus metrics', security: [], responses: { 200: { description: 'text exposition format', content: { 'text/plain': { schema: { type: 'string' } } } } } } },
    '/openapi/v3': { get: op('openapi', 'This document') },
    '/v1/events': { get: op('listEvents', 'Events of objects', { parameters: [param('kind', 'query', 'kind'), param('namespace', 'query', 'namespace'), param('name', 'query', 'name')] }) },
    '/v1/deliveries': { get: op('listDeliveries', 'Delivery records, newest first', { parameters: [param('namespace', 'query', 'namespace'), param('owner', 'query', 'KIND/NAME'), param('outcome', 'query', 'outcome'), param('limit', 'query', 'how many', { type: 'integer' })] }) },
    '/v1/deliveries/{id}/redeliver': { post: op('redeliver', "A trigger's dead letter or a parked hydration job, again", { parameters: [id] }) },
    '/v1/{plural}/{name}/rotate-endpoint': { post: op('rotateEndpoint', "A receiver's new endpoint ID", { parameters: [param('plural', 'path', 'task-webhooks or inbound-webhooks'), param('name', 'path', 'name')] }) },
    '/v1/{plural}/{name}/test-delivery': { post: testDeliveryOp() },
    '/v1/triggers/{name}/resume': { post: op('resumeTrigger', 'Resume a trigger its destination stopped with 410', { parameters: [param('name', 'path', 'name')] }) },
    '/v1/promotions': { post: op('promote', 'Promote a preview namespace into a production one (admin)', { requestBody: body }) },
    '/v1/collections/{collection}/documents': {
      get: op('listDocuments', 'Documents, filtered by ?field=value', { parameters: [collection] }),
      post: op('createDocument', 'Create a document', { parameters: [collection], requestBody: body }),
    },
    '/v1/collections/{collection}/documents/{id}': {
      get: op('readDocument', 'Read a document', { parameters: [collection, doc] }),
      put: op('upsertDocument', 'Create or replace a document', { parameters: [collection, doc], requestBody: body }),
      patch: op('patchDocument', 'Merge-patch a document', { parameters: [collection, doc], requestBody: { required: true, content: { 'application/merge-patch+json': { schema: { type: 'object' } } } } }),
      delete: op('deleteDocument', 'Soft-delete a document', { parameters: [collection, doc] }),
    },
    '/v1/webhook-deliveries/{endpoint_id}': { post: { ...op('deliver', 'A sender\'s signed delivery (authenticated by its receiver, not a token)', { parameters: [param('endpoint_id', 'path', "the receiver's endpoint ID")], requestBody: { required: true, content: { '*/*': { schema: {} } } } }), security: [], responses: { 202: obj, ...errors } } },
  };
}

export function openApiDocument(defs: readonly KindDef[], version: string): Doc {
  const schemas: Record<string, JSONSchema> = { ObjectMeta: objectMeta, Status: status, JsonPatch: jsonPatch };
  for (const d of defs) Object.assign(schemas, { [d.kind]: kindSchema(d), [`${d.kind}List`]: listOf(d.kind) });
  return {
    openapi: '3.1.0',
    info: { title: 'Orloj API', version, description: 'A declarative control plane for webhooks' },
    security: [{ bearer: [] }],
    paths: Object.assign({}, ...defs.map(kindPaths), otherPaths()),
    components: { schemas, securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
  };
}
