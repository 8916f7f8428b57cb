import type { KindDef } from '../kind.js';

export const NamespaceKind: KindDef = {
  kind: 'Namespace',
  plural: 'namespaces',
  singular: 'namespace',
  aliases: ['ns'],
  namespaced: false,
  specSchema: {
    type: 'object',
    additionalProperties: false,
    properties: {
      environment: { type: 'string', enum: ['preview', 'production'], description: 'preview | production; unset is unrestricted' },
    },
  },
  columns: [{ name: 'ENVIRONMENT', jsonPath: '.spec.environment' }],
  admit: (ns, action) => (action === 'delete' ? [{ op: 'empty', namespace: ns.metadata.name }] : []),
};
