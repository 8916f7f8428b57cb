import { expect } from 'chai';
import { parse } from 'yaml';
import { Orlojd } from '../helpers/orlojd.js';
import { ctl, deadServer, namespaces } from './ctl.js';

interface Obj {
  apiVersion?: string;
  kind: string;
  metadata: { name: string; annotations?: Record<string, string> };
  spec: Record<string, unknown>;
  items?: Obj[];
}

const task = (name: string, extra = ''): string => `kind: Task\nmetadata: {name: ${name}${extra}}\nspec: {mode: template}\n`;
const docs = (d: string[]): string => d.join('---\n');

describe('orlojctl apply: -o, and many documents at once', function () {
  this.timeout(60_000);
  let d: Orlojd;
  before(async () => {
    d = await Orlojd.start();
    await namespaces(d, 'out', 'many');
  });
  after(async () => d?.destroy());

  const apply = (input: string, ...flags: string[]) => ctl(d, ['apply', '-f', '-', '-n', 'out', ...flags], { input });
  const exists = async (path: string): Promise<boolean> => (await d.api('GET', path)).status === 200;

  it('--dry-run -o yaml prints the object the server would write, and writes nothing', async () => {
    const r = await apply(task('one'), '--dry-run', '-o', 'yaml');
    expect(r.code, r.stderr).to.equal(0);
    const o = parse(r.stdout) as Obj;
    expect([o.kind, o.metadata.name, o.spec.mode, o.spec.input]).to.deep.equal(['Task', 'one', 'template', {}]);
    expect(o.metadata.annotations).to.have.property('orloj.dev/last-applied-configuration');
    expect(await exists('/v1/tasks/one?namespace=out')).to.equal(false);
  });

  it('-o json of several documents prints one List, in apply order', async () => {
    const input = docs([task('t1'), 'kind: Secret\nmetadata: {name: s1}\nspec: {stringData: {k: secret-plain-value}}\n', task('t2')]);
    const r = await apply(input, '--dry-run', '-o', 'json');
    expect(r.code, r.stderr).to.equal(0);
    const list = JSON.parse(r.stdout) as Obj;
    expect(list.kind).to.equal('List');
    expect(list.items!.map((o) => `${o.kind}/${o.metadata.name}`)).to.deep.equal(['Secret/s1', 'Task/t1', 'Task/t2']);
    expect(r.stdout).not.to.contain('secret-plain-value').and.not.contain(Buffer.from('secret-plain-value').toString('base64'));
  });

  it('-o name prints kind/name; -o yaml without --dry-run writes as well', async () => {
    const named = await apply(docs([task('n1'), task('n2')]), '-o', 'name');
    expect(named.stdout, named.stderr).to.equal('task/n1\ntask/n2\n');
    const y = await apply(task('n3'), '-o', 'yaml');
    expect((parse(y.stdout) as Obj).metadata.name).to.equal('n3');
    expect(await exists('/v1/tasks/n3?namespace=out')).to.equal(true);
  });

  it('refuses an output format apply has no use for', async () => {
    const r = await apply(task('never'), '-o', 'wide');
    expect(r.code).to.equal(2);
    expect(r.stderr).to.contain('unknown output format "wide" for apply (use yaml, json, name)');
    expect(await exists('/v1/tasks/never?namespace=out')).to.equal(false);
  });

  it('applies kind after kind, many at once within a kind, and reports in file order', async () => {
    // Namespaces come last in the file, each after its tasks: a task sent before its namespace is
    // written would find none (test/cli/in-groups.test.ts shows the order exactly).
    const spaces = Array.from({ length: 40 }, (_, i) => `bulk-${i}`);
    const tasks = spaces.flatMap((ns) => [0, 1].map((k) => ({ ns, name: `t${k}` })));
    const input = docs([...tasks.map((t) => task(t.name, `, namespace: ${t.ns}`)), ...spaces.map((ns) => `kind: Namespace\nmetadata: {name: ${ns}}\nspec: {}\n`)]);
    const r = await ctl(d, ['apply', '-f', '-'], { input });
    expect(r.code, r.stderr).to.equal(0);
    const lines = (result: string): string => [...spaces.map((ns) => `namespace/${ns} ${result}`), ...tasks.map((t) => `task/${t.name} ${result}`)].join('\n') + '\n';
    expect(r.stdout).to.equal(lines('created'));
    expect((await ctl(d, ['apply', '-f', '-'], { input })).stdout).to.equal(lines('unchanged'));
  });

  it('names the file and document of each refusal, in order, applies the rest and exits 1', async () => {
    const input = docs(Array.from({ length: 40 }, (_, i) => (i % 10 === 3 ? task(`Bad_${i}`) : task(`ok-${i}`))));
    const r = await ctl(d, ['apply', '-f', '-', '-n', 'many'], { input });
    expect(r.code).to.equal(1);
    const refused = r.stderr.trim().split('\n').map((l) => l.match(/^<stdin>: document (\d+): Error from server \(Invalid\)/)?.[1]);
    expect(refused).to.deep.equal(['4', '14', '24', '34']);
    const created = Array.from({ length: 40 }, (_, i) => i).filter((i) => i % 10 !== 3);
    expect(r.stdout).to.equal(created.map((i) => `task/ok-${i} created\n`).join(''));
  });

  it('stops at an unreachable server with one message', async () => {
    const url = await deadServer();
    const r = await ctl(d, ['apply', '-f', '-', '--server', url], { input: docs(Array.from({ length: 40 }, (_, i) => task(`t${i}`))) });
    expect(r.code).to.equal(1);
    expect(r.stderr).to.equal(`error: cannot reach orlojd at ${url}: connection refused (is orlojd running?)\n`);
  });
});
