// (k): (a)'s load in Kubernetes mode: the TaskWebhook and its run Tasks live in a real
// kube-apiserver (started for the scenario, as the tests start theirs), dedup and records
// in the embedded data store. Each delivery creates its Task in the cluster before its 202.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createWebhooks } from './fixtures.js';
import { checkTasks, measure, withOrlojd, type Ctx, type Row } from './scenarios.js';

// dist/bench → the repository root.
const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const SCRIPT = join(ROOT, 'test', 'kube-apiserver');

function run(cmd: string, args: string[]): void {
  const r = spawnSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr.slice(-1000)}`);
}

/** A cluster with the CRDs Established, for the length of `fn`. */
async function withCluster<T>(fn: (kubeconfig: string) => Promise<T>): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), 'orloj-bench-kube-'));
  try {
    run(SCRIPT, ['start', dir]);
    const kubeconfig = join(dir, 'kubeconfig');
    readFileSync(kubeconfig);
    run('kubectl', ['--kubeconfig', kubeconfig, 'apply', '-f', join(ROOT, 'crds')]);
    run('kubectl', ['--kubeconfig', kubeconfig, 'wait', '--for=condition=Established', '--timeout=60s', '-f', join(ROOT, 'crds')]);
    return await fn(kubeconfig);
  } finally {
    spawnSync(SCRIPT, ['stop', dir], { stdio: 'ignore' });
    rmSync(dir, { recursive: true, force: true });
  }
}

export const kubernetesEvents = (ctx: Ctx): Promise<Row> =>
  withCluster((kubeconfig) =>
    withOrlojd(
      async (o) => {
        const paths = await createWebhooks(o, 1, 1, ctx.log);
        return { id: 'k', scenario: '(k) unique events, 1 webhook, Kubernetes mode (run Tasks in the cluster)', ...(await measure(ctx, o, paths, 'k-')) };
      },
      checkTasks,
      ['--storage', 'kubernetes', '--kubeconfig', kubeconfig],
    ),
  );
