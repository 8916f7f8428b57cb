import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startDaemon, type Daemon } from '../../pkg/daemon/daemon.js';
import { parseDaemonOptions } from '../../pkg/daemon/options.js';
import { getProfile, resolveOptions } from '../../pkg/receiver/profiles/index.js';
import { eventually } from '../helpers/orlojd.js';

const TOKEN = 'window-test-token';
const SECRET = 'window-secret';
const generic = getProfile('generic')!;

/**
 * The dedup window against the server's clock, which this test injects (a daemon in this
 * process, on a real loopback port and a real data dir), so expiry needs no waiting.
 */
describe('TaskWebhook dedup window (injected clock)', function () {
  let dir: string;
  let daemon: Daemon;
  let clock = Date.now();
  const api = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(daemon.url + path, {
      method,
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as Record<string, any> }; // eslint-disable-line @typescript-eslint/no-explicit-any
  };
  const send = async (ep: string, eventId: string) => {
    const body = '{"n":1}';
    const headers = generic.sign(Buffer.from(body), Buffer.from(SECRET), resolveOptions(generic, {}), clock, eventId);
    const res = await fetch(daemon.url + ep, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
    return { status: res.status, body: (await res.json()) as { duplicate: boolean; task: string } };
  };

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'orloj-window-'));
    const opts = parseDaemonOptions(['--listen', '127.0.0.1:0', '--data-dir', dir, '--log-level', 'silent', '--api-tokens', `${TOKEN}:admin`], {});
    if (opts === 'help') throw new Error('unexpected help');
    daemon = await startDaemon(opts, { now: () => clock });
  });
  after(async () => {
    await daemon.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('is a duplicate inside the window and a new event (a new task) once it has passed', async () => {
    await api('PUT', '/v1/secrets/s', { kind: 'Secret', metadata: { name: 's' }, spec: { stringData: { v: SECRET } } });
    await api('PUT', '/v1/tasks/tpl', { kind: 'Task', metadata: { name: 'tpl' }, spec: { mode: 'template' } });
    await api('PUT', '/v1/task-webhooks/win', {
      kind: 'TaskWebhook', metadata: { name: 'win' },
      spec: { task_ref: 'tpl', auth: { secret_ref: 's', max_skew_seconds: 30 }, idempotency: { dedupe_window_seconds: 60 } },
    });
    const ep = await eventually(async () => {
      const w = (await api('GET', '/v1/task-webhooks/win')).body;
      return w.status?.conditions?.find((c: { type: string; status: string }) => c.type === 'Ready')?.status === 'True' && (w.status.endpointPath as string);
    });
    const first = await send(ep, 'w-1');
    expect(first.body.duplicate).to.equal(false);
    clock += 59_000;
    const inside = await send(ep, 'w-1');
    expect(inside.body).to.include({ duplicate: true, task: first.body.task });
    clock += 2_000;
    const after = await send(ep, 'w-1');
    expect(after.status).to.equal(202);
    expect(after.body.duplicate).to.equal(false);
    expect(after.body.task).not.to.equal(first.body.task);
    const tasks = (await api('GET', `/v1/tasks?labelSelector=${encodeURIComponent('orloj.dev/task-webhook=win')}`)).body.items as unknown[];
    expect(tasks).to.have.length(2);
    // The new acceptance opened a new window.
    clock += 30_000;
    expect((await send(ep, 'w-1')).body).to.include({ duplicate: true, task: after.body.task });
  });
});
