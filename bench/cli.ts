// (cli) orlojctl as a user runs it: whole-process wall times, from spawn to exit, one process at
// a time against a local orlojd, next to `node -e 0` (what any Node.js command pays before its
// first line runs). `version` and `get tasks` (100 tasks) alternate with `node -e 0` so all
// three share the machine's moments; then `apply -f` of one file of 1,000 resources, new and
// then unchanged.
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { templateTask } from '../test/helpers/fixtures.js';
import { pct, type LoadResult } from './load.js';
import { cpuSeconds, machineBusySeconds } from './proc.js';
import type { Ctx, Row } from './scenarios.js';
import { BENCH_TOKEN, startOrlojd, type OrlojdTarget } from './targets.js';

const here = dirname(fileURLToPath(import.meta.url));
// BENCH_ORLOJCTL: another build's dist/cmd/orlojctl.cjs, to compare with a previous commit.
const ORLOJCTL = process.env.BENCH_ORLOJCTL ?? join(here, '..', 'cmd', 'orlojctl.cjs');

const LISTED_TASKS = 100;
const APPLIED = 1000;

/** CPU seconds of this process and of its children it has waited for (/proc/self/stat). */
function selfAndChildrenCpu(): number {
  const stat = readFileSync('/proc/self/stat', 'utf8');
  // utime, stime, cutime, cstime are fields 14 to 17.
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14])) * 0.01;
}

/** Runs one process to its exit: its wall time in ms; a failure stops the scenario. */
function wall(args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const p = spawn(process.execPath, args, { env, stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    p.stderr.on('data', (c: Buffer) => (err += c.toString()));
    p.on('error', reject);
    p.on('close', (code) => {
      const ms = performance.now() - t0;
      if (code === 0) resolve(ms);
      else reject(new Error(`${args.slice(1).join(' ')} exited with ${code}: ${err.slice(0, 500)}`));
    });
  });
}

function row(id: string, scenario: string, ms: number[], extra?: Record<string, unknown>): Row {
  const sorted = Float64Array.from(ms).sort();
  const load: LoadResult = {
    generator: 'one process at a time, spawn to exit', requests: ms.length, rps: Number.NaN, p50Ms: pct(sorted, 50), p99Ms: pct(sorted, 99),
    non2xx: 0, errors: 0, byStatus: {}, created: 0, duplicates: 0, unanswered: [], generatorCores: 0,
  };
  return { id, scenario, load, serverCores: Number.NaN, otherCores: 0, serverCpuUsPerRequest: Number.NaN, extra: { runs: ms.map((x) => Math.round(x)), ...extra } };
}

/** Cores busy with anything but this process, its children and orlojd over `fn`. */
async function othersDuring<T>(o: OrlojdTarget, fn: () => Promise<T>): Promise<{ value: T; otherCores: number }> {
  const busy0 = machineBusySeconds();
  const mine0 = selfAndChildrenCpu();
  const server0 = cpuSeconds(o.pid) ?? 0;
  const t0 = performance.now();
  const value = await fn();
  const secs = (performance.now() - t0) / 1000;
  const used = machineBusySeconds() - busy0 - (selfAndChildrenCpu() - mine0) - ((cpuSeconds(o.pid) ?? 0) - server0);
  return { value, otherCores: Math.max(0, used / secs) };
}

export async function cliScenario(ctx: Ctx): Promise<Row[]> {
  const o = await startOrlojd();
  // Flags, not a client config: the developer's own config is never read (ORLOJ_CONFIG points nowhere).
  const env = { ...process.env, ORLOJ_CONFIG: join(o.dataDir, '..', 'no-client-config.json'), ORLOJ_SERVER: o.url, ORLOJ_TOKEN: BENCH_TOKEN, ORLOJ_NAMESPACE: 'default' };
  try {
    for (let i = 0; i < LISTED_TASKS; i += 20) {
      await Promise.all(
        Array.from({ length: Math.min(20, LISTED_TASKS - i) }, async (_, k) => {
          const r = await o.api('PUT', `/v1/tasks/listed-${i + k}?namespace=default`, templateTask(`listed-${i + k}`));
          if (r.status >= 300) throw new Error(`PUT task listed-${i + k}: ${r.status}`);
        }),
      );
    }
    const n = ctx.cfg.quick ? 7 : 21;
    const commands: Array<[string, string[]]> = [
      ['node', ['-e', '0']],
      ['version', [ORLOJCTL, 'version']],
      ['get', [ORLOJCTL, 'get', 'tasks']],
    ];
    // One unmeasured round: the page cache holds every file afterwards, as on any second call.
    for (const [, args] of commands) await wall(args, env);
    const times: Record<string, number[]> = { node: [], version: [], get: [] };
    const quick = await othersDuring(o, async () => {
      for (let i = 0; i < n; i++) for (const [name, args] of commands) times[name]!.push(await wall(args, env));
    });

    const runs = ctx.cfg.quick ? 1 : 5;
    const applyNew: number[] = [];
    const applyUnchanged: number[] = [];
    const applied = await othersDuring(o, async () => {
      for (let r = 0; r < runs; r++) {
        const file = join(o.dataDir, '..', `apply-${r}.yaml`);
        const docs = Array.from({ length: APPLIED }, (_, k) => ({ ...templateTask(`applied-${r}-${k}`), metadata: { name: `applied-${r}-${k}`, namespace: 'default', labels: { app: 'report', run: String(r) } } }));
        writeFileSync(file, docs.map((d) => stringify(d)).join('---\n'));
        applyNew.push(await wall([ORLOJCTL, 'apply', '-f', file], env));
        applyUnchanged.push(await wall([ORLOJCTL, 'apply', '-f', file], env));
      }
    });
    const rows = [
      row('cli-node', '(cli) node -e 0, the floor of any Node.js command', times.node!),
      row('cli-version', '(cli) orlojctl version (client and server)', times.version!),
      row('cli-get', `(cli) orlojctl get tasks (${LISTED_TASKS} tasks)`, times.get!),
      row('cli-apply-new', `(cli) orlojctl apply -f, ${APPLIED} new resources in one file`, applyNew),
      row('cli-apply-unchanged', `(cli) orlojctl apply -f, the same ${APPLIED}, unchanged`, applyUnchanged),
    ];
    for (const r of rows) r.otherCores = r.id.startsWith('cli-apply') ? applied.otherCores : quick.otherCores;
    return rows;
  } finally {
    await o.stop();
    o.remove();
  }
}
