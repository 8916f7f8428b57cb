import { stringify } from 'yaml';
import type { JSONSchema, KindDef } from '../api/kind.js';

export const GROUP = 'orloj.dev';

/**
 * Rewrites our ajv schema as a Kubernetes structural schema: open objects become
 * x-kubernetes-preserve-unknown-fields, closed ones rely on pruning.
 */
function structural(schema: JSONSchema): JSONSchema {
  // A value of several types has no structural form: the API server's own schema checks it.
  if (Array.isArray(schema.type) || schema.oneOf) {
    return { 'x-kubernetes-preserve-unknown-fields': true, ...(schema.description ? { description: schema.description } : {}) };
  }
  const out: JSONSchema = {};
  for (const [k, v] of Object.entries(schema)) {
    if (k === 'additionalProperties') continue;
    if (k === 'properties') {
      out.properties = Object.fromEntries(Object.entries(v as Record<string, JSONSchema>).map(([p, s]) => [p, structural(s)]));
    } else if (k === 'items') out.items = structural(v as JSONSchema);
    else out[k] = v;
  }
  const ap = schema.additionalProperties;
  if (ap === true) out['x-kubernetes-preserve-unknown-fields'] = true;
  else if (ap && typeof ap === 'object') out.additionalProperties = structural(ap as JSONSchema);
  else if (schema.type === 'object' && !schema.properties && ap === undefined) out['x-kubernetes-preserve-unknown-fields'] = true;
  return out;
}

const crdPlural = (def: KindDef): string => def.plural.replace(/-/g, '');

export function crdFor(def: KindDef): Record<string, unknown> {
  const plural = crdPlural(def);
  const singular = def.kind.toLowerCase();
  const shortNames = def.aliases.filter((a) => /^[a-z]+$/.test(a) && a !== plural && a !== singular);
  const status = def.statusSchema ? structural(def.statusSchema) : { type: 'object', 'x-kubernetes-preserve-unknown-fields': true };
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${plural}.${GROUP}` },
    spec: {
      group: GROUP,
      scope: def.namespaced ? 'Namespaced' : 'Cluster',
      names: { kind: def.kind, listKind: `${def.kind}List`, plural, singular, ...(shortNames.length ? { shortNames } : {}) },
      versions: [
        {
          name: 'v1',
          served: true,
          storage: true,
          subresources: { status: {} },
          additionalPrinterColumns: [
            ...def.columns.map((c) => ({ name: c.name, type: 'string', jsonPath: c.jsonPath, ...(c.wide ? { priority: 1 } : {}) })),
            { name: 'AGE', type: 'date', jsonPath: '.metadata.creationTimestamp' },
          ],
          schema: {
            openAPIV3Schema: {
              type: 'object',
              properties: { spec: structural(def.specSchema), status: { ...status, type: 'object' } },
            },
          },
        },
      ],
    },
  };
}

/** File name → YAML text, for every kind. */
export function renderCrds(defs: readonly KindDef[]): Map<string, string> {
  const header = '# Generated from pkg/api/kinds by `make crds`. Do not edit.\n';
  return new Map(defs.map((d) => [`${GROUP}_${crdPlural(d)}.yaml`, header + stringify(crdFor(d), { lineWidth: 0 })]));
}
