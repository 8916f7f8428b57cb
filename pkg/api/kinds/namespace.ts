import { ApiError } from '../errors.js';
import type { KindDef } from '../kind.js';
import { DEFAULT_NAMESPACE } from '../meta.js';

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
  admit: (ns, action) => {
    if (action !== 'delete') return [];
    // Objects may always be created in it: it stays, as in Kubernetes.
    if (ns.metadata.name === DEFAULT_NAMESPACE) throw new ApiError('Forbidden', `namespace "${DEFAULT_NAMESPACE}" may not be deleted`, { kind: 'Namespace', name: DEFAULT_NAMESPACE });
    return [{ op: 'empty', namespace: ns.metadata.name }];
  },
};
