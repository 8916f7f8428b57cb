import { eventually, type Orlojd } from '../helpers/orlojd.js';
import { readyOf } from '../helpers/fixtures.js';
import { ctl, type CtlResult } from '../cli/ctl.js';

/** The label a promotion puts on every object it creates or updates. */
export const PROMOTED_FROM = 'orloj.dev/promoted-from';

export const PLURALS: Record<string, string> = {
  Namespace: 'namespaces',
  Secret: 'secrets',
  Collection: 'collections',
  Source: 'sources',
  Task: 'tasks',
  TaskWebhook: 'task-webhooks',
  InboundWebhook: 'inbound-webhooks',
  Trigger: 'triggers',
};

/** Every namespaced kind: what a "listing of every kind" of a namespace covers. */
export const NAMESPACED = ['Secret', 'Collection', 'Source', 'Task', 'TaskWebhook', 'InboundWebhook', 'Trigger'];

export interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  spec: Record<string, unknown>;
}

export const manifest = (kind: string, namespace: string, name: string, spec: Record<string, unknown>, labels?: Record<string, string>): Manifest => ({
  apiVersion: 'orloj.dev/v1',
  kind,
  metadata: { name, namespace, ...(labels ? { labels } : {}) },
  spec,
});

/** PUTs an object and fails loudly on anything but 200/201. */
export async function put(d: Orlojd, obj: Manifest, token?: string): Promise<void> {
  const ns = obj.metadata.namespace ?? 'default';
  const path = obj.kind === 'Namespace' ? `/v1/namespaces/${obj.metadata.name}` : `/v1/${PLURALS[obj.kind]}/${obj.metadata.name}?namespace=${ns}`;
  const res = await d.api('PUT', path, obj, token ? { authorization: `Bearer ${token}` } : {});
  if (res.status !== 200 && res.status !== 201) throw new Error(`PUT ${obj.kind} ${ns}/${obj.metadata.name}: ${res.status} ${res.text}`);
}

export async function del(d: Orlojd, kind: string, namespace: string, name: string): Promise<void> {
  const res = await d.api('DELETE', `/v1/${PLURALS[kind]}/${name}?namespace=${namespace}`);
  if (res.status !== 200) throw new Error(`DELETE ${kind} ${namespace}/${name}: ${res.status} ${res.text}`);
}

/** A Namespace with `environment` (or none), through the API as admin. */
export async function namespace(d: Orlojd, name: string, environment?: 'preview' | 'production'): Promise<void> {
  await put(d, { apiVersion: 'orloj.dev/v1', kind: 'Namespace', metadata: { name }, spec: environment ? { environment } : {} });
}

export const secret = (namespace: string, name: string, values: Record<string, string>): Manifest => manifest('Secret', namespace, name, { stringData: values });

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Obj = { metadata: { name: string; namespace: string; uid: string; generation?: number; resourceVersion: string; labels?: Record<string, string>; annotations?: Record<string, string> }; spec: any; status?: any };

export async function get(d: Orlojd, kind: string, namespace: string, name: string): Promise<Obj | undefined> {
  const res = await d.api<Obj>('GET', `/v1/${PLURALS[kind]}/${name}?namespace=${namespace}&reveal=true`);
  if (res.status === 404) return undefined;
  if (res.status !== 200) throw new Error(`GET ${kind} ${namespace}/${name}: ${res.status} ${res.text}`);
  return res.body;
}

export async function list(d: Orlojd, kind: string, namespace: string): Promise<Obj[]> {
  const out: Obj[] = [];
  let cont: string | undefined;
  do {
    const res = await d.api('GET', `/v1/${PLURALS[kind]}?namespace=${namespace}&reveal=true&limit=1000${cont ? `&continue=${encodeURIComponent(cont)}` : ''}`);
    if (res.status !== 200) throw new Error(`list ${kind} in ${namespace}: ${res.status} ${res.text}`);
    out.push(...(res.body.items as Obj[]));
    cont = res.body.metadata?.continue;
  } while (cont);
  return out;
}

/** A Secret's values, decoded (as admin, with ?reveal=true). */
export async function secretValues(d: Orlojd, namespace: string, name: string): Promise<Record<string, string>> {
  const s = await get(d, 'Secret', namespace, name);
  if (!s) throw new Error(`secret ${namespace}/${name} not found`);
  return Object.fromEntries(Object.entries((s.spec.data ?? {}) as Record<string, string>).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')]));
}

/**
 * Everything a namespace holds that a write could change: every object of every kind (its uid,
 * generation, labels, annotations, spec with Secret values revealed) and every collection's
 * documents (id and version). Status is left out: reconcilers keep writing it.
 */
export async function snapshot(d: Orlojd, ns: string): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  for (const kind of NAMESPACED) {
    for (const o of await list(d, kind, ns)) {
      const { uid, generation, labels, annotations } = o.metadata;
      out[`${kind}/${o.metadata.name}`] = { uid, generation, labels: labels ?? {}, annotations: annotations ?? {}, spec: o.spec };
      if (kind === 'Collection') {
        const docs = await d.api('GET', `/v1/collections/${o.metadata.name}/documents?namespace=${ns}&limit=1000&includeDeleted=true`);
        out[`documents/${o.metadata.name}`] = (docs.body.items as Array<{ id: string; meta: { version: number } }>).map((x) => `${x.id}@${x.meta.version}`).sort();
      }
    }
  }
  return out;
}

/** Waits until an object is Ready for its current generation; returns it. */
export async function ready(d: Orlojd, kind: string, namespace: string, name: string, ms = 10_000): Promise<Obj> {
  return eventually(async () => {
    const o = await get(d, kind, namespace, name);
    return o && readyOf(o)?.status === 'True' && o.metadata.generation === o.status?.observedGeneration ? o : undefined;
  }, ms);
}

/** `orlojctl promote ...` against `d`, as its admin. */
export function promote(d: Orlojd, args: string[], env?: NodeJS.ProcessEnv): Promise<CtlResult> {
  return ctl(d, ['promote', ...args], env ? { env } : {});
}

/** The `KIND/NAME ACTION` lines of promote's stdout (diff lines, indented, left out), as a map. */
export function actions(stdout: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of stdout.split('\n')) {
    const m = /^(\S+\/\S+) (create|update|unchanged|delete|keep)\b/.exec(line);
    if (m) out[m[1]!] = m[2]!;
  }
  return out;
}

export interface PromotionAnswer {
  kind: string;
  dryRun: boolean;
  from: string;
  to: string;
  items: Array<{ kind: string; name: string; action: string; diff?: string; reason?: string }>;
  problems: Array<{ kind: string; name: string; field?: string; message: string }>;
}

/** POST /v1/promotions as admin (or with `token`). */
export async function promotion(d: Orlojd, body: Record<string, unknown>, token?: string) {
  return d.api<PromotionAnswer & { reason?: string; message?: string }>('POST', '/v1/promotions', body, token ? { authorization: `Bearer ${token}` } : {});
}

export interface NsEvent {
  reason: string;
  message: string;
  count: number;
  involvedObject: { kind: string; namespace: string; name: string };
}

/** The events recorded on a Namespace. */
export async function namespaceEvents(d: Orlojd, name: string): Promise<NsEvent[]> {
  const res = await d.api('GET', `/v1/events?kind=Namespace&name=${name}&limit=1000`);
  if (res.status !== 200) throw new Error(`events of namespace ${name}: ${res.status} ${res.text}`);
  return (res.body.items as NsEvent[]).filter((e) => e.involvedObject.kind === 'Namespace' && e.involvedObject.name === name);
}
