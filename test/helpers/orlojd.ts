import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { dropDatabase, freshDatabase } from './postgres.js';

const here = dirname(fileURLToPath(import.meta.url));
/** The compiled repo root (dist/), where cmd/orlojd.js and cmd/orlojctl.cjs live. */
export const distRoot = resolve(here, '..', '..');
export const ORLOJD = join(distRoot, 'cmd', 'orlojd.js');
export const ORLOJCTL = join(distRoot, 'cmd', 'orlojctl.cjs');

export interface StartOptions {
  dataDir?: string;
  args?: string[];
  env?: NodeJS.ProcessEnv;
  /** Reuse this port (for restarts on the same address). */
  port?: number;
  /**
   * Run on this PostgreSQL database (a replica of others on it). Without it, ORLOJ_TEST_STORAGE=postgres
   * gives each server a new database of its own, and anything else the embedded SQLite store.
   */
  postgresUrl?: string;
}

/** The Secret key every replica of a test shares: replicas of one store need the same one. */
export const TEST_ENCRYPTION_KEY = 'test:' + Buffer.alloc(32, 7).toString('base64');

/** Which store the tests run orlojd on: ORLOJ_TEST_STORAGE=postgres runs the same tests on PostgreSQL. */
export const TEST_STORAGE = process.env.ORLOJ_TEST_STORAGE === 'postgres' ? 'postgres' : 'sqlite';

export interface ApiResponse<T = unknown> {
  status: number;
  headers: Headers;
  body: T;
  text: string;
}

/** A real orlojd process on a random loopback port with its own data dir and client config. */
export class Orlojd {
  proc!: ChildProcess;
  url = '';
  port = 0;
  token = '';
  readonly dataDir: string;
  readonly configPath: string;
  logs = '';
  /** The database of a server on PostgreSQL, and whether this server made it (and drops it). */
  postgresUrl?: string;
  private ownsDatabase = false;

  private constructor(readonly dir: string, dataDir?: string) {
    this.dataDir = dataDir ?? join(dir, 'data');
    this.configPath = join(dir, 'config.json');
  }

  static async start(opts: StartOptions = {}): Promise<Orlojd> {
    const d = new Orlojd(mkdtempSync(join(tmpdir(), 'orloj-test-')), opts.dataDir);
    d.postgresUrl = opts.postgresUrl;
    if (!d.postgresUrl && TEST_STORAGE === 'postgres') {
      d.postgresUrl = await freshDatabase('orlojd');
      d.ownsDatabase = true;
    }
    await d.spawn(opts);
    return d;
  }

  /** Environment for child processes (orlojctl) that should talk to this server. */
  get env(): NodeJS.ProcessEnv {
    return { ...process.env, ORLOJ_CONFIG: this.configPath };
  }

  private async spawn(opts: StartOptions): Promise<void> {
    const listen = `127.0.0.1:${opts.port ?? this.port ?? 0}`;
    const storage = this.postgresUrl ? ['--storage', 'postgres', '--postgres-url', this.postgresUrl] : [];
    const key = this.postgresUrl ? { ORLOJ_ENCRYPTION_KEY: TEST_ENCRYPTION_KEY } : {};
    this.proc = spawn(process.execPath, [ORLOJD, '--listen', listen, '--data-dir', this.dataDir, ...storage, ...(opts.args ?? [])], {
      env: { ...this.env, ORLOJ_LOG_LEVEL: 'info', ...key, ...opts.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.proc.stderr!.on('data', (c: Buffer) => (this.logs += c.toString()));
    await new Promise<void>((resolveStart, reject) => {
      const timer = setTimeout(() => reject(new Error(`orlojd did not start:\n${this.logs}`)), 15_000);
      let buf = '';
      this.proc.stdout!.on('data', (c: Buffer) => {
        this.logs += c.toString();
        buf += c.toString();
        let i;
        while ((i = buf.indexOf('\n')) >= 0) {
          const line = buf.slice(0, i);
          buf = buf.slice(i + 1);
          if (!line.includes('orlojd listening')) continue;
          const url = (JSON.parse(line) as { url: string }).url;
          this.url = url;
          this.port = Number(new URL(url).port);
          clearTimeout(timer);
          resolveStart();
        }
      });
      this.proc.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`orlojd exited with ${code}:\n${this.logs}`));
      });
    });
    const { readFileSync, existsSync } = await import('node:fs');
    const tokenFile = join(this.dataDir, 'admin-token');
    if (existsSync(tokenFile)) this.token = readFileSync(tokenFile, 'utf8').trim();
  }

  // Tests read arbitrary JSON shapes; callers may narrow T.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  async api<T = any>(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<ApiResponse<T>> {
    const h: Record<string, string> = { authorization: `Bearer ${this.token}`, ...headers };
    let payload: string | Blob | undefined;
    if (body !== undefined) {
      payload = typeof body === 'string' ? body : Buffer.isBuffer(body) ? new Blob([new Uint8Array(body)]) : JSON.stringify(body);
      h['content-type'] ??= 'application/json';
    }
    const res = await fetch(this.url + path, { method, headers: h, body: payload });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      // not JSON: keep the text
    }
    return { status: res.status, headers: res.headers, body: parsed as T, text };
  }

  /** SIGKILL: no shutdown code runs. */
  async kill9(): Promise<void> {
    if (this.proc.exitCode !== null) return;
    const exited = new Promise((r) => this.proc.once('exit', r));
    this.proc.kill('SIGKILL');
    await exited;
  }

  async restart(opts: StartOptions = {}): Promise<void> {
    await this.stop();
    await this.spawn({ ...opts, port: this.port });
  }

  async stop(): Promise<void> {
    if (this.proc.exitCode !== null || this.proc.signalCode !== null) return;
    const exited = new Promise((r) => this.proc.once('exit', r));
    this.proc.kill('SIGTERM');
    await exited;
  }

  async destroy(): Promise<void> {
    await this.stop().catch(() => undefined);
    rmSync(this.dir, { recursive: true, force: true });
    if (this.ownsDatabase && this.postgresUrl) await dropDatabase(this.postgresUrl);
  }
}

/** Polls `fn` until it returns a truthy value or `ms` pass. */
export async function eventually<T>(fn: () => Promise<T | undefined | false>, ms = 5000, every = 20): Promise<T> {
  const end = Date.now() + ms;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > end) throw new Error(`condition not met within ${ms} ms${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, every));
  }
}
