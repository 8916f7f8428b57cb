// Starting on PostgreSQL: a database that is not there yet is waited for (503 meanwhile), one
// that does not exist is refused, and a replica without the key the others seal with refuses.
import { expect } from 'chai';
import postgres from 'postgres';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, connect, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { send } from '../helpers/deliveries.js';
import { put, readyWebhook, secret } from '../helpers/fixtures.js';
import { eventually, Orlojd, ORLOJD } from '../helpers/orlojd.js';
import { dropDatabase, freshDatabase } from '../helpers/postgres.js';
import { refusedStart } from '../helpers/refusal.js';

/** A TCP port that refuses connections until `open()`, then forwards them to `to`. */
async function lateServer(to: URL): Promise<{ port: number; open(): Promise<void>; close(): void }> {
  const probe = createServer();
  await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
  const port = (probe.address() as { port: number }).port;
  await new Promise((r) => probe.close(r));
  let server: Server | undefined;
  return {
    port,
    open: () =>
      new Promise<void>((r) => {
        server = createServer((c) => {
          const up = connect(Number(to.port), to.hostname);
          c.pipe(up).pipe(c);
          c.on('error', () => up.destroy());
          up.on('error', () => c.destroy());
        }).listen(port, '127.0.0.1', r);
      }),
    close: () => server?.close(),
  };
}

describe('replicas on PostgreSQL: starting', function () {
  this.timeout(60_000);
  let url: string;
  let dir: string;
  beforeEach(async () => {
    url = await freshDatabase('startup');
    dir = mkdtempSync(join(tmpdir(), 'orloj-startup-'));
  });
  afterEach(async () => {
    rmSync(dir, { recursive: true, force: true });
    await dropDatabase(url);
  });

  it('waits for a database it cannot reach: /healthz 200, /readyz 503 and a log line per attempt, then serves', async () => {
    const real = new URL(url);
    const late = await lateServer(real);
    const via = new URL(url);
    via.port = String(late.port);
    // By hand: while it waits, orlojd says where it answers in a line of its own.
    const proc = spawn(process.execPath, [ORLOJD, '--listen', '127.0.0.1:0', '--data-dir', join(dir, 'data'), '--storage', 'postgres', '--postgres-url', via.toString()], {
      env: { ...process.env, ORLOJ_CONFIG: join(dir, 'config.json'), ORLOJ_ENCRYPTION_KEY: `k:${randomBytes(32).toString('base64')}` },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let logs = '';
    proc.stdout!.on('data', (c: Buffer) => (logs += c.toString()));
    proc.stderr!.on('data', (c: Buffer) => (logs += c.toString()));
    try {
      const waiting = await eventually(async () => /"url":"(http:[^"]+)".*waiting for the database/.exec(logs)?.[1], 15_000);
      expect((await fetch(`${waiting}/healthz`)).status).to.equal(200);
      expect((await fetch(`${waiting}/readyz`)).status).to.equal(503);
      await eventually(async () => (logs.match(/trying again/g)?.length ?? 0) >= 2, 15_000);
      expect(logs).not.to.include(real.password || 'no-password-in-the-url');
      await late.open();
      const serving = await eventually(async () => /"url":"(http:[^"]+)".*orlojd listening/.exec(logs)?.[1], 20_000);
      await eventually(async () => (await fetch(`${serving}/readyz`)).status === 200);
    } finally {
      proc.kill('SIGKILL');
      late.close();
    }
  });

  it('refuses a --postgres-url that is not a postgres:// URL, as a usage error, without printing it', () => {
    const out = refusedStart(join(dir, 'data'), { args: ['--storage', 'postgres', '--postgres-url', 'host=db password=hunter2'] }, true);
    expect(out).to.include('--postgres-url must be a postgres://');
    expect(out).not.to.include('hunter2');
  });

  it('refuses a database that does not exist, saying so', () => {
    const missing = new URL(url);
    missing.pathname = '/no_such_database';
    const out = refusedStart(join(dir, 'data'), { args: ['--storage', 'postgres', '--postgres-url', missing.toString()], env: { ORLOJ_ENCRYPTION_KEY: `k:${randomBytes(32).toString('base64')}` } });
    expect(out).to.include('does not exist');
  });

  it('refuses a replica without the key the others seal Secrets with', async () => {
    const a = await Orlojd.start({ postgresUrl: url });
    try {
      await put(a, secret('s', { value: 'sealed' }));
      const out = refusedStart(join(dir, 'data'), { args: ['--storage', 'postgres', '--postgres-url', url], env: { ORLOJ_ENCRYPTION_KEY: `other:${randomBytes(32).toString('base64')}` } });
      expect(out).to.match(/Secret default\/s|same ORLOJ_ENCRYPTION_KEY/);
    } finally {
      await a.destroy();
    }
  });

  it('keeps serving when the database ends every connection: a delivery in flight may get 503 (the sender retries), the next ones 202', async () => {
    const a = await Orlojd.start({ postgresUrl: url });
    try {
      const ep = await readyWebhook(a, 'dropped', 'drop-secret');
      expect((await send(a, ep, { secret: 'drop-secret', body: '{"n":0}' })).status).to.equal(202);
      const admin = postgres(url, { max: 1, onnotice: () => undefined });
      try {
        const ended = await admin`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'orlojd' AND datname = current_database()`;
        expect(ended.length).to.be.greaterThan(1);
      } finally {
        await admin.end();
      }
      const first = await send(a, ep, { secret: 'drop-secret', body: '{"n":1}' });
      expect([202, 503]).to.include(first.status);
      await eventually(async () => (await send(a, ep, { secret: 'drop-secret', body: `{"n":${Math.random()}}` })).status === 202, 10_000);
      expect(a.proc.exitCode).to.equal(null);
      expect((await a.api('GET', '/v1/task-webhooks/dropped')).status).to.equal(200);
    } finally {
      await a.destroy();
    }
  });
});
