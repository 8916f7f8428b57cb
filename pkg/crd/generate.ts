import { Ajv } from 'ajv';
import { stringify } from 'yaml';
import type { JSONSchema, KindDef } from '../api/kind.js';

export const GROUP = 'orloj.dev';

/**
 * The kinds that are CRDs in Kubernetes mode. Orloj's Secret and Namespace are the
 * cluster's own core Secrets and Namespaces there, so they get no CRD.
 */
export const CRD_KINDS: ReadonlySet<string> = new Set(['TaskWebhook', 'Task', 'InboundWebhook', 'Collection', 'Source', 'Trigger']);

export const isCrdKind = (def: KindDef): boolean => CRD_KINDS.has(def.kind);

// Defaults are checked as given, without filling in nested defaults first: the API server
// validates them the same way when it admits a CRD.
const ajv = new Ajv({ strict: false });

/**
 * Whether the API server would take the node's default. It refuses a default that fails the
 * node's own schema (`auth: {}` while auth requires secret_ref: there the field is simply
 * required), and kube-apiserver 1.20 reads an empty-string default as null. Dropping either
 * changes nothing orlojd sees: its own validation still applies the kind's defaults.
 */
function defaultAccepted(schema: JSONSchema): boolean {
  const { default: value, ...rest } = schema;
  if (value === '') return false;
  return ajv.validate(rest, structuredClone(value));
}

const SCALARS = new Set(['string', 'integer', 'number', 'boolean']);

/**
 * uniqueItems is forbidden (quadratic to check); a list of scalars says the same with
 * list-type set. Lists of objects keep no uniqueness rule in the CRD.
 */
function uniqueItems(schema: JSONSchema): JSONSchema {
  const items = schema.items as JSONSchema | undefined;
  return schema.uniqueItems === true && items && SCALARS.has(items.type as string) ? { 'x-kubernetes-list-type': 'set' } : {};
}

/**
 * Rewrites our ajv schema as a Kubernetes structural schema. Closed objects
 * (additionalProperties: false) rely on pruning; open ones, as ajv reads an object without
 * additionalProperties, keep unknown fields so nothing a writer adds is silently dropped.
 */
function structural(schema: JSONSchema): JSONSchema {
  // A value of several types has no structural form: the API server's own schema checks it.
  if (Array.isArray(schema.type) || schema.oneOf) {
    return { 'x-kubernetes-preserve-unknown-fields': true, ...(schema.description ? { description: schema.description } : {}) };
  }
  const out: JSONSchema = {};
  for (const [k, v] of Object.entries(schema)) {
    if (k === 'additionalProperties' || k === 'uniqueItems') continue;
    if (k === 'default' && !defaultAccepted(schema)) continue;
    if (k === 'properties') {
      out.properties = Object.fromEntries(Object.entries(v as Record<string, JSONSchema>).map(([p, s]) => [p, structural(s)]));
    } else if (k === 'items') out.items = structural(v as JSONSchema);
    else out[k] = v;
  }
  Object.assign(out, uniqueItems(schema));
  const ap = schema.additionalProperties;
  if (ap && typeof ap === 'object') out.additionalProperties = structural(ap as JSONSchema);
  else if (schema.type === 'object' && ap !== false) out['x-kubernetes-preserve-unknown-fields'] = true;
  return out;
}

/** The resource name in /apis/orloj.dev/v1/...: Kubernetes allows no hyphen in it. */
export const crdPlural = (def: KindDef): string => def.plural.replace(/-/g, '');

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

/** File name → YAML text, for every kind that is a CRD. */
export function renderCrds(defs: readonly KindDef[]): Map<string, string> {
  const header = '# Generated from pkg/api/kinds by `make crds`. Do not edit.\n';
  return new Map(defs.filter(isCrdKind).map((d) => [`${GROUP}_${crdPlural(d)}.yaml`, header + stringify(crdFor(d), { lineWidth: 0 })]));
}
