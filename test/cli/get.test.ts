import { expect } from 'chai';
import { parse } from 'yaml';
import { Orlojd, eventually } from '../helpers/orlojd.js';
import { Follower, answeredGets, ctl, namespaces, tree, webhookStack } from './ctl.js';

interface Obj {
  kind: string;
  metadata: { name: string; namespace: string };
}

const cols = (line: string): string[] => line.trim().split(/\s{2,}/);

describe('orlojctl get', function () {
  this.timeout(60_000);
  let d: Orlojd;
  before(async function () {
    d = await Orlojd.start();
    await namespaces(d, 'other', 'watch', 'nothing-here');
    const r = await ctl(d, ['apply', '-f', tree({ 's.yaml': webhookStack('get') })]);
    expect(r.code, r.stderr).to.equal(0);
    await ctl(d, ['apply', '-f', '-', '-n', 'get'], { input: 'kind: Task\nmetadata: {name: plain, labels: {tier: batch}}\n' });
    await eventually(async () => (await ctl(d, ['get', 'tw', '-n', 'get'])).stdout.includes('True'), 10_000);
  });
  after(async () => d?.destroy());

  it('prints a table from the registry columns, resolving every alias', async () => {
    for (const alias of ['tw', 'taskwebhooks', 'task-webhook', 'TaskWebhook']) {
      const r = await ctl(d, ['get', alias, '-n', 'get']);
      expect(r.code, r.stderr).to.equal(0);
      const [header, row, ...rest] = r.stdout.trimEnd().split('\n');
      expect(cols(header!)).to.deep.equal(['NAME', 'PROFILE', 'TASK', 'ENDPOINT_PATH', 'READY', 'AGE']);
      expect(cols(row!).slice(0, 5)).to.deep.include.members(['report-generic-webhook', 'generic', 'weekly-report-template', 'True']);
      expect(cols(row!)[3]).to.match(/^\/v1\/webhook-deliveries\/\S+$/);
      expect(cols(row!)[5]).to.match(/^\d+[smhd]$/);
      expect(rest).to.have.length(0);
    }
  });

  it('-o wide adds the wide columns, with <none> for empty cells', async () => {
    const r = await ctl(d, ['get', 'tasks', '-n', 'get', '-o', 'wide']);
    const [header, ...rows] = r.stdout.trimEnd().split('\n');
    expect(cols(header!)).to.deep.equal(['NAME', 'MODE', 'PHASE', 'WEBHOOK', 'EVENT', 'AGE']);
    const plain = rows.map(cols).find((c) => c[0] === 'plain');
    expect(plain?.[3]).to.equal('<none>');
  });

  it('-o yaml, -o json and -o name', async () => {
    const one = parse((await ctl(d, ['get', 'tw', 'report-generic-webhook', '-n', 'get', '-o', 'yaml'])).stdout) as Obj;
    expect(one.kind).to.equal('TaskWebhook');
    expect(one.metadata.namespace).to.equal('get');
    const list = JSON.parse((await ctl(d, ['get', 'tasks', '-n', 'get', '-o', 'json'])).stdout) as { kind: string; items: Obj[] };
    expect(list.kind).to.equal('List');
    expect(list.items.map((o) => o.metadata.name).sort()).to.deep.equal(['plain', 'weekly-report-template']);
    const names = await ctl(d, ['get', 'task-webhooks', '-o', 'name', '-n', 'get']);
    expect(names.stdout).to.equal('task-webhook/report-generic-webhook\n');
  });

  it('filters with -l and lists across namespaces with -A', async () => {
    const sel = await ctl(d, ['get', 'tasks', '-n', 'get', '-l', 'tier=batch', '-o', 'name']);
    expect(sel.stdout).to.equal('task/plain\n');
    await ctl(d, ['apply', '-f', '-', '-n', 'other'], { input: 'kind: Task\nmetadata: {name: elsewhere}\n' });
    const all = await ctl(d, ['get', 'tasks', '-A']);
    const header = all.stdout.split('\n')[0]!;
    expect(cols(header).slice(0, 2)).to.deep.equal(['NAMESPACE', 'NAME']);
    expect(all.stdout).to.match(/^other\s+elsewhere\s/m);
    expect(all.stdout).to.match(/^get\s+plain\s/m);
  });

  it('says so on stderr and exits 0 when nothing matches; NotFound exits 1', async () => {
    const empty = await ctl(d, ['get', 'tasks', '-n', 'nothing-here']);
    expect(empty.code).to.equal(0);
    expect(empty.stdout).to.equal('');
    expect(empty.stderr.trim()).to.equal('No resources found in nothing-here namespace.');
    const missing = await ctl(d, ['get', 'task', 'ghost', '-n', 'get']);
    expect(missing.code).to.equal(1);
    expect(missing.stderr).to.match(/^Error from server \(NotFound\): .*ghost.* not found/);
    const unknown = await ctl(d, ['get', 'widgets']);
    expect(unknown.code).to.equal(1);
    expect(unknown.stderr).to.contain('the server doesn\'t have a resource type "widgets"');
  });

  it('takes the namespace from ORLOJ_NAMESPACE, and -n over it', async () => {
    const env = await ctl(d, ['get', 'tasks', '-o', 'name'], { env: { ORLOJ_NAMESPACE: 'other' } });
    expect(env.stdout).to.equal('task/elsewhere\n');
    const flag = await ctl(d, ['-n', 'get', 'get', 'tasks', '-l', 'tier', '-o', 'name'], { env: { ORLOJ_NAMESPACE: 'other' } });
    expect(flag.stdout).to.equal('task/plain\n');
  });

  it('a wrong token exits 1 with the 401 message', async () => {
    const flag = await ctl(d, ['get', 'tasks', '--token', 'not-the-token']);
    expect(flag.code).to.equal(1);
    expect(flag.stderr.trim()).to.equal('Error from server (Unauthorized): invalid token');
    const env = await ctl(d, ['get', 'tasks'], { env: { ORLOJ_TOKEN: 'also-wrong' } });
    expect(env.code).to.equal(1);
    expect(env.stderr).to.contain('(Unauthorized)');
  });

  it('-w prints a task created by another client, pushed on the watch it opened before printing', async () => {
    await d.api('PUT', '/v1/tasks/seed?namespace=watch', { kind: 'Task', metadata: { name: 'seed' }, spec: {} });
    const gets = await answeredGets(d, 'tasks');
    const w = new Follower(d, ['get', 'tasks', '-w', '-n', 'watch']);
    try {
      // The table is printed only once the watch is open: by then the server answered the list and the watch.
      await w.line(/^seed\s/);
      expect(await answeredGets(d, 'tasks')).to.equal(gets + 2);
      const res = await d.api('PUT', '/v1/tasks/fast?namespace=watch', { kind: 'Task', metadata: { name: 'fast' }, spec: {} });
      expect(res.status).to.equal(201);
      const line = await w.line(/^fast\s/);
      // No new request: the row came on the open watch, not from listing again.
      expect(await answeredGets(d, 'tasks')).to.equal(gets + 2);
      expect(cols(line.text)[0]).to.equal('fast');
      expect(w.lines.filter((l) => l.text.startsWith('NAME'))).to.have.length(1);
    } finally {
      w.stop();
    }
  });
});
