import { eventually, type Orlojd } from './orlojd.js';

export const secret = (name: string, values: Record<string, string>, namespace?: string) => ({
  apiVersion: 'orloj.dev/v1',
  kind: 'Secret',
  metadata: { name, ...(namespace ? { namespace } : {}) },
  spec: { stringData: values },
});

export const templateTask = (name: string, input: Record<string, unknown> = { topic: 'AI startups' }) => ({
  apiVersion: 'orloj.dev/v1',
  kind: 'Task',
  metadata: { name, labels: { app: 'report' } },
  spec: { mode: 'template', system: 'report-system', input },
});

export const taskWebhook = (name: string, spec: Record<string, unknown>) => ({
  apiVersion: 'orloj.dev/v1',
  kind: 'TaskWebhook',
  metadata: { name },
  spec,
});

const plurals: Record<string, string> = {
  Secret: 'secrets',
  Task: 'tasks',
  TaskWebhook: 'task-webhooks',
  Namespace: 'namespaces',
  Collection: 'collections',
  Source: 'sources',
  InboundWebhook: 'inbound-webhooks',
  Trigger: 'triggers',
};

/** Any kind's manifest in the default namespace. */
export const resource = (kind: string, name: string, spec: Record<string, unknown>) => ({ apiVersion: 'orloj.dev/v1', kind, metadata: { name }, spec });

/** PUTs an object (create or update) and fails loudly on anything but 200/201. */
export async function put(d: Orlojd, obj: { kind: string; metadata: { name: string; namespace?: string; labels?: Record<string, string> } }) {
  const ns = obj.metadata.namespace ?? 'default';
  const res = await d.api('PUT', `/v1/${plurals[obj.kind]}/${obj.metadata.name}?namespace=${ns}`, obj);
  if (res.status !== 200 && res.status !== 201) throw new Error(`PUT ${obj.kind}/${obj.metadata.name}: ${res.status} ${res.text}`);
  return res;
}

export const readyOf = (o: { status?: { conditions?: Array<{ type: string; status: string; reason: string }> } }) =>
  o.status?.conditions?.find((c) => c.type === 'Ready');

/** A secret, a template and a generic TaskWebhook on them; returns the webhook's endpoint path once it is Ready. */
export async function readyWebhook(d: Orlojd, name: string, secretValue: string): Promise<string> {
  await put(d, secret(`${name}-secret`, { value: secretValue }));
  await put(d, templateTask(`${name}-tpl`));
  return applyReady(d, name, { task_ref: `${name}-tpl`, auth: { secret_ref: `${name}-secret` } });
}

/** Applies a TaskWebhook with `spec`; returns its endpoint path once it is Ready. */
export async function applyReady(d: Orlojd, name: string, spec: Record<string, unknown>): Promise<string> {
  await put(d, taskWebhook(name, spec));
  return eventually(async () => {
    const w = (await d.api('GET', `/v1/task-webhooks/${name}`)).body;
    return readyOf(w)?.status === 'True' ? (w.status.endpointPath as string) : undefined;
  });
}
