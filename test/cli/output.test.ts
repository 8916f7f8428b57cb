// orlojctl get's output at kubectl's level: -o jsonpath, -o custom-columns, --no-headers,
// --show-labels, -L, --sort-by, and -w printing objects (not Lists) with tables kept aligned.
import { expect } from 'chai';
import { parseAllDocuments } from 'yaml';
import { execute, parseTemplate } from '../../pkg/cli/jsonpath.js';
import { Orlojd, eventually } from '../helpers/orlojd.js';
import { Follower, ctl, deadServer, namespaces, tree, webhookStack } from './ctl.js';

interface Obj {
  kind: string;
  metadata: { name: string; creationTimestamp: string };
}

const task = (name: string, labels: Record<string, string> | undefined, input: Record<string, unknown>): string =>
  `kind: Task\nmetadata: {name: ${name}${labels ? `, labels: ${JSON.stringify(labels)}` : ''}}\nspec: {mode: template, input: ${JSON.stringify(input)}}\n`;

/** Where each column of a table line starts (columns are separated by at least three spaces). */
const starts = (line: string): number[] => [...line.matchAll(/(?:^|\s{3})(\S)/g)].map((m) => m.index! + m[0].length - 1);
const lines = (text: string): string[] => text.trimEnd().split('\n');

describe('orlojctl get: output formats and flags', function () {
  this.timeout(60_000);
  let d: Orlojd;
  let down: string;
  before(async () => {
    d = await Orlojd.start();
    down = await deadServer();
    await namespaces(d, 'out', 'watch-json', 'watch-yaml', 'watch-empty', 'watch-wide');
    expect((await ctl(d, ['apply', '-f', tree({ 's.yaml': webhookStack('out') })])).code).to.equal(0);
    for (const t of [task('t-1', { app: 'demo', tier: 't1' }, { n: 1, w: 1.5 }), task('t-2', { tier: 't2', app: 'demo' }, { n: 2, w: 1.25 }), task('t-10', { app: 'demo' }, { n: 10, w: -3 }), task('bare', undefined, {})]) {
      expect((await ctl(d, ['apply', '-f', '-', '-n', 'out'], { input: t })).code).to.equal(0);
    }
    await eventually(async () => (await ctl(d, ['get', 'tw', '-n', 'out'])).stdout.includes('True'), 10_000);
  });
  after(async () => d?.destroy());

  describe('-o jsonpath', () => {
    it('applies the template to the List for a list and to the object for one name: paths, range, literals, filters', async () => {
      const names = await ctl(d, ['get', 'tasks', '-n', 'out', '-l', 'app=demo', '-o', 'jsonpath={.items[*].metadata.name}']);
      expect(names.code, names.stderr).to.equal(0);
      expect(names.stdout).to.equal('t-1 t-10 t-2');
      const range = await ctl(d, ['get', 'tasks', '-n', 'out', '-l', 'app=demo', '-o', 'jsonpath={.kind}:{range .items[*]}{.metadata.name}{"\\t"}{.spec.input.n}{"\\n"}{end}']);
      expect(range.stdout).to.equal('List:t-1\t1\nt-10\t10\nt-2\t2\n');
      const one = await ctl(d, ['get', 'task', 't-1', '-n', 'out', '-o=jsonpath={.kind} {.metadata.name} is a {.spec.mode}{.no.such.field}']);
      expect(one.stdout).to.equal('Task t-1 is a template');
      const ready = await ctl(d, ['get', 'tw', 'report-generic-webhook', '-n', 'out', '-o', 'jsonpath={.status.conditions[?(@.type=="Ready")].status}']);
      expect(ready.stdout).to.equal('True');
      const labels = await ctl(d, ['get', 'task', 't-1', '-n', 'out', '--output', 'jsonpath={.metadata.labels}']);
      expect(JSON.parse(labels.stdout)).to.deep.equal({ app: 'demo', tier: 't1' });
    });

    it('refuses a template it cannot parse before anything is sent (exit 2)', async () => {
      const cases: Array<[string, RegExp]> = [
        ['jsonpath', /no template given/],
        ['jsonpath={.items[*', /unclosed action/],
        ['jsonpath={range .items[*]}{.metadata.name}', /\{range\} without its \{end\}/],
        ['jsonpath={end}', /\{end\} without a \{range\}/],
        ['jsonpath={metadata.name}', /must start with "\."/],
      ];
      for (const [output, message] of cases) {
        const r = await ctl(d, ['get', 'tasks', '-o', output, '--server', down]);
        expect(r.code, output).to.equal(2);
        expect(r.stderr, output).to.match(message).and.not.match(/connection refused|\n\s+at /);
        expect(r.stdout).to.equal('');
      }
    });

    it('evaluates kubectl paths: root and current, recursive descent, slices, comparisons, wildcards', () => {
      const data = { items: [{ n: 1, m: { name: 'a' } }, { n: 5, m: { name: 'b' } }, { n: 10, m: { name: 'c' } }], name: 'top' };
      const run = (t: string): string => execute(parseTemplate(t), data);
      expect(run('{..name}')).to.equal('top a b c');
      expect(run('{.items[1:].m.name}')).to.equal('b c');
      expect(run('{.items[::2].n}')).to.equal('1 10');
      expect(run('{.items[-1].m.name}')).to.equal('c');
      expect(run('{.items[?(@.n > 2)].m.name}')).to.equal('b c');
      expect(run('{.items[?(@.n<=5)].m.name}')).to.equal('a b');
      expect(run("{.items[?(@.m.name!='b')].n}")).to.equal('1 10');
      expect(run('{range .items[*]}{.m.name}={$.name};{end}')).to.equal('a=top;b=top;c=top;');
      expect(run('{.items[0].m.*}')).to.equal('a');
      expect(run('{.items[0]}')).to.equal('{"n":1,"m":{"name":"a"}}');
      expect(() => parseTemplate('{.items[::0]}')).to.throw(/step of a slice/);
    });
  });

  describe('-o custom-columns', () => {
    it('prints the columns named, aligned, with <none> where a path selects nothing', async () => {
      const spec = 'custom-columns=NAME:.metadata.name,TIER:metadata.labels.tier,N:{.spec.input.n},READY:.status.conditions[?(@.type=="Ready")].status';
      const r = await ctl(d, ['get', 'tasks', '-n', 'out', '-l', 'app=demo', '-o', spec]);
      expect(r.code, r.stderr).to.equal(0);
      const [header, ...rows] = lines(r.stdout);
      expect(header).to.match(/^NAME\s+TIER\s+N\s+READY$/);
      expect(rows.map((l) => l.split(/\s+/))).to.deep.equal([
        ['t-1', 't1', '1', 'True'],
        ['t-10', '<none>', '10', 'True'],
        ['t-2', 't2', '2', 'True'],
      ]);
      for (const row of rows) expect(starts(row)).to.deep.equal(starts(header!));
      const bare = await ctl(d, ['get', 'tasks', '-n', 'out', '-l', 'app=demo', '-o', spec, '--no-headers']);
      expect(lines(bare.stdout).map((l) => l.split(/\s+/)[0])).to.deep.equal(['t-1', 't-10', 't-2']);
    });

    it('refuses a spec that is not HEADER:PATH,... (exit 2)', async () => {
      for (const [output, message] of [
        ['custom-columns=', /no custom columns given/],
        ['custom-columns=NAME', /unexpected custom-columns spec "NAME": expected <header>:<json-path-expr>/],
        ['custom-columns=NAME:.metadata.name,X:.a[?(b)]', /custom-columns X: a filter must test the current element/],
      ] as const) {
        const r = await ctl(d, ['get', 'tasks', '-o', output, '--server', down]);
        expect(r.code, output).to.equal(2);
        expect(r.stderr, output).to.match(message);
      }
    });
  });

  describe('table flags', () => {
    it('--no-headers leaves the header out of tables, default and wide', async () => {
      for (const output of ['table', 'wide']) {
        const r = await ctl(d, ['get', 'tasks', '-n', 'out', '-l', 'app=demo', '--no-headers', '-o', output]);
        expect(r.code, r.stderr).to.equal(0);
        expect(lines(r.stdout).map((l) => l.split(/\s+/)[0])).to.deep.equal(['t-1', 't-10', 't-2']);
      }
    });

    it('--show-labels adds LABELS (k=v sorted, <none> when there are none); -L adds a column per key', async () => {
      const shown = await ctl(d, ['get', 'tasks', 'bare', 't-2', '-n', 'out', '--show-labels']);
      const [header, bare, t2] = lines(shown.stdout);
      expect(header!.split(/\s+/)).to.deep.equal(['NAME', 'MODE', 'PHASE', 'AGE', 'LABELS']);
      expect(bare!.split(/\s+/).at(-1)).to.equal('<none>');
      // Applied as {tier, app}: printed by key.
      expect(t2!.split(/\s+/).at(-1)).to.equal('app=demo,tier=t2');
      for (const flags of [['-L', 'tier', '-L', 'app'], ['--label-columns', 'tier,app'], ['-Ltier,app', '--show-labels']]) {
        const r = await ctl(d, ['get', 'tasks', '-n', 'out', '-l', 'app=demo', ...flags]);
        expect(r.code, r.stderr).to.equal(0);
        const [h, ...rows] = lines(r.stdout);
        expect(h!.split(/\s+/).slice(4, 6)).to.deep.equal(['TIER', 'APP']);
        const [tier, app] = starts(h!).slice(4, 6) as [number, number];
        // t-10 has no tier: an empty cell, and APP still in its column.
        const cells = rows.map((l) => [l.split(/\s+/)[0], l.slice(tier, app).trim(), l.slice(app).split(/\s+/)[0]]);
        expect(cells).to.deep.equal([['t-1', 't1', 'demo'], ['t-10', '', 'demo'], ['t-2', 't2', 'demo']]);
      }
      const prefixed = await ctl(d, ['get', 'tasks', '-n', 'out', '-L', 'orloj.dev/tier']);
      expect(lines(prefixed.stdout)[0]!.split(/\s+/).at(-1)).to.equal('TIER');
    });

    it('-L refuses a key that is not a label key (exit 2)', async () => {
      for (const key of ['bad key', '', 'a,,b']) {
        const r = await ctl(d, ['get', 'tasks', '-L', key, '--server', down]);
        expect(r.code, key).to.equal(2);
        expect(r.stderr, key).to.match(/invalid label key ".*" for -L/);
      }
    });
  });

  describe('--sort-by', () => {
    it('sorts by a path: names naturally, numbers numerically, missing values first, creation time', async () => {
      const names = async (...flags: string[]): Promise<string[]> => {
        const r = await ctl(d, ['get', 'tasks', '-n', 'out', '-o', 'name', ...flags]);
        expect(r.code, r.stderr).to.equal(0);
        return lines(r.stdout).map((l) => l.replace('task/', ''));
      };
      expect(await names('-l', 'app=demo')).to.deep.equal(['t-1', 't-10', 't-2']);
      expect(await names('-l', 'app=demo', '--sort-by=.metadata.name')).to.deep.equal(['t-1', 't-2', 't-10']);
      expect(await names('--sort-by', 'spec.input.n')).to.deep.equal(['bare', 'weekly-report-template', 't-1', 't-2', 't-10']);
      // As numbers, not as the text they spell (1.25 < 1.5).
      expect(await names('-l', 'app=demo', '--sort-by', '.spec.input.w')).to.deep.equal(['t-10', 't-2', 't-1']);
      expect(await names('-l', 'tier', '--sort-by', '{.metadata.labels.tier}')).to.deep.equal(['t-1', 't-2']);

      // Created a second apart (timestamps have whole seconds): `z-first` before `a-later`, unlike by name.
      await namespaces(d, 'by-time');
      const first = await d.api<Obj>('PUT', '/v1/tasks/z-first?namespace=by-time', { kind: 'Task', metadata: { name: 'z-first' }, spec: { mode: 'template', input: {} } });
      const next = Date.parse(first.body.metadata.creationTimestamp) + 1000;
      await eventually(async () => Date.now() >= next, 3000);
      await d.api('PUT', '/v1/tasks/a-later?namespace=by-time', { kind: 'Task', metadata: { name: 'a-later' }, spec: { mode: 'template', input: {} } });
      const table = await ctl(d, ['get', 'tasks', '-n', 'by-time', '--sort-by=.metadata.creationTimestamp']);
      expect(lines(table.stdout).map((l) => l.split(/\s+/)[0])).to.deep.equal(['NAME', 'z-first', 'a-later']);
      const json = JSON.parse((await ctl(d, ['get', 'tasks', '-n', 'by-time', '-o', 'json', '--sort-by=.metadata.creationTimestamp'])).stdout) as { items: Obj[] };
      expect(json.items.map((o) => o.metadata.name)).to.deep.equal(['z-first', 'a-later']);
    });

    it('refuses a path none of the objects has (exit 1), an object to sort by (exit 1), a malformed path (exit 2)', async () => {
      const missing = await ctl(d, ['get', 'tasks', '-n', 'out', '--sort-by=.spec.nope']);
      expect(missing.code).to.equal(1);
      expect(missing.stderr).to.equal('error: couldn\'t find any field with path ".spec.nope" in the list of objects\n');
      expect(missing.stdout).to.equal('');
      const object = await ctl(d, ['get', 'tasks', '-n', 'out', '--sort-by=.metadata.labels']);
      expect(object.code).to.equal(1);
      expect(object.stderr).to.contain('cannot sort by an object');
      const malformed = await ctl(d, ['get', 'tasks', '--sort-by={{.a}}', '--server', down]);
      expect(malformed.code).to.equal(2);
      expect(malformed.stderr).to.contain('--sort-by: unexpected path "{{.a}}"');
    });
  });

  describe('-w', () => {
    const put = (ns: string, name: string) => d.api('PUT', `/v1/tasks/${name}?namespace=${ns}`, { kind: 'Task', metadata: { name }, spec: { mode: 'template', input: {} } });

    it('-o json prints each object, the listed ones and every change, as its own document, never a List', async () => {
      await put('watch-json', 'before');
      const w = new Follower(d, ['get', 'tasks', '-w', '-o', 'json', '-n', 'watch-json']);
      try {
        await w.line(/"name": "before"/);
        await put('watch-json', 'after');
        await eventually(async () => {
          const at = w.lines.findIndex((l) => l.text.includes('"name": "after"'));
          return at >= 0 && w.lines.slice(at).some((l) => l.text === '}');
        });
        const text = w.lines.map((l) => l.text).join('\n');
        const docs = text.split(/^}$/m).filter((s) => s.trim()).map((s) => JSON.parse(`${s}}`) as Obj);
        expect(docs.map((o) => o.kind)).to.satisfy((ks: string[]) => ks.every((k) => k === 'Task'));
        expect(docs[0]!.metadata.name).to.equal('before');
        expect(docs.map((o) => o.metadata.name)).to.include('after');
      } finally {
        w.stop();
      }
    });

    it('-o yaml prints each object as a document, separated by ---', async () => {
      await put('watch-yaml', 'one');
      await put('watch-yaml', 'two');
      const w = new Follower(d, ['get', 'tasks', '-w', '-o', 'yaml', '-n', 'watch-yaml']);
      try {
        await w.line(/^ {2}name: two$/);
        await put('watch-yaml', 'three');
        await w.line(/^ {2}name: three$/);
        const text = w.lines.map((l) => l.text).join('\n');
        expect(text.startsWith('---')).to.equal(false);
        const docs = parseAllDocuments(text).filter((doc) => !doc.errors.length).map((doc) => doc.toJS() as Obj);
        expect(docs.slice(0, 3).map((o) => [o.kind, o.metadata.name])).to.deep.equal([['Task', 'one'], ['Task', 'two'], ['Task', 'three']]);
      } finally {
        w.stop();
      }
    });

    it('a table keeps the widths of the listed rows; from an empty list, the header comes with the first row', async () => {
      const empty = new Follower(d, ['get', 'tasks', '-w', '-n', 'watch-empty']);
      await put('watch-wide', 'a-rather-long-task-name');
      const listed = new Follower(d, ['get', 'tasks', '-w', '-n', 'watch-wide']);
      try {
        await eventually(async () => empty.stderr.includes('No resources found in watch-empty namespace.'));
        await put('watch-empty', 'first-row-name');
        const header = await empty.line(/^NAME\s/);
        const row = await empty.line(/^first-row-name\s/);
        expect(starts(row.text)).to.deep.equal(starts(header.text));
        await put('watch-empty', 'x');
        expect(starts((await empty.line(/^x\s/)).text)).to.deep.equal(starts(header.text));

        const top = await listed.line(/^NAME\s/);
        await listed.line(/^a-rather-long-task-name\s/);
        await put('watch-wide', 'b');
        expect(starts((await listed.line(/^b\s/)).text)).to.deep.equal(starts(top.text));
        expect(listed.lines.filter((l) => l.text.startsWith('NAME'))).to.have.length(1);
      } finally {
        empty.stop();
        listed.stop();
      }
    });
  });
});
