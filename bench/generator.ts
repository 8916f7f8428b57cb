// Picks the load generator: wrk when installed (it sends requests signed beforehand from C and
// does not saturate before the server), autocannon otherwise; plus the open-loop one for (c).
import { spawn, spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runAutocannon } from './autocannon-load.js';
import type { LoadResult, LoadSpec } from './load.js';
import { runWrk } from './wrk.js';

/**
 * Runs the load `s` describes; calls `started` once its requests are ready (signed) and about
 * to go, so the server's CPU and wall time are measured over the requests alone.
 */
export type Generator = (s: LoadSpec, started?: () => void) => Promise<LoadResult>;

export function pickGenerator(prefer: 'wrk' | 'autocannon'): { name: string; run: Generator; note?: string } {
  if (prefer === 'autocannon') return { name: 'autocannon', run: runAutocannon, note: 'BENCH_GENERATOR=autocannon' };
  const v = spawnSync('wrk', ['--version'], { encoding: 'utf8' });
  if (v.error) {
    return { name: 'autocannon', run: runAutocannon, note: 'wrk is not installed: fell back to autocannon (single core; throughput figures may be generator-bound)' };
  }
  return { name: (v.stdout || v.stderr).split('\n')[0]!.split(' Copyright')[0]!, run: runWrk };
}

const OPENLOOP = join(dirname(fileURLToPath(import.meta.url)), 'openloop.js');

export type OpenLoopResult = LoadResult & { sendLagP99Ms: number; targetRate: number };

/** Fixed-rate run (after `warmup` s at the same rate) in a child process, so its CPU is its own. */
export async function runOpenLoop(s: LoadSpec, rate: number, warmup: number, timesFile?: string): Promise<OpenLoopResult> {
  const proc = spawn(process.execPath, [OPENLOOP, JSON.stringify({ ...s, rate, warmup, timesFile })], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  proc.stdout!.on('data', (c: Buffer) => (out += c.toString()));
  const code = await new Promise<number | null>((r) => proc.once('exit', r));
  if (code !== 0) throw new Error(`open-loop generator exited with ${code}`);
  return JSON.parse(out.trim().split('\n').pop()!) as OpenLoopResult;
}
