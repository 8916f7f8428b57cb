// The Kubernetes driver in-process: resources in the shared test cluster (a real
// kube-apiserver with the CRDs installed once), the data plane in a fresh SQLite store.
// Between tests every object the suites make is deleted from the cluster.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { KubeConfig } from '@kubernetes/client-node';
import { singleProcessElector } from '../../pkg/store/elector.js';
import { openStore } from '../../pkg/store/factory.js';
import { loadKeys } from '../../pkg/store/keys.js';
import { kinds } from '../../pkg/api/registry.js';
import { crdPlural, isCrdKind } from '../../pkg/crd/generate.js';
import type { KubeList } from '../../pkg/store/kubernetes/kinds.js';
import { Rest } from '../../pkg/store/kubernetes/rest.js';
import { KubernetesStore } from '../../pkg/store/kubernetes/store.js';
import type { KeySet } from '../../pkg/store/sealing.js';
import type { Store, Unit, WriteResult } from '../../pkg/store/types.js';
import type { StoredResource } from '../../pkg/api/types.js';
import { draft, Objects } from '../../pkg/store/objects.js';
import { ApiError } from '../../pkg/api/errors.js';
import { expect } from 'chai';
import { installCrds, kubeCluster, kubectl } from '../helpers/kube.js';
import { eventually } from '../helpers/orlojd.js';
import { runStoreConformance, type Driver } from './conformance.js';
import { runDocumentConformance } from './documents-conformance.js';
import { runJobConformance } from './jobs-conformance.js';
import { runNamesConformance } from './names-conformance.js';
import { runQueueConformance } from './queue-conformance.js';

const SYSTEM_NAMESPACES = new Set(['default', 'kube-system', 'kube-public', 'kube-node-lease']);

let kubeConfig: KubeConfig | undefined;

async function config(): Promise<KubeConfig> {
  if (kubeConfig) return kubeConfig;
  const cluster = kubeCluster();
  installCrds();
  const { KubeConfig: KC } = await import('@kubernetes/client-node');
  const kc = new KC();
  kc.loadFromFile(cluster.kubeconfig);
  return (kubeConfig = kc);
}

/**
 * Deletes what the tests made: the orloj objects and Opaque Secrets of every namespace, and
 * the namespaces other than the cluster's own. The test cluster runs no namespace
 * controller, so a deleted namespace is finalized here, as that controller would.
 */
async function cleanCluster(kc: KubeConfig): Promise<void> {
  const rest = Rest.create(kc);
  try {
    const namespaces = (await rest.request<KubeList>('GET', '/api/v1/namespaces')).items.map((n) => n.metadata.name);
    await Promise.all(namespaces.map(async (ns) => {
      const collections = [...kinds.filter(isCrdKind).map((d) => `/apis/orloj.dev/v1/namespaces/${ns}/${crdPlural(d)}`), `/api/v1/namespaces/${ns}/secrets?fieldSelector=type%3DOpaque`];
      await Promise.all(collections.map((path) => rest.request('DELETE', path)));
      if (SYSTEM_NAMESPACES.has(ns)) return;
      await rest.request('DELETE', `/api/v1/namespaces/${ns}`).catch(() => undefined);
      const finalize = { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns }, spec: { finalizers: [] } };
      await rest.request('PUT', `/api/v1/namespaces/${ns}/finalize`, finalize).catch(() => undefined);
    }));
  } finally {
    rest.close();
  }
}

let dir = '';
let keys: KeySet;

async function openKube(): Promise<Store> {
  const data = await openStore({ storage: 'sqlite', dataDir: dir, keys });
  try {
    return await KubernetesStore.open({ kubeConfig: await config(), data, elector: singleProcessElector(), log: () => undefined });
  } catch (e) {
    await data.close();
    throw e;
  }
}

const kubernetes: Driver = {
  features: { sealing: false, storeRevisions: false },
  async open(): Promise<Store> {
    await cleanCluster(await config());
    dir = mkdtempSync(join(tmpdir(), 'orloj-kube-store-'));
    keys = loadKeys(dir).keys;
    return openKube();
  },
  async reopen(old: Store): Promise<Store> {
    await old.close();
    return openKube();
  },
  async cleanup(): Promise<void> {
    rmSync(dir, { recursive: true, force: true });
  },
};

/** A delivery's unit as the TaskWebhook receiver commits it: claim the event, create its run task, record it. */
function delivery(eventId: string, ownerUid: string, nowMs: number): Unit {
  const t = draft({ apiVersion: 'orloj.dev/v1', kind: 'Task', metadata: { name: `hook-${nowMs.toString(16)}`, labels: { 'orloj.dev/webhook-event-id': eventId } }, spec: { mode: 'run', input: {} } }, 'default');
  t.metadata.ownerReferences = [{ apiVersion: 'orloj.dev/v1', kind: 'TaskWebhook', name: 'hook', uid: ownerUid, controller: true }];
  return {
    origin: 'delivery',
    ops: [
      { op: 'claim', scope: 'TaskWebhook/default/hook', key: eventId, expiresAt: nowMs + 60_000, nowMs },
      { op: 'create', object: t, uniqueName: true },
      { op: 'record', record: { ts: new Date(nowMs).toISOString(), owner: 'TaskWebhook/default/hook', eventId, outcome: 'accepted', httpStatus: 202 } },
    ],
  };
}

const failure = (p: Promise<unknown>): Promise<ApiError> =>
  p.then(
    () => expect.fail('expected a failure'),
    (e: unknown) => {
      expect(e).to.be.instanceOf(ApiError);
      return e as ApiError;
    },
  );

describe('kubernetes store: the cluster', function () {
  this.timeout(120_000);
  let store: Store;
  let objects: Objects;
  beforeEach(async () => {
    store = await kubernetes.open();
    objects = new Objects(store);
  });
  afterEach(async () => {
    await store.close();
    await kubernetes.cleanup();
  });

  it('serves what kubectl writes from its caches, as written by the API', async () => {
    const seen: string[] = [];
    const stop = await store.control.watch({}, undefined, (e) => seen.push(`${e.type}:${e.key.kind}:${e.key.name}:${e.origin}`));
    kubectl(['apply', '-f', '-'], { input: JSON.stringify({ apiVersion: 'orloj.dev/v1', kind: 'Task', metadata: { name: 'by-kubectl', namespace: 'default', labels: { a: 'b' } }, spec: { mode: 'template' } }) });
    kubectl(['create', 'secret', 'generic', 'signing', '-n', 'default', '--from-literal=current=s3cret']);
    kubectl(['create', 'secret', 'docker-registry', 'pull', '-n', 'default', '--docker-username=u', '--docker-password=p', '--docker-server=r.example']);
    kubectl(['create', 'namespace', 'prod']);
    kubectl(['label', 'namespace', 'prod', 'orloj.dev/environment=production']);
    await eventually(async () => (await objects.get('Namespace', '', 'prod'))?.spec.environment === 'production');
    stop();
    expect(seen).to.include.members(['ADDED:Task:by-kubectl:api', 'ADDED:Secret:signing:api', 'ADDED:Namespace:prod:api', 'MODIFIED:Namespace:prod:api']);
    const t = (await objects.list('Task', { labelSelector: [{ key: 'a', op: 'in', values: ['b'] }] })).items;
    expect(t.map((o) => [o.metadata.name, o.spec.mode])).to.deep.equal([['by-kubectl', 'template']]);
    const secret = await objects.get('Secret', 'default', 'signing');
    expect(Buffer.from((secret!.spec.data as Record<string, string>).current!, 'base64').toString()).to.equal('s3cret');
    // Only Opaque Secrets are Orloj's.
    expect(await objects.get('Secret', 'default', 'pull')).to.equal(undefined);
  });

  it('keeps the finalizers others set through an update', async () => {
    const t = { apiVersion: 'orloj.dev/v1', kind: 'Task', metadata: { name: 'finalized', namespace: 'default' }, spec: { mode: 'run', input: { v: 1 } } };
    await objects.apply(t);
    kubectl(['patch', 'task', 'finalized', '-n', 'default', '--type=merge', '-p', '{"metadata":{"finalizers":["example.com/keep"]}}']);
    const patched = kubectl(['get', 'task', 'finalized', '-n', 'default', '-o', 'jsonpath={.metadata.resourceVersion}']).stdout;
    await eventually(async () => (await objects.get('Task', 'default', 'finalized'))?.metadata.resourceVersion === patched);
    await objects.apply({ ...t, spec: { mode: 'run', input: { v: 2 } } });
    const after = kubectl(['get', 'task', 'finalized', '-n', 'default', '-o', 'jsonpath={.metadata.finalizers[*]} {.spec.input.v}']).stdout;
    kubectl(['patch', 'task', 'finalized', '-n', 'default', '--type=merge', '-p', '{"metadata":{"finalizers":null}}']);
    expect(after).to.equal('example.com/keep 2');
  });

  it('writes Orloj Secrets and Namespaces as core objects, status in an annotation', async () => {
    await objects.apply({ apiVersion: 'orloj.dev/v1', kind: 'Namespace', metadata: { name: 'staging' }, spec: { environment: 'preview' } });
    await objects.apply({ apiVersion: 'orloj.dev/v1', kind: 'Secret', metadata: { name: 'keys', namespace: 'staging' }, spec: { type: 'Opaque', data: { k: Buffer.from('v').toString('base64') } } });
    await objects.updateStatus({ kind: 'Secret', namespace: 'staging', name: 'keys' }, { keys: 1 });
    expect(kubectl(['get', 'namespace', 'staging', '-o', 'jsonpath={.metadata.labels.orloj\\.dev/environment}']).stdout).to.equal('preview');
    const core = JSON.parse(kubectl(['get', 'secret', 'keys', '-n', 'staging', '-o', 'json']).stdout) as { type: string; data: Record<string, string>; metadata: { annotations: Record<string, string> } };
    expect([core.type, core.data.k]).to.deep.equal(['Opaque', Buffer.from('v').toString('base64')]);
    expect(JSON.parse(core.metadata.annotations['orloj.dev/status']!)).to.deep.equal({ keys: 1 });
    expect((await objects.get('Secret', 'staging', 'keys'))!.status).to.deep.equal({ keys: 1 });
    // Merges at once each keep what the others merged.
    const uid = (await objects.get('Secret', 'staging', 'keys'))!.metadata.uid;
    await Promise.all(['a', 'b', 'c', 'd'].map((f) => objects.mergeStatus({ kind: 'Secret', namespace: 'staging', name: 'keys' }, uid, { [f]: true })));
    expect((await objects.get('Secret', 'staging', 'keys'))!.status).to.deep.equal({ keys: 1, a: true, b: true, c: true, d: true });
    const other = await failure(objects.apply({ apiVersion: 'orloj.dev/v1', kind: 'Secret', metadata: { name: 'tls', namespace: 'staging' }, spec: { type: 'kubernetes.io/tls', data: {} } }));
    expect(other.reason).to.equal('Invalid');
  });

  it('answers a schema violation with 422 Invalid, and a watch from an expired resourceVersion with 410 Gone', async () => {
    const bad = await failure(objects.apply({ apiVersion: 'orloj.dev/v1', kind: 'Task', metadata: { name: 'bad', namespace: 'default' }, spec: { mode: 'sometimes' } }));
    expect([bad.code, bad.reason]).to.deep.equal([422, 'Invalid']);
    expect(bad.message).to.include('spec.mode');
    await objects.apply({ apiVersion: 'orloj.dev/v1', kind: 'Task', metadata: { name: 'good', namespace: 'default' }, spec: { mode: 'run' } });
    const gone = await failure(store.control.watch({ kind: 'Task' }, '1', () => undefined));
    expect([gone.code, gone.reason]).to.deep.equal([410, 'Gone']);
  });

  it('journals cluster changes in the data store\'s change log, with images where asked and never of a Secret', async () => {
    const since = Number(store.control.revision());
    const t = draft({ apiVersion: 'orloj.dev/v1', kind: 'Task', metadata: { name: 'imaged', labels: { l: 'v' } }, spec: { mode: 'run', input: { n: 1 } } }, 'default');
    const made = await store.commit({ origin: 'delivery', ops: [{ op: 'create', object: t, image: true }] });
    const s = draft({ apiVersion: 'orloj.dev/v1', kind: 'Secret', metadata: { name: 'hidden' }, spec: { data: { k: Buffer.from('s3cret').toString('base64') } } }, 'default');
    await store.commit({ origin: 'api', ops: [{ op: 'create', object: s, image: true }] });
    await store.commit({ origin: 'system', ops: [{ op: 'delete', key: { kind: 'Task', namespace: 'default', name: 'imaged' } }] });
    const changes = await store.control.changes(since, 10);
    expect(changes.map((c) => `${c.type}:${c.key.kind}:${c.key.name}:${c.origin}`)).to.deep.equal(['ADDED:Task:imaged:delivery', 'ADDED:Secret:hidden:api', 'DELETED:Task:imaged:system']);
    const after = JSON.parse(changes[0]!.after!) as StoredResource;
    expect([after.metadata.uid, after.spec.input]).to.deep.equal([!made.held && (made.writes[0] as WriteResult).object.metadata.uid, { n: 1 }]);
    expect(changes[1]).not.to.have.any.keys('after', 'before');
    expect(changes[2]!.uid).to.equal(after.metadata.uid);
  });

  it('is unpublished while an API write is not yet shown by the informers, never for a delivery', async () => {
    const t = (name: string) => draft({ apiVersion: 'orloj.dev/v1', kind: 'Task', metadata: { name }, spec: { mode: 'run' } }, 'default');
    const api = store.commit({ origin: 'api', ops: [{ op: 'create', object: t('by-api') }] });
    expect(store.unpublished()).to.equal(true);
    await api;
    expect(store.unpublished()).to.equal(false);
    expect(await objects.get('Task', 'default', 'by-api')).to.not.equal(undefined);
    const delivered = store.commit({ origin: 'delivery', ops: [{ op: 'create', object: t('by-delivery'), uniqueName: true }] });
    expect(store.unpublished()).to.equal(false);
    await delivered;
  });

  it('finds the run task a delivery made before a crash instead of making a second', async () => {
    const now = Date.now();
    // The first attempt wrote to the cluster, then the process died before the data store's write.
    const first = delivery('ev-1', 'hook-uid', now);
    const crashed = await store.commit({ origin: 'delivery', ops: [first.ops[1]!] });
    const made = !crashed.held && crashed.writes[0]!.name;
    store = await kubernetes.reopen(store);
    const retry = await store.commit(delivery('ev-1', 'hook-uid', now + 1000));
    expect(!retry.held && retry.writes[1]!.name).to.equal(made);
    expect((await store.data.claim('TaskWebhook/default/hook', 'ev-1', now + 1000))?.result).to.equal(made);
    expect((await new Objects(store).list('Task')).items.map((o) => o.metadata.name)).to.deep.equal([made]);
    // Another webhook's task for the same event id is not this one's.
    const other = await store.commit(delivery('ev-1', 'other-uid', now + 2000));
    expect(!other.held && other.writes[1]!.name).to.not.equal(made);
  });
});

describe('kubernetes store', function () {
  this.timeout(180_000);
  runStoreConformance('kubernetes', kubernetes);
  runDocumentConformance('kubernetes', kubernetes);
  runQueueConformance('kubernetes', kubernetes);
  runJobConformance('kubernetes', kubernetes);
  runNamesConformance('kubernetes', kubernetes);
});
