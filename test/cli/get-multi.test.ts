// orlojctl get of several objects and kinds at once: KIND/NAME..., KIND,KIND and `all`, as kubectl.
import { expect } from 'chai';
import { Orlojd, eventually } from '../helpers/orlojd.js';
import { ctl, deadServer, namespaces, tree, webhookStack } from './ctl.js';

interface List {
  kind: string;
  items: Array<{ kind: string; metadata: { name: string } }>;
}

/** A table's blocks (split on blank lines), each as its lines' first cells. */
const blocks = (text: string): string[][] => text.trimEnd().split('\n\n').map((b) => b.split('\n').map((l) => l.split(/\s+/)[0]!));

describe('orlojctl get: several objects and kinds', function () {
  this.timeout(60_000);
  let d: Orlojd;
  let down: string;
  before(async () => {
    d = await Orlojd.start();
    down = await deadServer();
    await namespaces(d, 'multi', 'hollow');
    expect((await ctl(d, ['apply', '-f', tree({ 's.yaml': webhookStack('multi') })])).code).to.equal(0);
    const more = 'kind: Task\nmetadata: {name: other}\nspec: {mode: template, input: {}}\n---\nkind: Collection\nmetadata: {name: notes}\nspec: {}\n';
    expect((await ctl(d, ['apply', '-f', '-', '-n', 'multi'], { input: more })).code).to.equal(0);
    await eventually(async () => (await ctl(d, ['get', 'tw', '-n', 'multi'])).stdout.includes('True'), 10_000);
  });
  after(async () => d?.destroy());

  it('KIND/NAME: one kind prints plain names (one object alone in -o json); several kinds print a table each, names as kind/name', async () => {
    const one = await ctl(d, ['get', 'task/other', '-n', 'multi']);
    expect(one.code, one.stderr).to.equal(0);
    expect(blocks(one.stdout)).to.deep.equal([['NAME', 'other']]);
    const json = JSON.parse((await ctl(d, ['get', 'task/other', '-n', 'multi', '-o', 'json'])).stdout) as { kind: string };
    expect(json.kind).to.equal('Task');
    const two = await ctl(d, ['get', 'tw/report-generic-webhook', 'task/other', 'task/weekly-report-template', '-n', 'multi']);
    expect(two.code, two.stderr).to.equal(0);
    expect(blocks(two.stdout)).to.deep.equal([
      ['NAME', 'task-webhook/report-generic-webhook'],
      ['NAME', 'task/other', 'task/weekly-report-template'],
    ]);
    expect(two.stdout.split('\n')[0]).to.match(/^NAME\s+PROFILE\s+TASK\s/);
  });

  it('KIND,KIND: a table per kind, a blank line between; -o json is one List of all; -o name every kind/name', async () => {
    const r = await ctl(d, ['get', 'task-webhooks,tasks', '-n', 'multi']);
    expect(r.code, r.stderr).to.equal(0);
    expect(blocks(r.stdout)).to.deep.equal([
      ['NAME', 'task-webhook/report-generic-webhook'],
      ['NAME', 'task/other', 'task/weekly-report-template'],
    ]);
    const list = JSON.parse((await ctl(d, ['get', 'tasks,tw', '-n', 'multi', '-o', 'json'])).stdout) as List;
    expect(list.kind).to.equal('List');
    expect(list.items.map((o) => `${o.kind}/${o.metadata.name}`)).to.deep.equal(['Task/other', 'Task/weekly-report-template', 'TaskWebhook/report-generic-webhook']);
    const names = await ctl(d, ['get', 'tw,tasks', '-n', 'multi', '-o', 'name']);
    expect(names.stdout).to.equal('task-webhook/report-generic-webhook\ntask/other\ntask/weekly-report-template\n');
    const named = await ctl(d, ['get', 'tasks,collections', 'other', 'notes', '-n', 'multi', '-o', 'name']);
    expect(named.code).to.equal(1);
    expect(named.stdout).to.equal('task/other\ncollection/notes\n');
    expect(named.stderr).to.match(/NotFound.*notes/).and.match(/NotFound.*other/);
  });

  it('all: every kind that has objects (never Secrets), one table each; none at all says so', async () => {
    const r = await ctl(d, ['get', 'all', '-n', 'multi']);
    expect(r.code, r.stderr).to.equal(0);
    expect(blocks(r.stdout)).to.deep.equal([
      ['NAME', 'task-webhook/report-generic-webhook'],
      ['NAME', 'task/other', 'task/weekly-report-template'],
      ['NAME', 'collection/notes'],
    ]);
    expect(r.stdout).not.to.contain('secret');
    const bare = await ctl(d, ['get', 'all', '-n', 'multi', '--no-headers']);
    expect(bare.stdout.trimEnd().split('\n').map((l) => l.split(/\s+/)[0])).to.deep.equal([
      'task-webhook/report-generic-webhook', 'task/other', 'task/weekly-report-template', 'collection/notes',
    ]);
    const all = await ctl(d, ['get', 'all', '-n', 'multi', '-o', 'name']);
    expect(all.stdout.split('\n').filter(Boolean)).to.have.length(4);
    const hollow = await ctl(d, ['get', 'all', '-n', 'hollow']);
    expect(hollow.code).to.equal(0);
    expect(hollow.stdout).to.equal('');
    expect(hollow.stderr).to.equal('No resources found in hollow namespace.\n');
  });

  it('a missing KIND/NAME is reported and exits 1; the others still print', async () => {
    const r = await ctl(d, ['get', 'tw/ghost', 'task/other', '-n', 'multi']);
    expect(r.code).to.equal(1);
    expect(r.stderr).to.match(/^Error from server \(NotFound\): .*ghost.* not found\n$/);
    expect(blocks(r.stdout)).to.deep.equal([['NAME', 'task/other']]);
  });

  it('refuses forms kubectl refuses: KIND/NAME mixed with KIND NAME, KIND/NAME/X, -w on several kinds (exit 2); unknown kinds (exit 1)', async () => {
    const cases: Array<[string[], number, RegExp]> = [
      [['get', 'tw', 'task/other'], 2, /no need to specify a resource type as a separate argument/],
      [['get', 'tw/a/b'], 2, /"tw\/a\/b" must be KIND\/NAME/],
      [['get', 'tw/'], 1, /resource name may not be empty/],
      [['get', 'tw,tasks', '-w'], 2, /watch is only supported on one resource type at a time, but 2 were given/],
      [['get', 'all', '-w'], 2, /watch is only supported on one resource type/],
      [['get', 'tasks,widgets'], 1, /the server doesn't have a resource type "widgets"/],
      [['get', 'widgets/x'], 1, /the server doesn't have a resource type "widgets"/],
    ];
    for (const [args, code, message] of cases) {
      const r = await ctl(d, [...args, '--server', down]);
      expect(r.code, args.join(' ')).to.equal(code);
      expect(r.stderr, args.join(' ')).to.match(message);
    }
  });
});
