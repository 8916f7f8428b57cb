// Every promoted object validated again as it will be in production, before anything is
// written: its kind's schema and rules, what it references there, the fit of each
// receiver's mapping with the collection it writes to, and the Secrets it needs.
import { ApiError, type Cause } from '../api/errors.js';
import { sourceName, type InboundWebhookSpec } from '../api/kinds/inbound-webhook.js';
import type { SourceSpec } from '../api/kinds/source.js';
import { lookupKind } from '../api/registry.js';
import type { Resource, StoredResource } from '../api/types.js';
import { validateResource } from '../api/validate.js';
import { mappingFitProblems, type FieldMappingSpec } from '../mapping/index.js';
import type { Objects } from '../store/objects.js';
import { keyOf, type Gathered, type Problem } from './gather.js';

const problemsOf = (o: Resource, causes: Cause[]): Problem[] =>
  causes.map((c) => ({ kind: o.kind, name: o.metadata.name, ...(c.field ? { field: c.field } : {}), message: c.message }));

/** The target as the API would store it (defaults applied), or its problems. */
export function validated(t: Resource, to: string): { obj?: Resource; problems: Problem[] } {
  try {
    return { obj: validateResource(structuredClone(t), to).obj, problems: [] };
  } catch (e) {
    if (!(e instanceof ApiError)) throw e;
    return { problems: e.details?.causes?.length ? problemsOf(t, e.details.causes) : [{ kind: t.kind, name: t.metadata.name, message: e.message }] };
  }
}

/** What an object references, looked up in the promoted set first, then in production. */
export function resolver(store: Objects, targets: Map<string, Resource>, to: string) {
  return async (kind: string, name: string): Promise<StoredResource | undefined> => {
    const t = targets.get(keyOf(kind, name));
    if (t) return { ...t, metadata: { ...t.metadata, namespace: to, uid: '', resourceVersion: '', generation: 1, creationTimestamp: '' }, status: {} };
    return store.get(kind, to, name);
  };
}

/** A receiver's mapping (inline, or its bound Source's) against the schema of its collection as promoted. */
async function mappingFit(w: Resource, get: ReturnType<typeof resolver>): Promise<Problem[]> {
  if (w.kind !== 'InboundWebhook') return [];
  const spec = w.spec as InboundWebhookSpec;
  if (spec.payload?.mode === 'raw') return [];
  let mapping: FieldMappingSpec | undefined = spec.field_mapping;
  let prefix = 'spec.field_mapping';
  if (spec.source_binding) {
    const name = sourceName(spec.source_binding.source);
    mapping = ((await get('Source', name))?.spec as unknown as SourceSpec | undefined)?.field_mapping;
    prefix = `source "${name}" spec.field_mapping`;
  }
  const col = await get('Collection', spec.collection);
  const schema = (col?.spec as { schema?: Record<string, unknown> } | undefined)?.schema;
  return mappingFitProblems(mapping, schema).map((p) => ({
    kind: w.kind, name: w.metadata.name, field: `${prefix}.${p.field}`,
    message: `${p.message} (collection "${spec.collection}" as promoted)`,
  }));
}

/** Each target's own rules, its references, and its mapping's fit. */
export async function checkTargets(store: Objects, targets: Map<string, Resource>, to: string): Promise<Problem[]> {
  const get = resolver(store, targets, to);
  const problems: Problem[] = [];
  for (const t of targets.values()) {
    const def = lookupKind(t.kind)!;
    if (def.checkRefs) problems.push(...problemsOf(t, await def.checkRefs(t, get)));
    problems.push(...(await mappingFit(t, get)));
  }
  return problems;
}

/** Every Secret the promoted objects reference, present in production: a promotion never copies one. */
export async function checkSecrets(store: Objects, g: Gathered, to: string): Promise<Problem[]> {
  const problems: Problem[] = [];
  for (const [name, ref] of g.secrets) {
    if (await store.get('Secret', to, name)) continue;
    const [kind = '', owner = ''] = ref.by.split('/');
    problems.push({ kind, name: owner, message: `secret "${name}" not found in namespace "${to}": create it there first (a promotion never copies Secrets)` });
  }
  return problems;
}
