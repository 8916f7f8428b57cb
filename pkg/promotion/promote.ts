// A promotion: the plan (per object: create, update with its diff, unchanged, delete, keep),
// every problem, and, when there is none and it is not a dry run, one unit that writes it
// all, so production is either as before or as after, even through a crash.
import { stringify } from 'yaml';
import { ApiError } from '../api/errors.js';
import { applyOrder } from '../api/registry.js';
import { LAST_APPLIED } from '../api/three-way.js';
import type { ObjectKey, Resource, StoredResource } from '../api/types.js';
import { draft, merged, type Objects } from '../store/objects.js';
import type { Op } from '../store/types.js';
import { SIGNING_SECRET_FOR } from '../trigger/reconciler.js';
import { newSigningSecret } from '../trigger/signing.js';
import { unifiedDiff } from '../util/linediff.js';
import { checkSecrets, checkTargets, validated } from './checks.js';
import { environmentOf } from './environment.js';
import { gather, keyOf, listAll, PROMOTED_FROM, signingSecretOf, targetOf, type Problem } from './gather.js';

export interface PromotionRequest {
  from: string;
  to: string;
  dryRun?: boolean;
  prune?: boolean;
  only?: string[];
}

export type Action = 'create' | 'update' | 'unchanged' | 'delete' | 'keep';

export interface Item {
  kind: string;
  name: string;
  action: Action;
  diff?: string;
  reason?: string;
}

export interface Promotion {
  items: Item[];
  problems: Problem[];
}

interface Planned extends Promotion {
  ops: Op[];
}

/** `from` must be preview and `to` production. */
async function checkNamespaces(store: Objects, from: string, to: string): Promise<void> {
  if (from === to) throw new ApiError('BadRequest', 'promote from one namespace to another');
  const [f, t] = [await environmentOf(store, from), await environmentOf(store, to)];
  if (f !== 'preview') throw new ApiError('BadRequest', `namespace "${from}" is not a preview namespace (spec.environment: ${f ?? 'unset'})`);
  if (t !== 'production') throw new ApiError('BadRequest', `namespace "${to}" is not a production namespace (spec.environment: ${t ?? 'unset'})`);
}

const manifest = (o: Resource | StoredResource): string => stringify({ metadata: { labels: o.metadata.labels, annotations: o.metadata.annotations }, spec: o.spec });

/** Creates it, updates it (its status, endpoint and generated Secrets kept) or leaves it. */
function write(t: Resource, existing: StoredResource | undefined): { item: Item; op?: Op } {
  const { kind } = t;
  const name = t.metadata.name;
  if (!existing) return { item: { kind, name, action: 'create' }, op: { op: 'create', object: draft(t, t.metadata.namespace!) } };
  // An operator's stop in production stands until the operator lifts it: a promotion never resumes.
  const spec = 'suspend' in existing.spec ? { ...t.spec, suspend: existing.spec.suspend } : t.spec;
  // So does the record of an apply in production: it is that object's, for its next apply.
  const record = existing.metadata.annotations?.[LAST_APPLIED];
  const metadata = record === undefined ? t.metadata : { ...t.metadata, annotations: { ...t.metadata.annotations, [LAST_APPLIED]: record } };
  const next = merged(existing, { ...t, metadata, spec });
  if (!next) return { item: { kind, name, action: 'unchanged' } };
  const diff = unifiedDiff(manifest(existing), manifest(next), `${kind}/${name} (production)`, `${kind}/${name} (promoted)`);
  return { item: { kind, name, action: 'update', diff }, op: { op: 'update', object: next, expect: existing.metadata.resourceVersion } };
}

/** A production trigger's own signing Secret, generated on its first promotion. */
async function signingSecret(store: Objects, to: string, trigger: string, problems: Problem[]): Promise<{ item: Item; op: Op } | undefined> {
  const name = signingSecretOf(trigger);
  const found = await store.get('Secret', to, name);
  if (found) {
    if (found.metadata.labels?.[SIGNING_SECRET_FOR] !== trigger) problems.push({ kind: 'Trigger', name: trigger, message: `secret "${name}" exists in "${to}" and was not generated for this trigger` });
    return undefined;
  }
  const secret: Resource = {
    apiVersion: 'orloj.dev/v1', kind: 'Secret',
    metadata: { name, namespace: to, labels: { [SIGNING_SECRET_FOR]: trigger } },
    spec: { type: 'Opaque', data: { key1: Buffer.from(newSigningSecret()).toString('base64') } },
  };
  return { item: { kind: 'Secret', name, action: 'create' }, op: { op: 'create', object: draft(secret, to) } };
}

/** What an earlier promotion from `from` created that is no longer promoted (with --prune). */
async function pruned(store: Objects, req: PromotionRequest, keep: Set<string>): Promise<Array<{ item: Item; ops: Op[] }>> {
  const out: Array<{ item: Item; ops: Op[] }> = [];
  const kinds = ['Trigger', 'InboundWebhook', 'TaskWebhook', 'Source', 'Task', 'Collection'];
  for (const kind of kinds) {
    for (const o of await listAll(store, kind, req.to, `${PROMOTED_FROM}=${req.from}`)) {
      const name = o.metadata.name;
      // Run tasks are production's own: only template Tasks are promoted.
      if (keep.has(keyOf(kind, name)) || (kind === 'Task' && o.spec.mode !== 'template')) continue;
      const key: ObjectKey = { kind, namespace: req.to, name };
      if (kind === 'Collection' && (await store.store.data.listDocuments(o.metadata.uid, { limit: 1 })).items.length) {
        out.push({ item: { kind, name, action: 'keep', reason: 'it still holds documents: delete them first' }, ops: [] });
        continue;
      }
      const ops: Op[] = [{ op: 'delete', key, expect: o.metadata.resourceVersion }];
      const secret = kind === 'Trigger' ? await store.get('Secret', req.to, signingSecretOf(name)) : undefined;
      if (secret?.metadata.labels?.[SIGNING_SECRET_FOR] === name) ops.push({ op: 'delete', key: { kind: 'Secret', namespace: req.to, name: secret.metadata.name }, expect: secret.metadata.resourceVersion });
      out.push({ item: { kind, name, action: 'delete' }, ops });
    }
  }
  return out;
}

export async function plan(store: Objects, req: PromotionRequest): Promise<Planned> {
  await checkNamespaces(store, req.from, req.to);
  const g = await gather(store, req.from, req.only);
  const problems = [...g.problems];
  const targets = new Map<string, Resource>();
  const ordered = [...g.objects.values()].sort((a, b) => applyOrder(a.kind) - applyOrder(b.kind) || a.metadata.name.localeCompare(b.metadata.name));
  for (const o of ordered) {
    const v = validated(targetOf(o, req.from, req.to), req.to);
    problems.push(...v.problems);
    if (v.obj) targets.set(keyOf(o.kind, o.metadata.name), v.obj);
  }
  problems.push(...(await checkTargets(store, targets, req.to)), ...(await checkSecrets(store, g, req.to)));
  const items: Item[] = [];
  const ops: Op[] = [{ op: 'exists', key: { kind: 'Namespace', namespace: '', name: req.to } }];
  for (const t of targets.values()) {
    if (t.kind === 'Trigger') {
      const s = await signingSecret(store, req.to, t.metadata.name, problems);
      if (s) items.push(s.item), ops.push(s.op);
    }
    const w = write(t, await store.get(t.kind, req.to, t.metadata.name));
    items.push(w.item);
    if (w.op) ops.push(w.op);
  }
  if (req.prune) for (const p of await pruned(store, req, new Set(targets.keys()))) items.push(p.item), ops.push(...p.ops);
  return { items, problems, ops };
}

/** Plans, and unless it is a dry run or a problem was found, writes the whole promotion as one unit with its event. */
export async function promote(store: Objects, req: PromotionRequest, caller: { role: string; subject: string }): Promise<Promotion> {
  const p = await plan(store, req);
  const changes = p.items.filter((i) => i.action !== 'unchanged' && i.action !== 'keep');
  if (req.dryRun || p.problems.length || !changes.length) return { items: p.items, problems: p.problems };
  const tally = new Map<Action, number>();
  for (const i of changes) tally.set(i.action, (tally.get(i.action) ?? 0) + 1);
  const counts = [...tally].map(([a, n]) => `${n} ${a}`).join(', ');
  const message = `promoted from "${req.from}" by the ${caller.role} token ${caller.subject.slice(0, 12)}: ${counts}`;
  const event: Op = { op: 'event', key: { kind: 'Namespace', namespace: '', name: req.to }, type: 'Normal', reason: 'Promoted', message };
  try {
    await store.store.commit({ origin: 'api', ops: [...p.ops, event] });
  } catch (e) {
    if (e instanceof ApiError && (e.reason === 'Conflict' || e.reason === 'AlreadyExists' || e.reason === 'NotFound')) {
      throw new ApiError('Conflict', `production namespace "${req.to}" changed while the promotion was planned: run it again (${e.message})`);
    }
    throw e;
  }
  return { items: p.items, problems: [] };
}
