// Where orlojd finds its cluster: --kubeconfig, then KUBECONFIG, then the pod's service
// account, then ~/.kube/config; each checked by talking to a real kube-apiserver. When none
// works, one line says why, never quoting the file (it holds credentials).
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { expect } from 'chai';
import type { KubeConfig } from '@kubernetes/client-node';
import { defaultLeaseNamespace, KubeConfigError, loadKubeConfig } from '../../pkg/store/kubernetes/kubeconfig.js';
import { kubeCluster } from '../helpers/kube.js';

/** The API server's answer to listing namespaces with this configuration: proof that it works. */
async function namespaces(kc: KubeConfig): Promise<string[]> {
  const { CoreV1Api } = await import('@kubernetes/client-node');
  const list = await kc.makeApiClient(CoreV1Api).listNamespace();
  return list.items.map((n) => n.metadata?.name ?? '');
}

async function refusal(opts: Parameters<typeof loadKubeConfig>[0]): Promise<string> {
  try {
    await loadKubeConfig(opts);
  } catch (e) {
    expect(e).to.be.instanceOf(KubeConfigError);
    const msg = (e as Error).message;
    expect(msg).not.to.include('\n');
    return msg;
  }
  throw new Error('the configuration was accepted');
}

describe('loadKubeConfig (kube-apiserver)', function () {
  this.timeout(60_000);
  let dir: string;
  let cluster: ReturnType<typeof kubeCluster>;

  before(() => (cluster = kubeCluster()));
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'orloj-kubeconfig-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('uses --kubeconfig, before KUBECONFIG', async () => {
    const kc = await loadKubeConfig({ kubeconfig: cluster.kubeconfig, env: { KUBECONFIG: join(dir, 'absent') } });
    expect(await namespaces(kc)).to.include('default');
    expect(defaultLeaseNamespace(kc)).to.equal('default');
  });

  it('uses KUBECONFIG, merging a list of files as kubectl does', async () => {
    const extra = join(dir, 'extra');
    writeFileSync(extra, 'apiVersion: v1\nkind: Config\nclusters: [{name: other, cluster: {server: "https://127.0.0.1:1"}}]\nusers: [{name: other, user: {}}]\ncontexts: [{name: other, context: {cluster: other, user: other}}]\ncurrent-context: other\n');
    const kc = await loadKubeConfig({ env: { KUBECONFIG: [cluster.kubeconfig, extra].join(delimiter), HOME: dir } });
    // The first file's current-context wins; the second adds its entries.
    expect(await namespaces(kc)).to.include('default');
    expect(kc.getContexts().map((c) => c.name).sort()).to.deep.equal(['orloj-test', 'other']);
  });

  it('uses the service account in a pod, with the pod namespace for the Lease (skipped on an external cluster, whose certificate is not at hand)', async function () {
    const cert = join(dirname(cluster.kubeconfig), 'certs', 'apiserver.crt');
    if (!existsSync(cert)) this.skip();
    const sa = join(dir, 'serviceaccount');
    mkdirSync(sa);
    writeFileSync(join(sa, 'token'), cluster.token);
    copyFileSync(cert, join(sa, 'ca.crt'));
    writeFileSync(join(sa, 'namespace'), 'orloj-system\n');
    const port = new URL(cluster.server).port;
    // A kubeconfig in HOME is not used in a pod: the service account comes first.
    mkdirSync(join(dir, '.kube'));
    writeFileSync(join(dir, '.kube', 'config'), 'not: a kubeconfig');
    const kc = await loadKubeConfig({ env: { KUBERNETES_SERVICE_HOST: '127.0.0.1', KUBERNETES_SERVICE_PORT: port, HOME: dir }, serviceAccountDir: sa });
    expect(kc.getCurrentCluster()?.skipTLSVerify).to.equal(false);
    expect(await namespaces(kc)).to.include('default');
    expect(defaultLeaseNamespace(kc)).to.equal('orloj-system');
  });

  it('uses ~/.kube/config last', async () => {
    mkdirSync(join(dir, '.kube'));
    copyFileSync(cluster.kubeconfig, join(dir, '.kube', 'config'));
    const kc = await loadKubeConfig({ env: { HOME: dir } });
    expect(await namespaces(kc)).to.include('default');
  });

  it('says in one line that there is no configuration at all', async () => {
    expect(await refusal({ env: { HOME: dir } })).to.equal(`no Kubernetes configuration: give --kubeconfig PATH, set KUBECONFIG, run in a pod with a service account, or create ${join(dir, '.kube', 'config')}`);
  });

  it('says which file cannot be read, and why, without quoting it', async () => {
    const absent = join(dir, 'absent');
    expect(await refusal({ kubeconfig: absent, env: {} })).to.equal(`cannot read kubeconfig ${absent} (from --kubeconfig): no such file`);
    expect(await refusal({ env: { KUBECONFIG: absent } })).to.equal(`cannot read kubeconfig ${absent} (from KUBECONFIG): no such file`);
    const broken = join(dir, 'broken');
    writeFileSync(broken, `users:\n- name: u\n  user: {token: "s3cret-token-value"\n  : : [\n`);
    const msg = await refusal({ kubeconfig: broken, env: {} });
    expect(msg).to.match(new RegExp(`^cannot load kubeconfig ${broken} \\(from --kubeconfig\\): not valid YAML \\(line \\d+\\)$`));
    expect(msg).not.to.include('s3cret');
    writeFileSync(broken, 'clusters: [{name: c, cluster: {}}]\n');
    expect(await refusal({ kubeconfig: broken, env: {} })).to.equal(`cannot load kubeconfig ${broken} (from --kubeconfig): clusters[0].cluster.server is missing`);
  });

  it('refuses a configuration that names no usable cluster', async () => {
    const file = join(dir, 'config');
    writeFileSync(file, 'apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: "https://127.0.0.1:1"}}]\ncontexts: [{name: x, context: {cluster: c, user: u}}]\n');
    expect(await refusal({ kubeconfig: file, env: {} })).to.equal(`kubeconfig ${file} has no current-context`);
    writeFileSync(file, 'apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: "https://127.0.0.1:1"}}]\ncontexts: [{name: x, context: {cluster: c, user: u}}]\ncurrent-context: y\n');
    expect(await refusal({ kubeconfig: file, env: {} })).to.equal(`kubeconfig ${file}: current-context "y" is not one of its contexts`);
    writeFileSync(file, 'apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: "https://127.0.0.1:1"}}]\ncontexts: [{name: x, context: {cluster: d, user: u}}]\ncurrent-context: x\n');
    expect(await refusal({ kubeconfig: file, env: {} })).to.equal(`kubeconfig ${file}: context "x" names cluster "d", which it does not define`);
  });

  it('says so when a pod has no service account token', async () => {
    expect(await refusal({ env: { KUBERNETES_SERVICE_HOST: '10.96.0.1', HOME: dir }, serviceAccountDir: join(dir, 'sa') })).to.equal(
      `KUBERNETES_SERVICE_HOST is set but there is no service account token at ${join(dir, 'sa', 'token')}: give --kubeconfig PATH or mount the service account`,
    );
  });
});
