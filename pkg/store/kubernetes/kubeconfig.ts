// Where orlojd finds its cluster in Kubernetes mode, in kubectl's order: --kubeconfig, then
// $KUBECONFIG, then the pod's service account, then ~/.kube/config. client-node is imported
// only here and in the driver, so that SQLite mode and orlojctl never pay for loading it.
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';
import type { KubeConfig } from '@kubernetes/client-node';

/** Where a pod's service account is mounted. */
export const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

/** The context name of a configuration read from the service account, to recognise it. */
const IN_CLUSTER = 'in-cluster';

export interface KubeConfigOptions {
  /** --kubeconfig PATH. */
  kubeconfig?: string;
  env: NodeJS.ProcessEnv;
  /** The service account mount; another directory only in tests. */
  serviceAccountDir?: string;
}

/** A configuration that cannot be used, said in one line without its contents (it may hold tokens). */
export class KubeConfigError extends Error {}

export async function loadKubeConfig(opts: KubeConfigOptions): Promise<KubeConfig> {
  const { KubeConfig } = await import('@kubernetes/client-node');
  const make = () => new KubeConfig();
  const kc = make();
  const { env } = opts;
  if (opts.kubeconfig) return checked(kc, fromFiles(kc, make, [opts.kubeconfig], '--kubeconfig'));
  const listed = (env.KUBECONFIG ?? '').split(delimiter).filter(Boolean);
  if (listed.length) return checked(kc, fromFiles(kc, make, listed, 'KUBECONFIG'));
  if (env.KUBERNETES_SERVICE_HOST) return checked(kc, inCluster(kc, env, opts.serviceAccountDir ?? SERVICE_ACCOUNT_DIR));
  const home = join(env.HOME || homedir(), '.kube', 'config');
  if (existsSync(home)) return checked(kc, fromFiles(kc, make, [home], home));
  throw new KubeConfigError(`no Kubernetes configuration: give --kubeconfig PATH, set KUBECONFIG, run in a pod with a service account, or create ${home}`);
}

/**
 * The namespace the leader-election Lease lives in unless --leader-election-namespace
 * names one: the pod's own when orlojd runs in one, else `default`.
 */
export function defaultLeaseNamespace(kc: KubeConfig): string {
  const ctx = kc.getContextObject(kc.getCurrentContext());
  return (ctx?.name === IN_CLUSTER && ctx.namespace) || 'default';
}

/** Reads the first file and merges the others into it (their entries must not collide). */
function fromFiles(kc: KubeConfig, make: () => KubeConfig, files: string[], source: string): string {
  const [first, ...rest] = files as [string, ...string[]];
  readFile(kc, first, source);
  for (const file of rest) {
    const more = make();
    readFile(more, file, source);
    try {
      // As kubectl: the first file that sets current-context decides it.
      kc.mergeConfig(more, !!kc.getCurrentContext());
    } catch (e) {
      throw new KubeConfigError(`cannot merge kubeconfig ${file} (from ${source}): ${firstLine(e)}`);
    }
  }
  return files.length === 1 ? `kubeconfig ${first}` : `kubeconfig ${files.join(delimiter)}`;
}

function readFile(kc: KubeConfig, file: string, source: string): void {
  const where = source === file ? `kubeconfig ${file}` : `kubeconfig ${file} (from ${source})`;
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new KubeConfigError(`cannot read ${where}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : firstLine(e)}`);
  }
  try {
    kc.loadFromString(text);
  } catch (e) {
    // A YAML error quotes the lines around it, which may hold a token: give only where it is.
    const line = (e as { mark?: { line?: number } }).mark?.line;
    const what = line === undefined ? firstLine(e) : `not valid YAML (line ${line + 1})`;
    throw new KubeConfigError(`cannot load ${where}: ${what}`);
  }
}

/** The pod's service account: its token file (re-read as it rotates), its CA and namespace. */
function inCluster(kc: KubeConfig, env: NodeJS.ProcessEnv, dir: string): string {
  const token = join(dir, 'token');
  if (!existsSync(token)) throw new KubeConfigError(`KUBERNETES_SERVICE_HOST is set but there is no service account token at ${token}: give --kubeconfig PATH or mount the service account`);
  const host = env.KUBERNETES_SERVICE_HOST!;
  const port = env.KUBERNETES_SERVICE_PORT || '443';
  const server = `https://${host.includes(':') ? `[${host}]` : host}:${port}`;
  const nsFile = join(dir, 'namespace');
  const namespace = existsSync(nsFile) ? readFileSync(nsFile, 'utf8').trim() || undefined : undefined;
  kc.loadFromOptions({
    clusters: [{ name: IN_CLUSTER, server, caFile: join(dir, 'ca.crt'), skipTLSVerify: false }],
    users: [{ name: IN_CLUSTER, authProvider: { name: 'tokenFile', config: { tokenFile: token } } }],
    contexts: [{ name: IN_CLUSTER, cluster: IN_CLUSTER, user: IN_CLUSTER, namespace }],
    currentContext: IN_CLUSTER,
  });
  return `the service account in ${dir} (server ${server})`;
}

/** A configuration must say which cluster to talk to before any request is made. */
function checked(kc: KubeConfig, source: string): KubeConfig {
  const current = kc.getCurrentContext();
  if (!current) throw new KubeConfigError(`${source} has no current-context`);
  const ctx = kc.getContextObject(current);
  if (!ctx) throw new KubeConfigError(`${source}: current-context "${current}" is not one of its contexts`);
  if (!kc.getCurrentCluster()) throw new KubeConfigError(`${source}: context "${current}" names cluster "${ctx.cluster}", which it does not define`);
  return kc;
}

function firstLine(e: unknown): string {
  return String((e as Error)?.message ?? e).split('\n')[0]!;
}
