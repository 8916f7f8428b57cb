import type { KindDef } from '../kind.js';
import type { Spec, StoredResource } from '../types.js';

export const REDACTED = '<redacted>';
/** A redacted value that the apply being answered changes (the key existed, with another value). */
export const REDACTED_CHANGED = '<redacted, changed>';

/** stringData is write-only: it is folded into base64 `data` before anything is stored. */
function normalizeSecretSpec(spec: Spec): Spec {
  const data: Record<string, string> = { ...((spec.data as Record<string, string>) ?? {}) };
  const stringData = (spec.stringData as Record<string, string>) ?? {};
  for (const [k, v] of Object.entries(stringData)) data[k] = Buffer.from(v, 'utf8').toString('base64');
  const { stringData: _dropped, ...rest } = spec;
  return { ...rest, data };
}

function redactSecret(obj: StoredResource, before?: StoredResource): StoredResource {
  const data = (obj.spec.data as Record<string, string>) ?? {};
  const was = (before?.spec.data as Record<string, string> | undefined) ?? {};
  // Compared here, on the server: the answer carries which keys changed, never a value or a digest of one.
  const changed = (k: string): boolean => Object.hasOwn(was, k) && was[k] !== data[k];
  const redacted = Object.fromEntries(Object.keys(data).map((k) => [k, changed(k) ? REDACTED_CHANGED : REDACTED]));
  return { ...obj, spec: { ...obj.spec, data: redacted } };
}

export const SecretKind: KindDef = {
  kind: 'Secret',
  plural: 'secrets',
  singular: 'secret',
  aliases: [],
  namespaced: true,
  specSchema: {
    type: 'object',
    additionalProperties: false,
    properties: {
      type: { type: 'string', default: 'Opaque' },
      data: {
        type: 'object',
        description: 'base64-encoded values',
        additionalProperties: { type: 'string', pattern: '^[A-Za-z0-9+/]*={0,2}$' },
      },
      stringData: {
        type: 'object',
        description: 'write-only plain values, stored base64-encoded in data',
        additionalProperties: { type: 'string' },
      },
    },
  },
  statusSchema: { type: 'object', properties: { keys: { type: 'integer' } } },
  columns: [
    { name: 'TYPE', jsonPath: '.spec.type' },
    { name: 'KEYS', jsonPath: '.status.keys' },
    { name: 'READY', jsonPath: '.status.conditions[?(@.type=="Ready")].status' },
  ],
  server: () => import('../../controller/reconcilers/secret.js').then((m) => ({ reconciler: m.secretReconciler })),
  normalizeSpec: normalizeSecretSpec,
  sensitive: true,
  redact: redactSecret,
};

/** Decoded key values of a Secret, in key order: each is a candidate signing key. */
export function secretValues(obj: StoredResource): Buffer[] {
  const data = (obj.spec.data as Record<string, string>) ?? {};
  return Object.keys(data).sort().map((k) => Buffer.from(data[k]!, 'base64'));
}
