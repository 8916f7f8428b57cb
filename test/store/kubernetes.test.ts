// The Kubernetes driver in-process: resources in the shared test cluster (a real
// kube-apiserver with the CRDs installed once), the data plane in a fresh SQLite store.
// Between tests every object the suites make is deleted from the cluster.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { KubeConfig } from '@kubernetes/client-node';
import { singleProcessElector } from '../../pkg/store/elector.js';
import { openStore } from '../../pkg/store/factory.js';
import { loadKeys } from '../../pkg/store/keys.js';
import { CRD_KINDS } from '../../pkg/store/kubernetes/kinds.js';
import type { KubeList } from '../../pkg/store/kubernetes/kinds.js';
import { Rest } from '../../pkg/store/kubernetes/rest.js';
import { KubernetesStore } from '../../pkg/store/kubernetes/store.js';
import type { KeySet } from '../../pkg/store/sealing.js';
import type { Store } from '../../pkg/store/types.js';
import { kubeCluster, kubectl } from '../helpers/kube.js';
import { runStoreConformance, type Driver } from './conformance.js';
import { runDocumentConformance } from './documents-conformance.js';
import { runJobConformance } from './jobs-conformance.js';
import { runNamesConformance } from './names-conformance.js';
import { runQueueConformance } from './queue-conformance.js';

const SYSTEM_NAMESPACES = new Set(['default', 'kube-system', 'kube-public', 'kube-node-lease']);

let kubeConfig: KubeConfig | undefined;

// dist/test/store → the repository root.
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

/** crds/ as committed, applied once, and Established before any store opens. */
function installCrds(): void {
  kubectl(['apply', '-f', join(ROOT, 'crds')]);
  kubectl(['wait', '--for=condition=Established', '--timeout=60s', ...Object.values(CRD_KINDS).map((p) => `crd/${p}.orloj.dev`)]);
}

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
      const collections = [...Object.values(CRD_KINDS).map((p) => `/apis/orloj.dev/v1/namespaces/${ns}/${p}`), `/api/v1/namespaces/${ns}/secrets?fieldSelector=type%3DOpaque`];
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
  features: { sealing: false, resourceChangeLog: false },
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

describe('kubernetes store', function () {
  this.timeout(180_000);
  runStoreConformance('kubernetes', kubernetes);
  runDocumentConformance('kubernetes', kubernetes);
  runQueueConformance('kubernetes', kubernetes);
  runJobConformance('kubernetes', kubernetes);
  runNamesConformance('kubernetes', kubernetes);
});
