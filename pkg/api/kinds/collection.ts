import type { KindDef } from '../kind.js';
import type { Resource } from '../types.js';
import { conditionsSchema } from '../conditions-schema.js';
import { schemaProblem } from '../../documents/schema.js';

export interface CollectionSpec extends Record<string, unknown> {
  schema: Record<string, unknown>;
  id_field: string;
}

export const DEFAULT_ID_FIELD = 'id';

/** A schema ajv cannot compile is refused at apply, with ajv's own message. */
function schemaCompiles(c: Resource): { field: string; message: string }[] {
  const problem = schemaProblem((c.spec as CollectionSpec).schema);
  return problem ? [{ field: 'spec.schema', message: problem }] : [];
}

export const CollectionKind: KindDef = {
  kind: 'Collection',
  plural: 'collections',
  singular: 'collection',
  aliases: ['col'],
  namespaced: true,
  specSchema: {
    type: 'object',
    additionalProperties: false,
    properties: {
      schema: { type: 'object', default: { type: 'object' }, additionalProperties: true, description: 'JSON Schema every document write is validated against' },
      id_field: { type: 'string', minLength: 1, pattern: '^[^.]+$', default: DEFAULT_ID_FIELD, description: 'top-level field that holds a document id' },
    },
  },
  statusSchema: {
    type: 'object',
    properties: { documentCount: { type: 'integer' }, observedGeneration: { type: 'integer' }, conditions: conditionsSchema },
  },
  columns: [
    { name: 'ID FIELD', jsonPath: '.spec.id_field' },
    { name: 'DOCUMENTS', jsonPath: '.status.documentCount' },
    { name: 'READY', jsonPath: '.status.conditions[?(@.type=="Ready")].status' },
  ],
  validate: schemaCompiles,
  // Its documents go with it only when asked; then the store drops them in the background.
  admit: (c, action, { force }) =>
    action === 'delete' && !force ? [{ op: 'noDocuments', collection: { uid: c.metadata.uid, namespace: c.metadata.namespace, name: c.metadata.name } }] : [],
  server: async () => {
    const [{ collectionReconciler }, { documentRoutes }] = await Promise.all([import('../../controller/reconcilers/collection.js'), import('../../documents/routes.js')]);
    return { reconciler: collectionReconciler, routes: documentRoutes };
  },
};
