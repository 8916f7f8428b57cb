import { expect } from 'chai';
import { join } from 'node:path';
import { Orlojd } from '../helpers/orlojd.js';
import { ctl, deadServer, namespaces, tree, webhookStack } from './ctl.js';

interface Obj {
  metadata: { resourceVersion: string };
}

describe('orlojctl apply', function () {
  this.timeout(60_000);
  let d: Orlojd;
  before(async () => {
    d = await Orlojd.start();
    await namespaces(d, 'dir', 'stdin', 'dry', 'yamlerr', 'unknown', 'invalid');
  });
  after(async () => d?.destroy());

  it('applies a multi-document file in dependency order, then reports unchanged without new versions', async () => {
    const dir = tree({ 'stack.yaml': webhookStack('one') });
    const first = await ctl(d, ['apply', '-f', join(dir, 'stack.yaml')]);
    expect(first.code, first.stderr).to.equal(0);
    // Namespaces, Secrets, Tasks, TaskWebhooks, whatever the file order.
    expect(first.stdout).to.equal(
      'namespace/one created\nsecret/webhook-shared-secret created\ntask/weekly-report-template created\ntask-webhook/report-generic-webhook created\n',
    );
    const rv = (await d.api<Obj>('GET', '/v1/tasks/weekly-report-template?namespace=one')).body.metadata.resourceVersion;
    const again = await ctl(d, ['apply', '-f', join(dir, 'stack.yaml')]);
    expect(again.code).to.equal(0);
    expect(again.stdout.trim().split('\n')).to.have.length(4).and.to.satisfy((ls: string[]) => ls.every((l) => l.endsWith(' unchanged')));
    expect((await d.api<Obj>('GET', '/v1/tasks/weekly-report-template?namespace=one')).body.metadata.resourceVersion).to.equal(rv);
  });

  it('applies a directory and everything below it, and reports configured on change', async () => {
    const dir = tree({
      'a.yaml': 'kind: Task\nmetadata: {name: t1}\nspec: {mode: template}\n',
      'b.json': JSON.stringify({ kind: 'Task', metadata: { name: 't2' }, spec: {} }),
      'notes.txt': 'not a manifest',
      'sub/c.yml': 'kind: Task\nmetadata: {name: t3}\n',
    });
    const flat = await ctl(d, ['apply', '-f', dir, '-n', 'dir']);
    expect(flat.code, flat.stderr).to.equal(0);
    expect(flat.stdout).to.equal('task/t1 created\ntask/t2 created\ntask/t3 created\n');
    const rec = await ctl(d, ['apply', '-R', '-f', dir, '-n', 'dir']);
    expect(rec.stdout).to.equal('task/t1 unchanged\ntask/t2 unchanged\ntask/t3 unchanged\n');
    const changed = tree({ 'a.yaml': 'kind: Task\nmetadata: {name: t1, labels: {x: y}}\nspec: {mode: template}\n' });
    expect((await ctl(d, ['apply', '-f', changed, '-n', 'dir'])).stdout).to.equal('task/t1 configured\n');
  });

  it('reads stdin with -f -', async () => {
    const r = await ctl(d, ['apply', '-f', '-', '-n', 'stdin'], { input: 'kind: Task\nmetadata: {name: from-stdin}\n' });
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout).to.equal('task/from-stdin created\n');
    expect((await d.api('GET', '/v1/tasks/from-stdin?namespace=stdin')).status).to.equal(200);
  });

  it('takes kind: exactly, as Kubernetes does, naming the kind a near miss means; type arguments stay loose', async () => {
    for (const [kind, means] of [['task', 'Task'], ['tasks', 'Task'], ['taskwebhook', 'TaskWebhook'], ['SECRET', 'Secret']]) {
      const r = await ctl(d, ['apply', '-f', '-', '-n', 'stdin'], { input: `kind: ${kind}\nmetadata: {name: near-miss}\n` });
      expect(r.code).to.equal(1);
      expect(r.stderr).to.equal(`error: <stdin>: document 1: unknown kind "${kind}"; did you mean "${means}"?\n`);
    }
    expect((await d.api('GET', '/v1/tasks/near-miss?namespace=stdin')).status).to.equal(404);
    const diff = await ctl(d, ['diff', '-f', '-', '-n', 'stdin'], { input: 'kind: task\nmetadata: {name: near-miss}\n' });
    expect(diff.code).to.equal(2);
    expect(diff.stderr).to.contain('did you mean "Task"?');
    for (const type of ['task', 'TASKS', 'Task']) expect((await ctl(d, ['get', type, 'from-stdin', '-n', 'stdin'])).code, type).to.equal(0);
  });

  it('--dry-run answers like a real apply and writes nothing', async () => {
    const dir = tree({ 's.yaml': webhookStack('dry') });
    const r = await ctl(d, ['apply', '--dry-run', '-f', dir]);
    expect(r.code, r.stderr).to.equal(0);
    // The namespace was made without apply: the first apply would add its record, as kubectl's does.
    expect(r.stdout).to.contain('namespace/dry configured (dry run)\n').and.contain('task-webhook/report-generic-webhook created (dry run)\n');
    const list = await d.api<{ items: unknown[] }>('GET', '/v1/task-webhooks?namespace=dry');
    expect(list.body.items).to.have.length(0);
    expect((await d.api('GET', '/v1/secrets/webhook-shared-secret?namespace=dry')).status).to.equal(404);
  });

  it('names the file, document and line of a YAML error and applies nothing from the set', async () => {
    const dir = tree({
      'a-good.yaml': 'kind: Task\nmetadata: {name: fine}\n',
      'b-bad.yaml': 'kind: Task\nmetadata: {name: also-fine}\n---\nkind: Task\nmetadata:\n  name: [broken\n  x: y\n',
    });
    const r = await ctl(d, ['apply', '-f', dir, '-n', 'yamlerr']);
    expect(r.code).to.equal(1);
    expect(r.stderr).to.match(/b-bad\.yaml: document 2: line \d+: /);
    expect(r.stderr).not.to.match(/\n\s+at /); // no stack trace
    expect(r.stdout).to.equal('');
    expect((await d.api<{ items: unknown[] }>('GET', '/v1/tasks?namespace=yamlerr')).body.items).to.have.length(0);
  });

  it('rejects an unknown kind before sending anything', async () => {
    const dir = tree({ 'x.yaml': 'kind: Task\nmetadata: {name: before}\n---\nkind: Widget\nmetadata: {name: w}\n' });
    const r = await ctl(d, ['apply', '-f', join(dir, 'x.yaml'), '-n', 'unknown']);
    expect(r.code).to.equal(1);
    expect(r.stderr).to.contain('x.yaml: document 2: unknown kind "Widget"');
    expect((await d.api('GET', '/v1/tasks/before?namespace=unknown')).status).to.equal(404);
  });

  it('shows the server field path for a schema violation and a bad name, applies the rest, exits 1', async () => {
    const dir = tree({
      'v.yaml': [
        'kind: TaskWebhook\nmetadata: {name: hook}\nspec: {task_ref: t, auth: {secret_ref: s, profile: nope}}',
        'kind: Task\nmetadata: {name: Bad_Name}',
        'kind: Task\nmetadata: {name: good}',
      ].join('\n---\n'),
    });
    const r = await ctl(d, ['apply', '-f', join(dir, 'v.yaml'), '-n', 'invalid']);
    expect(r.code).to.equal(1);
    expect(r.stderr).to.match(/v\.yaml: document 1: Error from server \(Invalid\): .*spec\.auth\.profile/);
    expect(r.stderr).to.match(/v\.yaml: document 2: Error from server \(Invalid\): .*metadata\.name/);
    expect(r.stdout).to.equal('task/good created\n');
  });

  it('fails clearly on a missing path, no -f, and an unreachable server', async () => {
    const missing = await ctl(d, ['apply', '-f', '/nonexistent/x.yaml']);
    expect(missing.code).to.equal(1);
    expect(missing.stderr).to.contain('the path "/nonexistent/x.yaml" does not exist');
    const noFile = await ctl(d, ['apply']);
    expect(noFile.code).to.equal(2);
    expect(noFile.stderr).to.contain('-f FILE|DIR|- is required');
    const dir = tree({ 'a.yaml': 'kind: Task\nmetadata: {name: a}\n' });
    const url = await deadServer();
    const down = await ctl(d, ['apply', '-f', dir, '--server', url]);
    expect(down.code).to.equal(1);
    expect(down.stderr.trim()).to.equal(`error: cannot reach orlojd at ${url}: connection refused (is orlojd running?)`);
  });
});
