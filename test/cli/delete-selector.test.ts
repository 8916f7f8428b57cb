import { expect } from 'chai';
import { Orlojd } from '../helpers/orlojd.js';
import { ctl, namespaces } from './ctl.js';
import { InterposingProxy } from './proxy.js';

describe('orlojctl delete -l SELECTOR and --all', function () {
  this.timeout(60_000);
  let d: Orlojd;
  before(async () => {
    d = await Orlojd.start();
    await namespaces(d, 'ds', 'ds-other');
  });
  after(async () => d?.destroy());

  /** Tasks `name:app` in a namespace. */
  const tasks = async (ns: string, ...specs: string[]) => {
    const docs = specs.map((s) => {
      const [name, app] = s.split(':');
      return `kind: Task\nmetadata: {name: ${name}${app ? `, labels: {app: ${app}}` : ''}}\n`;
    });
    const r = await ctl(d, ['apply', '-n', ns, '-f', '-'], { input: docs.join('---\n') });
    expect(r.code, r.stderr).to.equal(0);
  };
  const names = async (ns: string) =>
    ((await d.api<{ items: Array<{ metadata: { name: string } }> }>('GET', `/v1/tasks?namespace=${ns}`)).body.items.map((o) => o.metadata.name).sort());

  it('-l deletes exactly the objects of the namespace whose labels match, naming each', async () => {
    await tasks('ds', 'a1:a', 'a2:a', 'b1:b', 'plain');
    await tasks('ds-other', 'a3:a');
    const r = await ctl(d, ['delete', 'tasks', '-l', 'app=a', '-n', 'ds']);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout.split('\n').filter(Boolean).sort()).to.deep.equal(['task/a1 deleted', 'task/a2 deleted']);
    expect(await names('ds')).to.deep.equal(['b1', 'plain']);
    expect(await names('ds-other')).to.deep.equal(['a3']);
    const notIn = await ctl(d, ['delete', 'task', '-l', 'app notin (b)', '-n', 'ds']);
    expect(notIn.stdout).to.equal('task/plain deleted\n');
    expect(await names('ds')).to.deep.equal(['b1']);
  });

  it('says "No resources found" when nothing matches, exit 0', async () => {
    const r = await ctl(d, ['delete', 'tasks', '-l', 'app=nothing', '-n', 'ds']);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout).to.equal('');
    expect(r.stderr).to.equal('No resources found in ds namespace.\n');
  });

  it('--all deletes every object of the kind in the namespace, and only there', async () => {
    await tasks('ds', 'x1', 'x2:z');
    const r = await ctl(d, ['delete', 'task', '--all', '-n', 'ds']);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout.split('\n').filter(Boolean).sort()).to.deep.equal(['task/b1 deleted', 'task/x1 deleted', 'task/x2 deleted']);
    expect(await names('ds')).to.deep.equal([]);
    expect(await names('ds-other')).to.deep.equal(['a3']);
    const again = await ctl(d, ['delete', 'task', '--all', '-n', 'ds']);
    expect(again.stderr).to.equal('No resources found in ds namespace.\n');
  });

  it('-A with -l or --all works across namespaces, saying which; -A with a name is refused', async () => {
    await tasks('ds', 'y1:y');
    await tasks('ds-other', 'y2:y');
    const r = await ctl(d, ['delete', 'task', '-l', 'app=y', '-A']);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout.split('\n').filter(Boolean).sort()).to.deep.equal(['task/y1 deleted from namespace ds', 'task/y2 deleted from namespace ds-other']);
    expect(await names('ds')).to.deep.equal([]);
    expect(await names('ds-other')).to.deep.equal(['a3']);
    const byName = await ctl(d, ['delete', 'task', 'a3', '-A']);
    expect(byName.code).to.equal(2);
    expect(byName.stderr).to.contain('-A deletes by -l SELECTOR or --all only');
    expect(await names('ds-other')).to.deep.equal(['a3']);
  });

  it('bad combinations are usage errors (exit 2); a selector the server refuses exits 1', async () => {
    const cases: Array<[string[], string]> = [
      [['delete', 'task', '-l', 'app=a', '--all'], 'give either -l SELECTOR or --all, not both'],
      [['delete', 'task', 'a3', '-l', 'app=a'], 'names cannot be given with -l or --all'],
      [['delete', '--all'], 'delete --all needs a KIND'],
      [['delete', 'task', '-l', ''], '-l needs a selector (to delete every object of a kind, say --all)'],
      [['delete', '-f', '/nonexistent', '--all'], '-l and --all take a KIND, not -f'],
    ];
    for (const [args, message] of cases) {
      const r = await ctl(d, [...args, '-n', 'ds-other']);
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).to.equal(2);
      expect(r.stderr, args.join(' ')).to.contain(message);
    }
    const bad = await ctl(d, ['delete', 'task', '-l', 'app in (a', '-n', 'ds-other']);
    expect(bad.code).to.equal(1);
    expect(bad.stderr).to.match(/^Error from server \(BadRequest\): invalid label selector/);
    expect(await names('ds-other')).to.deep.equal(['a3']);
  });

  it('an object relabelled after the list no longer matches and is left alone', async () => {
    await tasks('ds', 'keep:old', 'go:old');
    let relabelled = false;
    // Before orlojctl's first DELETE reaches the server, another client relabels "keep".
    const proxy = await new InterposingProxy(d, async (method) => {
      if (method !== 'DELETE' || relabelled) return;
      relabelled = true;
      const r = await d.api('PATCH', '/v1/tasks/keep?namespace=ds', JSON.stringify({ metadata: { labels: { app: 'new' } } }), { 'content-type': 'application/merge-patch+json' });
      expect(r.status, r.text).to.equal(200);
    }).start();
    try {
      const r = await ctl(d, ['delete', 'task', '-l', 'app=old', '-n', 'ds', '--server', proxy.url, '--token', d.token]);
      expect(r.code, r.stderr).to.equal(0);
      expect(r.stdout).to.equal('task/go deleted\n');
      expect(await names('ds')).to.deep.equal(['keep']);
    } finally {
      await proxy.close();
    }
  });
});
