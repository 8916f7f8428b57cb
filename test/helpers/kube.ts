// One real kube-apiserver (with its etcd) per mocha process, started on first use, for the
// Kubernetes-mode tests. The cluster script builds kube-apiserver the first time (minutes,
// then cached: make test runs `make kube-apiserver` first) and starts it in seconds
// afterwards; ORLOJ_TEST_KUBECONFIG uses a running one.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface KubeCluster {
  /** A kubeconfig file whose user is a cluster admin. */
  kubeconfig: string;
  server: string;
  token: string;
}

// dist/test/helpers → the repository root.
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

/**
 * The cluster script, through test/kube-apiserver: it finds the real one ($ORLOJ_KUBE_APISERVER,
 * the shared tools beside the checkout, /work/shared/tools) for make test and for us alike.
 */
export function clusterScript(): string {
  return join(ROOT, 'test', 'kube-apiserver');
}

let started: { dir: string; cluster: KubeCluster } | undefined;
let startFailure: Error | undefined;

function envFile(path: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    const m = /^(?:export\s+)?([A-Z_]+)=["']?(.*?)["']?$/.exec(line.trim());
    if (m) out[m[1]!] = m[2]!;
  }
  return out;
}

/** The shared cluster, started (synchronously: the script waits until it is ready) on first call. */
export function kubeCluster(): KubeCluster {
  const external = process.env.ORLOJ_TEST_KUBECONFIG;
  if (external) {
    const server = spawnSync('kubectl', ['--kubeconfig', external, 'config', 'view', '--minify', '-o', 'jsonpath={.clusters[0].cluster.server}'], { encoding: 'utf8' }).stdout;
    return { kubeconfig: external, server, token: process.env.ORLOJ_TEST_KUBE_TOKEN ?? '' };
  }
  if (started) return started.cluster;
  // Every suite asks: one that did not start is not tried again for each.
  if (startFailure) throw startFailure;
  const dir = mkdtempSync(join(tmpdir(), 'orloj-kube-'));
  const run = spawnSync(clusterScript(), ['start', dir], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  if (run.status !== 0) {
    rmSync(dir, { recursive: true, force: true });
    throw (startFailure = new Error(`kube-apiserver did not start (${run.status}): ${run.stderr.slice(-2000)}`));
  }
  const env = envFile(join(dir, 'env'));
  started = { dir, cluster: { kubeconfig: join(dir, 'kubeconfig'), server: env.KUBE_SERVER ?? '', token: env.KUBE_TOKEN ?? '' } };
  process.once('exit', stopKube);
  return started.cluster;
}

/** Stops the cluster this process started, if any, and removes its directory. */
export function stopKube(): void {
  if (!started) return;
  const { dir } = started;
  started = undefined;
  spawnSync(clusterScript(), ['stop', dir], { stdio: 'ignore' });
  rmSync(dir, { recursive: true, force: true });
}

/** kubectl against the cluster; throws with its stderr unless it exits 0 (or `allowFail`). */
export function kubectl(args: string[], opts: { input?: string; allowFail?: boolean } = {}): { status: number; stdout: string; stderr: string } {
  const r = spawnSync('kubectl', ['--kubeconfig', kubeCluster().kubeconfig, ...args], { encoding: 'utf8', input: opts.input });
  const out = { status: r.status ?? -1, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
  if (out.status !== 0 && !opts.allowFail) throw new Error(`kubectl ${args.join(' ')}: ${out.stderr.trim()}`);
  return out;
}

/** The repository root (where crds/, deploy/ and examples/ are). */
export const repoRoot = ROOT;

let crdsInstalled = false;

/** `kubectl apply -f crds/` as committed, then waits until every CRD is Established (once per process). */
export function installCrds(): void {
  if (crdsInstalled) return;
  kubectl(['apply', '-f', join(ROOT, 'crds')]);
  kubectl(['wait', '--for=condition=Established', '--timeout=60s', '-f', join(ROOT, 'crds')]);
  crdsInstalled = true;
}

/** A new namespace named `<prefix>-<random>`, so suites sharing the cluster never meet. */
export function freshNamespace(prefix: string): string {
  const name = `${prefix}-${randomBytes(4).toString('hex')}`;
  kubectl(['create', 'namespace', name]);
  return name;
}

/** Deletes a namespace freshNamespace() made, without waiting (the test cluster finalizes it later). */
export function dropNamespace(name: string | undefined): void {
  if (name) kubectl(['delete', 'namespace', name, '--wait=false'], { allowFail: true });
}
