// The servers under load, each its own process: a real orlojd, the bare node:http baseline and
// the peer (the baseline plus one SQLite insert per delivery).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
// BENCH_ORLOJD: another build's dist/cmd/orlojd.js, to measure a previous commit under the same load.
const ORLOJD = process.env.BENCH_ORLOJD ?? join(here, '..', 'cmd', 'orlojd.js');
const BASELINE = join(here, 'baseline-server.js');
const PEER = join(here, 'peer-server.js');
const RECEIVER = join(here, 'trigger-receiver.js');
export const BENCH_TOKEN = 'bench-admin-token';
const TOKEN = BENCH_TOKEN;

export interface Target {
  url: string;
  /** Everything the script's first line said (url is its `listening`). */
  info?: Record<string, string>;
  pid: number;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

async function terminate(proc: ChildProcess): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return;
  const exited = new Promise((r) => proc.once('exit', r));
  proc.kill('SIGTERM');
  const timer = setTimeout(() => proc.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}

/** A reference server script, ready once it printed its {"listening": url} line. */
async function startScript(name: string, script: string, args: string[]): Promise<Target> {
  const proc = spawn(process.execPath, [script, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  const info = await new Promise<Record<string, string>>((resolve, reject) => {
    proc.stdout!.once('data', (c: Buffer) => resolve(JSON.parse(c.toString().split('\n')[0]!) as Record<string, string>));
    proc.once('exit', (code) => reject(new Error(`${name} exited with ${code}`)));
  });
  return { url: info.listening!, info, pid: proc.pid!, stop: () => terminate(proc) };
}

export const startBaseline = (secret: string): Promise<Target> => startScript('baseline server', BASELINE, [secret]);

/** The trigger scenarios' destination: `url` answers at once, `info.hanging` never does. */
export const startReceiver = (): Promise<Target> => startScript('trigger receiver', RECEIVER, []);

export interface PeerTarget extends Target {
  /** Holds peer.db. */
  dataDir: string;
  /** Deletes the data dir (after stop()). */
  remove(): void;
}

export async function startPeer(secret: string): Promise<PeerTarget> {
  const dataDir = mkdtempSync(join(tmpdir(), 'orloj-bench-peer-'));
  const remove = () => rmSync(dataDir, { recursive: true, force: true });
  try {
    return { ...(await startScript('peer server', PEER, [secret, dataDir])), dataDir, remove };
  } catch (err) {
    remove();
    throw err;
  }
}

export interface OrlojdTarget extends Target {
  dataDir: string;
  /** Deletes the data dir (after stop()). */
  remove(): void;
  /** Log lines (warn and above) per message, so they can be summarised instead of flooding stdout. */
  logs: Map<string, number>;
  api<T = unknown>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T }>;
}

/**
 * orlojd with its own temp data dir, `--log-level warn` (so logging is not measured) and a
 * fixed admin token. The test helper waits for the info-level "listening" line, which warn
 * suppresses, so this polls /readyz instead.
 */
export async function startOrlojd(extraArgs: string[] = [], env: NodeJS.ProcessEnv = {}): Promise<OrlojdTarget> {
  const dir = mkdtempSync(join(tmpdir(), 'orloj-bench-'));
  const dataDir = join(dir, 'data');
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const args = ['--listen', `127.0.0.1:${port}`, '--data-dir', dataDir, '--log-level', 'warn', '--api-tokens', `${TOKEN}:admin`, ...extraArgs];
  const proc = spawn(process.execPath, [ORLOJD, ...args], {
    env: { ...process.env, ORLOJ_CONFIG: join(dir, 'config.json'), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs = new Map<string, number>();
  const collect = (c: Buffer) => {
    for (const line of c.toString().split('\n')) {
      if (!line.trim()) continue;
      let msg = line;
      try {
        msg = (JSON.parse(line) as { msg?: string }).msg ?? line;
      } catch {
        // not a pino line: keep it whole
      }
      logs.set(msg, (logs.get(msg) ?? 0) + 1);
    }
  };
  proc.stdout!.on('data', collect);
  proc.stderr!.on('data', collect);
  const deadline = Date.now() + 15_000;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`orlojd exited with ${proc.exitCode}`);
    const ok = await fetch(`${url}/readyz`).then((r) => r.ok, () => false);
    if (ok) break;
    if (Date.now() > deadline) throw new Error('orlojd did not become ready within 15 s');
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    url,
    pid: proc.pid!,
    dataDir,
    logs,
    async api<T>(method: string, path: string, body?: unknown) {
      const res = await fetch(url + path, {
        method,
        headers: { authorization: `Bearer ${TOKEN}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      return { status: res.status, body: (await res.json()) as T };
    },
    stop: () => terminate(proc),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
