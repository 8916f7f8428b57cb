import { expect } from 'chai';
import { join } from 'node:path';
import { Orlojd } from '../helpers/orlojd.js';
import { ctl, namespaces, ownAnnotations, tree } from './ctl.js';

interface TaskObj {
  metadata: { labels?: Record<string, string>; annotations?: Record<string, string>; resourceVersion: string };
  spec: { mode: string; input: Record<string, unknown> };
}

describe('orlojctl patch', function () {
  this.timeout(60_000);
  let d: Orlojd;
  before(async () => {
    d = await Orlojd.start();
    await namespaces(d, 'p');
    const r = await ctl(d, ['apply', '-n', 'p', '-f', '-'], { input: 'kind: Task\nmetadata: {name: rep}\nspec: {mode: template, input: {topic: ai}}\n' });
    expect(r.code, r.stderr).to.equal(0);
  });
  after(async () => d?.destroy());
  const rep = async () => (await d.api<TaskObj>('GET', '/v1/tasks/rep?namespace=p')).body;
  /** What a patch may change (the reconciler writes status, and with it the resourceVersion, on its own). */
  const patchable = async () => {
    const { metadata, spec } = await rep();
    return { labels: metadata.labels, annotations: metadata.annotations, spec };
  };

  it('applies a merge patch given as JSON, and says when it changed nothing', async () => {
    const r = await ctl(d, ['patch', 'task', 'rep', '-n', 'p', '-p', '{"spec":{"input":{"topic":"robots"}},"metadata":{"labels":{"team":"a"}}}']);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout).to.equal('task/rep patched\n');
    const t = await rep();
    expect(t.spec.input).to.deep.equal({ topic: 'robots' });
    expect(t.metadata.labels).to.deep.equal({ team: 'a' });
    const again = await ctl(d, ['patch', 'tasks/rep', '-n', 'p', '-p', '{"metadata":{"labels":{"team":"a"}}}']);
    expect(again.code, again.stderr).to.equal(0);
    expect(again.stdout).to.equal('task/rep patched (no change)\n');
  });

  it('--type json takes RFC 6902 operations, as JSON or YAML, on KIND/NAME', async () => {
    const r = await ctl(d, ['patch', 'task/rep', '-n', 'p', '--type', 'json', '-p', '[{"op":"add","path":"/spec/input/n","value":1}]']);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout).to.equal('task/rep patched\n');
    const yaml = await ctl(d, ['patch', 'task/rep', '-n', 'p', '--type=json', '-p', '- {op: remove, path: /spec/input/n}\n- {op: replace, path: /spec/input/topic, value: ships}']);
    expect(yaml.code, yaml.stderr).to.equal(0);
    expect((await rep()).spec.input).to.deep.equal({ topic: 'ships' });
  });

  it('--patch-file reads a file or stdin; --dry-run changes nothing; -o prints the object', async () => {
    const dir = tree({ 'p.yaml': 'spec:\n  mode: run\n' });
    const before = await patchable();
    const dry = await ctl(d, ['patch', 'task', 'rep', '-n', 'p', '--patch-file', join(dir, 'p.yaml'), '--dry-run', '-o', 'json']);
    expect(dry.code, dry.stderr).to.equal(0);
    expect((JSON.parse(dry.stdout) as TaskObj).spec.mode).to.equal('run');
    const msg = await ctl(d, ['patch', 'task', 'rep', '-n', 'p', '--patch-file', join(dir, 'p.yaml'), '--dry-run']);
    expect(msg.stdout).to.equal('task/rep patched (dry run)\n');
    expect(await patchable()).to.deep.equal(before);
    const stdin = await ctl(d, ['patch', 'task', 'rep', '-n', 'p', '--patch-file', '-', '-o', 'name'], { input: '{"metadata":{"annotations":{"note":"from stdin"}}}' });
    expect(stdin.code, stdin.stderr).to.equal(0);
    expect(stdin.stdout).to.equal('task/rep\n');
    expect(ownAnnotations((await d.api<TaskObj>('GET', '/v1/tasks/rep?namespace=p')).body.metadata.annotations)).to.deep.equal({ note: 'from stdin' });
  });

  it('bad command lines exit 2 and change nothing', async () => {
    const before = await patchable();
    const cases: Array<[string[], RegExp]> = [
      [['patch', 'task', 'rep', '-n', 'p'], /give the patch as -p PATCH or --patch-file FILE/],
      [['patch', 'task', 'rep', '-n', 'p', '-p', '{"a":1}', '--patch-file', 'x'], /give the patch as -p PATCH or --patch-file FILE \(one of them\)/],
      [['patch', 'task', 'rep', '-n', 'p', '-p', '{not: [valid'], /the patch is neither JSON nor a YAML object or list/],
      [['patch', 'task', 'rep', '-n', 'p', '-p', 'just words'], /the patch is neither JSON nor a YAML object or list/],
      [['patch', 'task', 'rep', '-n', 'p', '--type', 'strategic', '-p', '{}'], /strategic merge patches are for Kubernetes built-in types/],
      [['patch', 'task', 'rep', '-n', 'p', '--type', 'yaml', '-p', '{}'], /unknown patch type "yaml" \(use merge or json\)/],
      [['patch', 'task', '-p', '{}'], /patch needs the name of the task/],
      [['patch', 'task', 'a', 'b', '-p', '{}'], /patch works on one object at a time/],
      [['patch', 'task', 'rep', '-A', '-p', '{}'], /-A is not supported/],
    ];
    for (const [args, message] of cases) {
      const r = await ctl(d, args);
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).to.equal(2);
      expect(r.stderr, args.join(' ')).to.match(message);
    }
    expect(await patchable()).to.deep.equal(before);
  });

  it('a refusal of the server exits 1 with its message', async () => {
    const failedTest = await ctl(d, ['patch', 'task', 'rep', '-n', 'p', '--type', 'json', '-p', '[{"op":"test","path":"/spec/mode","value":"run"}]']);
    expect(failedTest.code).to.equal(1);
    expect(failedTest.stderr).to.match(/^Error from server \(Invalid\): operation 0 \(test \/spec\/mode\) failed/);
    const invalid = await ctl(d, ['patch', 'task', 'rep', '-n', 'p', '-p', '{"spec":{"mode":"never"}}']);
    expect(invalid.code).to.equal(1);
    expect(invalid.stderr).to.contain('spec.mode: must be one of: run, template');
    const missing = await ctl(d, ['patch', 'task', 'nobody', '-n', 'p', '-p', '{"spec":{}}']);
    expect(missing.code).to.equal(1);
    expect(missing.stderr).to.match(/^Error from server \(NotFound\): Task "p\/nobody" not found/);
    expect(failedTest.stdout + invalid.stdout + missing.stdout).to.equal('');
  });

  it('patches a Secret without printing or keeping its values anywhere readable', async () => {
    expect((await ctl(d, ['create', 'secret', 'generic', 'creds', '-n', 'p', '--from-literal', 'user=old-user'])).code).to.equal(0);
    const r = await ctl(d, ['patch', 'secret', 'creds', '-n', 'p', '-p', '{"spec":{"stringData":{"user":"new-user-value"}}}', '-o', 'yaml']);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout).to.contain('user: <redacted>');
    for (const v of ['new-user-value', Buffer.from('new-user-value').toString('base64')]) expect(r.stdout + r.stderr).not.to.contain(v);
    const revealed = await d.api<{ spec: { data: Record<string, string> } }>('GET', '/v1/secrets/creds?namespace=p&reveal=true');
    expect(Buffer.from(revealed.body.spec.data.user!, 'base64').toString()).to.equal('new-user-value');
  });
});
