import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { LAST_APPLIED } from '../../pkg/api/three-way.js';
import { ORLOJCTL, type Orlojd } from '../helpers/orlojd.js';

export interface CtlResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** `d`'s environment without the developer's own ORLOJ_* overrides, plus `extra`. */
function envFor(d: Orlojd, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env = { ...d.env };
  for (const k of ['ORLOJ_SERVER', 'ORLOJ_TOKEN', 'ORLOJ_NAMESPACE']) delete env[k];
  return { ...env, ...extra };
}

/** Runs the real orlojctl against `d` (its client config), optionally feeding stdin. */
export function ctl(d: Orlojd, args: string[], opts: { input?: string; env?: NodeJS.ProcessEnv } = {}): Promise<CtlResult> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [ORLOJCTL, ...args], { env: envFor(d, opts.env), stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    p.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    p.on('error', reject);
    p.on('close', (code) => resolve({ code, stdout, stderr }));
    p.stdin.end(opts.input ?? '');
  });
}

/** A long-running orlojctl (get -w): lines are timestamped the moment they arrive. */
export class Follower {
  readonly proc: ChildProcess;
  readonly lines: Array<{ text: string; at: number }> = [];
  stderr = '';
  private buf = '';
  private waiters: Array<() => void> = [];

  constructor(d: Orlojd, args: string[]) {
    this.proc = spawn(process.execPath, [ORLOJCTL, ...args], { env: envFor(d), stdio: ['ignore', 'pipe', 'pipe'] });
    this.proc.stdout!.on('data', (c: Buffer) => {
      const at = performance.now();
      this.buf += c.toString();
      let i: number;
      while ((i = this.buf.indexOf('\n')) >= 0) {
        this.lines.push({ text: this.buf.slice(0, i), at });
        this.buf = this.buf.slice(i + 1);
      }
      this.waiters.splice(0).forEach((w) => w());
    });
    this.proc.stderr!.on('data', (c: Buffer) => (this.stderr += c.toString()));
  }

  /** Resolves with the first line matching `re` (already seen or still to come). */
  async line(re: RegExp, ms = 5000): Promise<{ text: string; at: number }> {
    const end = Date.now() + ms;
    for (;;) {
      const hit = this.lines.find((l) => re.test(l.text));
      if (hit) return hit;
      if (Date.now() > end) throw new Error(`no line matching ${re} within ${ms} ms; got:\n${this.lines.map((l) => l.text).join('\n')}\n${this.stderr}`);
      await new Promise<void>((r) => {
        this.waiters.push(r);
        setTimeout(r, 50);
      });
    }
  }

  stop(): void {
    if (this.proc.exitCode === null) this.proc.kill('SIGTERM');
  }
}

// Every manifest tree of this test run lives under one dir, removed when mocha exits.
const treesRoot = mkdtempSync(join(tmpdir(), 'orlojctl-test-'));
process.on('exit', () => rmSync(treesRoot, { recursive: true, force: true }));

/** A temp dir with the given files (relative paths → contents). */
export function tree(files: Record<string, string>): string {
  const dir = mkdtempSync(join(treesRoot, 'tree-'));
  for (const [rel, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, rel)), { recursive: true });
    writeFileSync(join(dir, rel), text);
  }
  return dir;
}

/** The seed walkthrough's three prerequisites plus the webhook, in one namespace. */
export function webhookStack(ns: string, hook = 'report-generic-webhook'): string {
  return `apiVersion: orloj.dev/v1
kind: TaskWebhook
metadata: {name: ${hook}, namespace: ${ns}}
spec:
  task_ref: weekly-report-template
  auth: {secret_ref: webhook-shared-secret}
---
apiVersion: orloj.dev/v1
kind: Task
metadata: {name: weekly-report-template, namespace: ${ns}, labels: {app: report}}
spec: {mode: template, input: {}}
---
apiVersion: orloj.dev/v1
kind: Secret
metadata: {name: webhook-shared-secret, namespace: ${ns}}
spec:
  stringData: {signing_key: replace-me}
---
apiVersion: orloj.dev/v1
kind: Namespace
metadata: {name: ${ns}}
`;
}

/** Creates namespaces through the API (objects outside \`default\` need theirs). */
export async function namespaces(d: Orlojd, ...names: string[]): Promise<void> {
  for (const name of names) {
    const r = await d.api('PUT', `/v1/namespaces/${name}`, { kind: 'Namespace', metadata: { name }, spec: {} });
    if (r.status >= 300) throw new Error(`namespace ${name}: ${r.text}`);
  }
}

/**
 * How many GETs on `/v1/<plural>` (lists and watches) the server has answered with 200, from its
 * own request counter; a watch counts as soon as it is subscribed.
 */
export async function answeredGets(d: Orlojd, plural: string): Promise<number> {
  const text = (await d.api('GET', '/metrics')).text;
  const line = text
    .split('\n')
    .find((l) => l.startsWith('orloj_api_requests_total{') && ['method="GET"', 'route="/v1/:plural"', `resource="${plural}"`, 'code="200"'].every((x) => l.includes(x)));
  return line ? Number(line.slice(line.lastIndexOf(' ') + 1)) : 0;
}

/** A loopback URL nothing listens on (a port just freed). */
export async function deadServer(): Promise<string> {
  const { createServer } = await import('node:net');
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return `http://127.0.0.1:${port}`;
}

/** An object's annotations without the record `orlojctl apply` keeps in them (what others set). */
export function ownAnnotations(annotations: Record<string, string> | undefined): Record<string, string> {
  const { [LAST_APPLIED]: _, ...rest } = annotations ?? {};
  return rest;
}
