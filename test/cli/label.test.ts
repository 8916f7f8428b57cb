import { expect } from 'chai';
import { Orlojd } from '../helpers/orlojd.js';
import { ctl, namespaces, ownAnnotations } from './ctl.js';
import { InterposingProxy } from './proxy.js';

interface Meta {
  metadata: { labels?: Record<string, string>; annotations?: Record<string, string> };
}

describe('orlojctl label and annotate', function () {
  this.timeout(60_000);
  let d: Orlojd;
  before(async () => {
    d = await Orlojd.start();
    await namespaces(d, 'l');
    const tasks = ['one', 'two', 'three', 'race'].map((n) => `kind: Task\nmetadata: {name: ${n}, labels: {app: report}}\n`).join('---\n');
    const r = await ctl(d, ['apply', '-n', 'l', '-f', '-'], { input: tasks });
    expect(r.code, r.stderr).to.equal(0);
  });
  after(async () => d?.destroy());
  const meta = async (name: string) => (await d.api<Meta>('GET', `/v1/tasks/${name}?namespace=l`)).body.metadata;

  it('sets labels on one or more objects, by KIND NAME... or KIND/NAME', async () => {
    const r = await ctl(d, ['label', 'task', 'one', 'two', 'tier=web', 'example.com/owner=ops', '-n', 'l']);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout).to.equal('task/one labeled\ntask/two labeled\n');
    expect((await meta('one')).labels).to.deep.equal({ app: 'report', tier: 'web', 'example.com/owner': 'ops' });
    expect((await meta('two')).labels).to.deep.equal({ app: 'report', tier: 'web', 'example.com/owner': 'ops' });
    const slash = await ctl(d, ['label', 'tasks/three', 'tier=db', '-n', 'l']);
    expect(slash.stdout).to.equal('task/three labeled\n');
    expect((await meta('three')).labels).to.deep.equal({ app: 'report', tier: 'db' });
  });

  it('refuses to change a value without --overwrite, as kubectl does; the same value is no change', async () => {
    const refused = await ctl(d, ['label', 'task', 'one', 'tier=api', '-n', 'l']);
    expect(refused.code).to.equal(1);
    expect(refused.stderr).to.equal("error: 'tier' already has a value (web), and --overwrite is false\n");
    expect((await meta('one')).labels?.tier).to.equal('web');
    const same = await ctl(d, ['label', 'task', 'one', 'tier=web', '-n', 'l']);
    expect(same.code, same.stderr).to.equal(0);
    expect(same.stdout).to.equal('task/one not labeled\n');
    const forced = await ctl(d, ['label', 'task', 'one', 'tier=api', '--overwrite', '-n', 'l']);
    expect(forced.code, forced.stderr).to.equal(0);
    expect(forced.stdout).to.equal('task/one labeled\n');
    expect((await meta('one')).labels?.tier).to.equal('api');
  });

  it('KEY- removes a label; a missing one is reported and changes nothing', async () => {
    const r = await ctl(d, ['label', 'task', 'two', 'tier-', 'example.com/owner-', '-n', 'l']);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout).to.equal('task/two labeled\n');
    expect((await meta('two')).labels).to.deep.equal({ app: 'report' });
    const missing = await ctl(d, ['label', 'task', 'two', 'nothing-', '-n', 'l']);
    expect(missing.code, missing.stderr).to.equal(0);
    expect(missing.stderr).to.equal('label "nothing" not found.\n');
    expect(missing.stdout).to.equal('task/two not labeled\n');
  });

  it('--dry-run reports the change and makes none', async () => {
    const r = await ctl(d, ['label', 'task', 'three', 'tier=cache', '--overwrite', '--dry-run', '-n', 'l']);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout).to.equal('task/three labeled (dry run)\n');
    expect((await meta('three')).labels?.tier).to.equal('db');
  });

  it('checks keys and values as Kubernetes does, before sending anything (exit 2)', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['label', 'task', 'one', 'bad key=v'], /invalid label key "bad key": name part must be 63 characters or less/],
      [['label', 'task', 'one', `k=${'v'.repeat(64)}`], /invalid label value "v{64}" for "k": at most 63 characters/],
      [['label', 'task', 'one', 'k=-dash'], /invalid label value "-dash"/],
      [['label', 'task', 'one', 'Bad_Prefix/k=v'], /invalid label key "Bad_Prefix\/k": prefix must be a DNS subdomain/],
      [['label', 'task', 'one', '=v'], /invalid label key "": a key is required/],
      [['label', 'task', 'one', 'k=1', 'k-'], /label "k" is given more than once|is both set and removed/],
      [['label', 'task', 'one'], /at least one label change is required/],
      [['label', 'task', 'k=v'], /label needs the name of the task/],
      [['label', 'task', 'one', 'k=v', 'two'], /"two" is not a label change/],
      [['annotate', 'task', 'one', 'no spaces allowed in keys=v'], /invalid annotation key/],
      [['label', 'task', 'one', 'k=v', '-A'], /-A is not supported/],
    ];
    for (const [args, message] of cases) {
      const r = await ctl(d, [...args, '-n', 'l']);
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).to.equal(2);
      expect(r.stderr, args.join(' ')).to.match(message);
    }
    expect((await meta('one')).labels).to.deep.equal({ app: 'report', tier: 'api', 'example.com/owner': 'ops' });
  });

  it('annotate takes any value, with the same --overwrite and KEY- rules', async () => {
    const long = 'a note that is longer than any label value could be: '.repeat(3);
    const r = await ctl(d, ['annotate', 'task', 'one', `note=${long}`, 'example.com/ticket=OPS-1', '-n', 'l']);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout).to.equal('task/one annotated\n');
    expect(ownAnnotations((await meta('one')).annotations)).to.deep.equal({ note: long, 'example.com/ticket': 'OPS-1' });
    const refused = await ctl(d, ['annotate', 'task/one', 'example.com/ticket=OPS-2', '-n', 'l']);
    expect(refused.code).to.equal(1);
    expect(refused.stderr).to.equal("error: 'example.com/ticket' already has a value (OPS-1), and --overwrite is false\n");
    const removed = await ctl(d, ['annotate', 'task', 'one', 'note-', '-n', 'l']);
    expect(removed.stdout).to.equal('task/one annotated\n');
    expect(ownAnnotations((await meta('one')).annotations)).to.deep.equal({ 'example.com/ticket': 'OPS-1' });
    expect((await meta('one')).labels).to.deep.equal({ app: 'report', tier: 'api', 'example.com/owner': 'ops' });
  });

  it('a missing object is the server\'s NotFound, exit 1', async () => {
    const r = await ctl(d, ['label', 'task', 'nobody', 'a=b', '-n', 'l']);
    expect(r.code).to.equal(1);
    expect(r.stderr).to.match(/^Error from server \(NotFound\): Task "l\/nobody" not found/);
  });

  it('writes at the version it checked: a value set meanwhile by someone else is seen, not overwritten', async () => {
    let raced = false;
    // Just before orlojctl's PATCH reaches the server, another client sets the same label.
    const proxy = await new InterposingProxy(d, async (method) => {
      if (method !== 'PATCH' || raced) return;
      raced = true;
      const r = await d.api('PATCH', '/v1/tasks/race?namespace=l', JSON.stringify({ metadata: { labels: { owner: 'someone-else' } } }), { 'content-type': 'application/merge-patch+json' });
      expect(r.status, r.text).to.equal(200);
    }).start();
    try {
      const r = await ctl(d, ['label', 'task', 'race', 'owner=me', '-n', 'l', '--server', proxy.url, '--token', d.token]);
      expect(r.code, r.stderr).to.equal(1);
      expect(r.stderr).to.equal("error: 'owner' already has a value (someone-else), and --overwrite is false\n");
      // It read, patched (409), read again and stopped there.
      expect(proxy.seen.map((s) => s.split('?')[0])).to.deep.equal(['GET /v1/tasks/race', 'PATCH /v1/tasks/race', 'GET /v1/tasks/race']);
      expect((await meta('race')).labels).to.deep.equal({ app: 'report', owner: 'someone-else' });
      // With --overwrite the second round's patch lands.
      raced = false;
      const forced = await ctl(d, ['label', 'task', 'race', 'owner=me', '--overwrite', '-n', 'l', '--server', proxy.url, '--token', d.token]);
      expect(forced.code, forced.stderr).to.equal(0);
      expect((await meta('race')).labels).to.deep.equal({ app: 'report', owner: 'me' });
    } finally {
      await proxy.close();
    }
  });
});
