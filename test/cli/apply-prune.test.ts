import { expect } from 'chai';
import { Orlojd } from '../helpers/orlojd.js';
import { ctl, namespaces } from './ctl.js';

const task = (name: string, ns: string, labels: Record<string, string>): string =>
  `kind: Task\nmetadata: {name: ${name}, namespace: ${ns}, labels: ${JSON.stringify(labels)}}\nspec: {mode: template}\n`;
const docs = (...d: string[]): string => d.join('---\n');

describe('orlojctl apply --prune', function () {
  this.timeout(60_000);
  let d: Orlojd;
  before(async () => {
    d = await Orlojd.start();
    await namespaces(d, 'p1', 'p2', 'pdry', 'pfail', 'psel');
  });
  after(async () => d?.destroy());

  const exists = async (path: string): Promise<boolean> => (await d.api('GET', path)).status === 200;
  const apply = (input: string, ...flags: string[]) => ctl(d, ['apply', '-f', '-', ...flags], { input });

  it('deletes exactly the objects of the selector that an apply made and the files no longer hold', async () => {
    const sel = { app: 'p' };
    const secret = 'kind: Secret\nmetadata: {name: s, namespace: p1, labels: {app: p}}\nspec: {stringData: {k: v}}\n';
    const first = await apply(docs(task('a', 'p1', sel), task('b', 'p1', sel), task('c', 'p1', sel), secret, task('other-app', 'p1', { app: 'q' })));
    expect(first.code, first.stderr).to.equal(0);
    // Of the selector too, but not made by apply, or in a namespace the files do not address.
    await d.api('PUT', '/v1/tasks/by-hand?namespace=p1', { kind: 'Task', metadata: { name: 'by-hand', labels: sel }, spec: {} });
    expect((await apply(task('elsewhere', 'p2', sel))).code).to.equal(0);

    const r = await apply(docs(task('a', 'p1', sel), task('other-app', 'p1', { app: 'q' })), '--prune', '-l', 'app=p');
    expect(r.code, r.stderr).to.equal(0);
    // -l also picks the documents applied (as kubectl's); what lives longest in a namespace goes first.
    expect(r.stdout).to.equal('task/a unchanged\ntask/b pruned\ntask/c pruned\nsecret/s pruned\n');
    for (const gone of ['/v1/tasks/b?namespace=p1', '/v1/tasks/c?namespace=p1', '/v1/secrets/s?namespace=p1']) expect(await exists(gone), gone).to.equal(false);
    for (const kept of ['/v1/tasks/a?namespace=p1', '/v1/tasks/other-app?namespace=p1', '/v1/tasks/by-hand?namespace=p1', '/v1/tasks/elsewhere?namespace=p2']) {
      expect(await exists(kept), kept).to.equal(true);
    }
    const again = await apply(task('a', 'p1', sel), '--prune', '-l', 'app=p');
    expect(again.stdout).to.equal('task/a unchanged\n');
  });

  it('prunes cluster-wide kinds too: a Namespace dropped from the files goes', async () => {
    const ns = (name: string): string => `kind: Namespace\nmetadata: {name: ${name}, labels: {stack: ns}}\nspec: {}\n`;
    expect((await apply(docs(ns('pns-a'), ns('pns-b')))).code).to.equal(0);
    const r = await apply(ns('pns-a'), '--prune', '-l', 'stack=ns');
    expect(r.stdout, r.stderr).to.equal('namespace/pns-a unchanged\nnamespace/pns-b pruned\n');
    expect(await exists('/v1/namespaces/pns-b')).to.equal(false);
  });

  it('--dry-run names what it would prune and deletes nothing', async () => {
    const sel = { app: 'dry' };
    expect((await apply(docs(task('x', 'pdry', sel), task('y', 'pdry', sel)))).code).to.equal(0);
    const r = await apply(task('x', 'pdry', sel), '--prune', '-l', 'app=dry', '--dry-run');
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout).to.equal('task/x unchanged (dry run)\ntask/y pruned (dry run)\n');
    expect(await exists('/v1/tasks/y?namespace=pdry')).to.equal(true);
  });

  it('prunes nothing when a document failed to apply', async () => {
    const sel = { app: 'fail' };
    expect((await apply(docs(task('x', 'pfail', sel), task('y', 'pfail', sel)))).code).to.equal(0);
    const bad = 'kind: Task\nmetadata: {name: z, namespace: pfail, labels: {app: fail}}\nspec: {mode: sometimes}\n';
    const r = await apply(docs(task('x', 'pfail', sel), bad), '--prune', '-l', 'app=fail');
    expect(r.code).to.equal(1);
    expect(r.stderr).to.contain('<stdin>: document 2: Error from server (Invalid)').and.contain('prune skipped: 1 document failed to apply');
    expect(r.stdout).to.equal('task/x unchanged\n');
    expect(await exists('/v1/tasks/y?namespace=pfail')).to.equal(true);
  });

  it('-l alone applies only the documents of the files that match it', async () => {
    const r = await apply(docs(task('match', 'psel', { tier: 'web' }), task('no-match', 'psel', { tier: 'db' })), '-l', 'tier=web');
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout).to.equal('task/match created\n');
    expect(await exists('/v1/tasks/no-match?namespace=psel')).to.equal(false);
    const none = await apply(task('no-match', 'psel', { tier: 'db' }), '-l', 'tier=web');
    expect(none.code).to.equal(1);
    expect(none.stderr).to.contain('no objects passed to apply');
  });

  it('refuses --prune without -l, and a bad selector, before sending anything', async () => {
    const noSel = await apply(task('never', 'psel', {}), '--prune');
    expect(noSel.code).to.equal(2);
    expect(noSel.stderr).to.contain('--prune needs -l SELECTOR');
    const badSel = await apply(task('never', 'psel', {}), '--prune', '-l', 'a in (');
    expect(badSel.code).to.equal(2);
    expect(badSel.stderr).to.contain('invalid label selector');
    expect(await exists('/v1/tasks/never?namespace=psel')).to.equal(false);
  });
});
