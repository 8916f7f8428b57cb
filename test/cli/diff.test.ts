import { expect } from 'chai';
import { Orlojd } from '../helpers/orlojd.js';
import { ctl, deadServer, namespaces } from './ctl.js';

interface Obj {
  metadata: { labels?: Record<string, string> };
}

const task = (labels: string, spec = '{mode: template}'): string => `kind: Task\nmetadata: {name: d1, namespace: diffs, labels: {${labels}}}\nspec: ${spec}\n`;

describe('orlojctl diff: against the three-way merge, with kubectl exit codes', function () {
  this.timeout(60_000);
  let d: Orlojd;
  before(async () => {
    d = await Orlojd.start();
    await namespaces(d, 'diffs');
  });
  after(async () => d?.destroy());

  const diff = (input: string, ...flags: string[]) => ctl(d, ['diff', '-f', '-', ...flags], { input });

  it('exits 0 with no output when apply would change nothing, even after another client labelled the object', async () => {
    expect((await ctl(d, ['apply', '-f', '-'], { input: task('app: a') })).code).to.equal(0);
    const same = await diff(task('app: a'));
    expect([same.code, same.stdout, same.stderr]).to.deep.equal([0, '', '']);
    const path = '/v1/tasks/d1?namespace=diffs';
    const o = (await d.api<Obj>('GET', path)).body;
    o.metadata.labels = { ...o.metadata.labels, team: 'ops' };
    expect((await d.api('PUT', path, o)).status).to.equal(200);
    const after = await diff(task('app: a'));
    expect([after.code, after.stdout]).to.deep.equal([0, '']);
  });

  it('exits 1 with a unified diff of what apply would change, without its own record', async () => {
    const r = await diff(task('', '{mode: template, system: s}'));
    expect(r.code, r.stderr).to.equal(1);
    expect(r.stdout).to.contain('--- live/task/diffs/d1').and.contain('+++ merged/task/diffs/d1');
    expect(r.stdout).to.match(/^-\s+app: a$/m); // dropped from the file: removed
    expect(r.stdout).to.match(/^\s+team: ops$/m); // set by another client: kept
    expect(r.stdout).to.match(/^\+\s+system: s$/m);
    expect(r.stdout).not.to.contain('last-applied-configuration');
    // A diff changes nothing.
    expect((await diff(task('app: a'))).code).to.equal(0);
  });

  it('exits 2 when the server refuses a document, naming it, even when others differ', async () => {
    const bad = 'kind: Task\nmetadata: {name: d2, namespace: diffs}\nspec: {mode: sometimes}\n';
    const r = await diff([task('app: b'), bad].join('---\n'));
    expect(r.code).to.equal(2);
    expect(r.stderr).to.match(/<stdin>: document 2: Error from server \(Invalid\): .*spec\.mode/);
  });

  it('exits 2 on an unreachable server and on a file that does not parse', async () => {
    const url = await deadServer();
    const down = await diff(task('app: a'), '--server', url);
    expect(down.code).to.equal(2);
    expect(down.stderr.trim()).to.equal(`error: cannot reach orlojd at ${url}: connection refused (is orlojd running?)`);
    const broken = await diff('kind: Task\nmetadata: {name: [\n');
    expect(broken.code).to.equal(2);
    expect(broken.stderr).to.contain('<stdin>: document 1: line');
  });
});
