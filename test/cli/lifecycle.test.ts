import { expect } from 'chai';
import { join } from 'node:path';
import { writeFileSync } from 'node:fs';
import { Orlojd, eventually } from '../helpers/orlojd.js';
import { answeredGets, ctl, Follower, namespaces, tree, webhookStack } from './ctl.js';

interface Hook {
  status: { endpointPath?: string; conditions?: Array<{ type: string; status: string }> };
}

describe('orlojctl wait, describe, diff, delete', function () {
  this.timeout(60_000);
  let d: Orlojd;
  before(async () => {
    d = await Orlojd.start();
    await namespaces(d, 'del');
  });
  after(async () => d?.destroy());
  const tasksGets = () => answeredGets(d, 'tasks');

  it('wait --for=condition=Ready returns once the webhook is Ready with an endpoint path', async () => {
    const dir = tree({ 's.yaml': webhookStack('w', 'hook') });
    expect((await ctl(d, ['apply', '-f', dir])).code).to.equal(0);
    const r = await ctl(d, ['wait', 'tw', 'hook', '-n', 'w', '--for=condition=Ready', '--timeout=10s']);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout).to.equal('task-webhook/hook condition met\n');
    const hook = (await d.api<Hook>('GET', '/v1/task-webhooks/hook?namespace=w')).body;
    expect(hook.status.endpointPath).to.match(/^\/v1\/webhook-deliveries\/.+/);
    expect(hook.status.conditions?.find((c) => c.type === 'Ready')?.status).to.equal('True');
  });

  it('wait times out with a clear message and exit 1', async () => {
    const r = await ctl(d, ['wait', 'taskwebhooks', 'hook', '-n', 'w', '--for', 'condition=Ready=False', '--timeout', '300ms']);
    expect(r.code).to.equal(1);
    expect(r.stderr).to.match(/^error: timed out after 300ms waiting for condition=Ready=False on task-webhooks\/hook/);
    expect(r.stdout).to.equal('');
  });

  it('wait --for=delete returns when another client deletes the object, through its watch', async () => {
    await d.api('PUT', '/v1/tasks/doomed?namespace=w', { kind: 'Task', metadata: { name: 'doomed' }, spec: {} });
    // orlojctl wait lists, then watches from the list's revision. Both are GETs on tasks the
    // server counts once they are answered (a watch as soon as it is subscribed), and nothing
    // else reads tasks meanwhile: two more means the object was there and the watch is open.
    const gets = await tasksGets();
    const waiting = new Follower(d, ['wait', 'task', 'doomed', '-n', 'w', '--for=delete', '--timeout=20s']);
    const exited = new Promise<number | null>((r) => waiting.proc.once('exit', (code) => r(code)));
    try {
      await eventually(async () => (await tasksGets()) === gets + 2, 10_000);
      expect(waiting.proc.exitCode, 'wait returned before the delete').to.equal(null);
      expect(waiting.lines).to.deep.equal([]);
      expect((await d.api('DELETE', '/v1/tasks/doomed?namespace=w')).status).to.equal(200);
      const code = await exited;
      expect(code, waiting.stderr).to.equal(0);
      expect(waiting.lines.map((l) => l.text)).to.deep.equal(['task/doomed condition met']);
      // It did not list again: the deletion reached it on the watch it had open.
      expect(await tasksGets()).to.equal(gets + 2);
    } finally {
      waiting.stop();
    }
  });

  it('describe shows metadata, spec, conditions and events', async () => {
    const out = await eventually(async () => {
      const r = await ctl(d, ['describe', 'tw', 'hook', '-n', 'w']);
      return r.code === 0 && /^Events:\n\s+TYPE/m.test(r.stdout) && r.stdout;
    }, 10_000);
    expect(out).to.match(/^Name:\s+hook$/m);
    expect(out).to.match(/^Namespace:\s+w$/m);
    expect(out).to.match(/^Spec:\n {2}task_ref: weekly-report-template$/m);
    expect(out).to.match(/^ {2}endpointPath: \/v1\/webhook-deliveries\//m);
    expect(out).to.match(/^Conditions:\n\s+TYPE\s+STATUS\s+REASON\s+MESSAGE\s+LAST-TRANSITION\n\s+Ready\s+True\s+Ready\s+accepting deliveries/m);
    expect(out).to.match(/^Events:\n\s+TYPE\s+REASON\s+AGE\s+COUNT\s+MESSAGE\n\s+Normal\s+Ready\s+\d+[smhd]\s+1\s+accepting/m);
  });

  it('diff exits 0 when the files match the server and 1 (with a unified diff) when they do not', async () => {
    const dir = tree({ 's.yaml': webhookStack('w', 'hook') });
    const same = await ctl(d, ['diff', '-f', dir]);
    expect(same.code, same.stderr).to.equal(0);
    expect(same.stdout).to.equal('');
    writeFileSync(join(dir, 's.yaml'), webhookStack('w', 'hook').replace('input: {}', 'input: {topic: ai}'));
    const changed = await ctl(d, ['diff', '-f', dir]);
    expect(changed.code).to.equal(1);
    expect(changed.stdout).to.contain('--- live/task/w/weekly-report-template\n+++ merged/task/w/weekly-report-template\n@@ ');
    expect(changed.stdout).to.match(/^- {2}input: \{\}$/m);
    expect(changed.stdout).to.match(/^\+ {2}input:\n\+ {4}topic: ai$/m);
    // diff never writes
    const task = await d.api<{ spec: { input: object } }>('GET', '/v1/tasks/weekly-report-template?namespace=w');
    expect(task.body.spec.input).to.deep.equal({});
  });

  it('diff shows which Secret values an apply changes, never a value', async () => {
    const secret = (data: Record<string, string>) => `kind: Secret\nmetadata: {name: creds}\nspec:\n  stringData: ${JSON.stringify(data)}\n`;
    const dir = tree({ 's.yaml': secret({ password: 'old-pass', user: 'admin' }) });
    expect((await ctl(d, ['apply', '-f', dir])).code).to.equal(0);
    expect((await ctl(d, ['diff', '-f', dir])).code).to.equal(0);
    writeFileSync(join(dir, 's.yaml'), secret({ password: 'new-pass', user: 'admin' }));
    expect((await ctl(d, ['apply', '--dry-run', '-f', dir])).stdout).to.equal('secret/creds configured (dry run)\n');
    const onlyValue = await ctl(d, ['diff', '-f', dir]);
    expect(onlyValue.code, onlyValue.stderr).to.equal(1);
    expect(onlyValue.stdout).to.match(/^- {4}password: <redacted>\n\+ {4}password: <redacted, changed>\n {5}user: <redacted>$/m);
    writeFileSync(join(dir, 's.yaml'), secret({ password: 'old-pass', token: 'tok-value' }));
    const keys = await ctl(d, ['diff', '-f', dir]);
    expect(keys.stdout).to.match(/^ {5}password: <redacted>$/m).and.match(/^\+ {4}token: <redacted>$/m).and.match(/^- {4}user: <redacted>$/m);
    for (const v of ['old-pass', 'new-pass', 'tok-value', 'admin']) {
      const out = onlyValue.stdout + keys.stdout;
      expect(out).not.to.contain(v).and.not.to.contain(Buffer.from(v).toString('base64'));
    }
  });

  it('diff shows a new object as all additions; errors exit 2', async () => {
    const dir = tree({ 'n.yaml': 'kind: Task\nmetadata: {name: brand-new}\n' });
    const r = await ctl(d, ['diff', '-f', dir, '-n', 'w']);
    expect(r.code).to.equal(1);
    expect(r.stdout).to.match(/^@@ -0,0 \+1,\d+ @@$/m);
    const bad = await ctl(d, ['diff', '-f', '/nonexistent']);
    expect(bad.code).to.equal(2);
  });

  it('delete by name prints deleted; a missing one is NotFound unless --ignore-not-found', async () => {
    await ctl(d, ['apply', '-f', '-', '-n', 'del'], { input: 'kind: Task\nmetadata: {name: a}\n---\nkind: Task\nmetadata: {name: b}\n' });
    const r = await ctl(d, ['delete', 'task', 'a', 'ghost', 'b', '-n', 'del']);
    expect(r.code).to.equal(1);
    expect(r.stdout).to.equal('task/a deleted\ntask/b deleted\n');
    expect(r.stderr).to.match(/^Error from server \(NotFound\): .*ghost/);
    expect((await d.api('GET', '/v1/tasks/a?namespace=del')).status).to.equal(404);
    const quiet = await ctl(d, ['delete', 'task', 'ghost', '-n', 'del', '--ignore-not-found']);
    expect(quiet.code).to.equal(0);
    expect(quiet.stderr).to.equal('');
  });

  it('delete -f removes what a file declares, dependents first', async () => {
    const dir = tree({ 's.yaml': webhookStack('w', 'hook') });
    const r = await ctl(d, ['delete', '-f', dir]);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout).to.equal(
      'task-webhook/hook deleted\ntask/weekly-report-template deleted\nsecret/webhook-shared-secret deleted\nnamespace/w deleted\n',
    );
    expect((await d.api<{ items: unknown[] }>('GET', '/v1/task-webhooks?namespace=w')).body.items).to.have.length(0);
  });
});
