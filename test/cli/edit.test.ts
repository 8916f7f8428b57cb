import { expect } from 'chai';
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Orlojd } from '../helpers/orlojd.js';
import { ctl, namespaces, tree } from './ctl.js';

/** What the editor does on one of its runs: a regex replacement, a whole new text, an exit code, a write by someone else. */
interface Step {
  replace?: [string, string] | Array<[string, string]>;
  write?: string;
  exit?: number;
  /** A merge patch another client sends while the file is open. */
  meanwhile?: { url: string; token: string; path: string; patch: object };
}

/** What the editor saw on one run: the file, its text, and the modes of the file and its directory. */
interface Seen {
  file: string;
  text: string;
  mode: number;
  dirMode: number;
}

// The editor orlojctl opens: it logs what it was given, then does the step of this run.
const EDITOR = `
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
const [file] = process.argv.slice(process.argv.indexOf('--') + 1);
const steps = JSON.parse(readFileSync(process.env.EDIT_STEPS, 'utf8'));
const log = existsSync(process.env.EDIT_LOG) ? JSON.parse(readFileSync(process.env.EDIT_LOG, 'utf8')) : [];
const text = readFileSync(file, 'utf8');
log.push({ file, text, mode: statSync(file).mode & 0o777, dirMode: statSync(dirname(file)).mode & 0o777 });
writeFileSync(process.env.EDIT_LOG, JSON.stringify(log));
const step = steps[log.length - 1] ?? {};
if (step.meanwhile) {
  const { url, token, path, patch } = step.meanwhile;
  const r = await fetch(url + path, { method: 'PATCH', headers: { authorization: 'Bearer ' + token, 'content-type': 'application/merge-patch+json' }, body: JSON.stringify(patch) });
  if (r.status !== 200) throw new Error('the write meanwhile failed: ' + r.status);
}
const pairs = !step.replace ? [] : Array.isArray(step.replace[0]) ? step.replace : [step.replace];
if (pairs.length) writeFileSync(file, pairs.reduce((t, [from, to]) => t.replace(new RegExp(from, 'm'), to), text));
if (step.write !== undefined) writeFileSync(file, step.write);
process.exit(step.exit ?? 0);
`;

interface TaskObj {
  metadata: { labels?: Record<string, string>; resourceVersion: string };
  spec: { mode: string; input: Record<string, unknown> };
}

describe('orlojctl edit', function () {
  this.timeout(60_000);
  let d: Orlojd;
  let editorDir: string;
  before(async () => {
    d = await Orlojd.start();
    await namespaces(d, 'e');
    editorDir = tree({ 'editor.mjs': EDITOR });
  });
  after(async () => d?.destroy());

  /** Runs `orlojctl edit` with the editor doing `steps`, in a temp dir of the test's own. */
  async function edit(args: string[], steps: Step[], env: NodeJS.ProcessEnv = {}) {
    const work = tree({ 'steps.json': JSON.stringify(steps) });
    const log = join(work, 'log.json');
    const tmp = join(work, 'tmp');
    mkdirSync(tmp);
    const r = await ctl(d, ['edit', ...args, '-n', 'e'], {
      env: { EDITOR: `${process.execPath} ${join(editorDir, 'editor.mjs')} --`, EDIT_STEPS: join(work, 'steps.json'), EDIT_LOG: log, TMPDIR: tmp, ...env },
    });
    const seen: Seen[] = existsSync(log) ? (JSON.parse(readFileSync(log, 'utf8')) as Seen[]) : [];
    return { ...r, seen, left: readdirSync(tmp) };
  }
  const task = async (name: string) => (await d.api<TaskObj>('GET', `/v1/tasks/${name}?namespace=e`)).body;
  const create = async (name: string) => {
    const r = await ctl(d, ['apply', '-n', 'e', '-f', '-'], { input: `kind: Task\nmetadata: {name: ${name}}\nspec: {mode: template, input: {topic: ai}}\n` });
    expect(r.code, r.stderr).to.equal(0);
  };

  it('opens the object as YAML in a private file and saves the edit back', async () => {
    await create('happy');
    const r = await edit(['task', 'happy'], [{ replace: [['topic: ai', 'topic: robots'], ['name: happy', 'name: happy\n  labels:\n    team: a']] }]);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout).to.equal('task/happy edited\n');
    expect(r.seen).to.have.length(1);
    const [seen] = r.seen;
    expect(seen!.text).to.match(/^# Please edit the object below\. Lines beginning with a '#' will be ignored,\n/);
    expect(seen!.text).to.match(/^kind: Task$/m).and.match(/^ {4}topic: ai$/m).and.match(/^ {2}resourceVersion: "\d+"$/m);
    expect(seen!.file).to.match(/task-happy\.yaml$/);
    expect([seen!.mode, seen!.dirMode]).to.deep.equal([0o600, 0o700]);
    expect(r.left, 'the temp dir is removed').to.deep.equal([]);
    const t = await task('happy');
    expect(t.spec.input).to.deep.equal({ topic: 'robots' });
    expect(t.metadata.labels).to.deep.equal({ team: 'a' });
  });

  it('a file saved unchanged (or emptied) cancels the edit, exit 0', async () => {
    await create('same');
    const before = await task('same');
    const same = await edit(['task/same'], [{}]);
    expect(same.code, same.stderr).to.equal(0);
    expect(same.stdout).to.equal('Edit cancelled, no changes made.\n');
    const empty = await edit(['task', 'same'], [{ write: '# only a comment\n\n' }]);
    expect(empty.code, empty.stderr).to.equal(0);
    expect(empty.stdout).to.equal('Edit cancelled, saved file was empty.\n');
    expect((await task('same')).spec).to.deep.equal(before.spec);
    expect(same.left.concat(empty.left)).to.deep.equal([]);
  });

  it('reopens the file with the server\'s refusal on top; the fix is then saved', async () => {
    await create('fixme');
    const r = await edit(['task', 'fixme'], [{ replace: ['mode: template', 'mode: sometimes'] }, { replace: ['mode: sometimes', 'mode: run'] }]);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout).to.equal('task/fixme edited\n');
    expect(r.seen).to.have.length(2);
    const reopened = r.seen[1]!.text;
    expect(reopened).to.match(/^# Please edit the object below/);
    expect(reopened).to.match(/^# Error from server \(Invalid\): Task "fixme" is invalid: spec\.mode: must be one of: run, template$/m);
    expect(reopened).to.match(/^ {2}mode: sometimes$/m);
    expect(r.seen[1]!.file).to.equal(r.seen[0]!.file);
    expect((await task('fixme')).spec.mode).to.equal('run');
    expect(r.left).to.deep.equal([]);
  });

  it('a refusal saved again unchanged stops with exit 1, keeping the edited copy', async () => {
    await create('stuck');
    const r = await edit(['task', 'stuck'], [{ replace: ['mode: template', 'mode: sometimes'] }, {}]);
    expect(r.code).to.equal(1);
    expect(r.stderr).to.contain('Error from server (Invalid): Task "stuck" is invalid: spec.mode');
    expect(r.stderr).to.contain('Edit cancelled, no valid changes were saved.');
    const copy = r.stderr.match(/A copy of your changes has been stored to "([^"]+)"/)?.[1];
    expect(copy).to.equal(r.seen[1]!.file);
    expect(readFileSync(copy!, 'utf8')).to.match(/^ {2}mode: sometimes$/m);
    expect((await task('stuck')).spec.mode).to.equal('template');
  });

  it('YAML that does not parse, or a renamed object, is reopened with the problem too', async () => {
    await create('typo');
    const r = await edit(['task', 'typo'], [{ replace: ['topic: ai', 'topic: [ai'] }, { replace: ['topic: \\[ai', 'topic: ai\n  extra: 1'] }]);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.seen[1]!.text).to.match(/^# the file is not valid YAML: /m);
    const renamed = await edit(['task', 'typo'], [{ replace: ['name: typo', 'name: other'] }, { replace: ['name: other', 'name: typo'] }]);
    expect(renamed.code, renamed.stderr).to.equal(0);
    expect(renamed.stdout).to.equal('Edit cancelled, no changes made.\n');
    expect(renamed.seen[1]!.text).to.match(/^# the kind, name and namespace of an object cannot be edited/m);
    expect((await d.api('GET', '/v1/tasks/other?namespace=e')).status).to.equal(404);
  });

  it('a change by someone else meanwhile is a 409: nothing is overwritten and the copy is kept', async () => {
    await create('raced');
    const meanwhile = { url: d.url, token: d.token, path: '/v1/tasks/raced?namespace=e', patch: { metadata: { labels: { by: 'someone-else' } } } };
    const r = await edit(['task', 'raced'], [{ meanwhile, replace: ['topic: ai', 'topic: mine'] }]);
    expect(r.code).to.equal(1);
    expect(r.stderr).to.match(/^Error from server \(Conflict\): Operation cannot be fulfilled on Task "raced"/);
    expect(r.stderr).to.contain('task/raced was changed by someone else while you edited it');
    const copy = r.stderr.match(/A copy of your changes has been stored to "([^"]+)"/)?.[1];
    expect(readFileSync(copy!, 'utf8')).to.match(/^ {4}topic: mine$/m);
    const t = await task('raced');
    expect(t.spec.input).to.deep.equal({ topic: 'ai' });
    expect(t.metadata.labels).to.deep.equal({ by: 'someone-else' });
    // The version is the one read, whatever the file says: dropping it from the file changes nothing.
    const meanwhile2 = { ...meanwhile, patch: { metadata: { labels: { by: 'a-third' } } } };
    const dropped = await edit(['task', 'raced'], [{ meanwhile: meanwhile2, replace: [['topic: ai', 'topic: mine'], ['^  resourceVersion: .*\n', '']] }]);
    expect(dropped.code).to.equal(1);
    expect(dropped.stderr).to.match(/^Error from server \(Conflict\)/);
    expect((await task('raced')).spec.input).to.deep.equal({ topic: 'ai' });
  });

  it('takes $VISUAL when $EDITOR is unset, and says when the editor fails', async () => {
    await create('visual');
    const editor = `${process.execPath} ${join(editorDir, 'editor.mjs')} --`;
    const r = await edit(['task', 'visual'], [{ replace: ['topic: ai', 'topic: seen'] }], { EDITOR: '', VISUAL: editor });
    expect(r.code, r.stderr).to.equal(0);
    expect((await task('visual')).spec.input).to.deep.equal({ topic: 'seen' });
    const failing = await edit(['task', 'visual'], [{ replace: ['topic: seen', 'topic: lost'], exit: 3 }]);
    expect(failing.code).to.equal(1);
    expect(failing.stderr).to.match(/^error: the editor ".*node" exited with 3: edit cancelled, no changes made\n$/);
    expect((await task('visual')).spec.input).to.deep.equal({ topic: 'seen' });
    expect(failing.left).to.deep.equal([]);
    const missing = await edit(['task', 'visual'], [], { EDITOR: '/no/such/editor' });
    expect(missing.code).to.equal(1);
    expect(missing.stderr).to.contain('cannot start the editor "/no/such/editor": ENOENT');
  });

  it('refuses Secrets, which it would write to disk, and bad command lines', async () => {
    expect((await ctl(d, ['create', 'secret', 'generic', 'hush', '-n', 'e', '--from-literal', 'k=top-secret-value'])).code).to.equal(0);
    const r = await edit(['secret', 'hush'], [{}]);
    expect(r.code).to.equal(1);
    expect(r.stderr).to.match(/^error: edit does not open secrets: it would write their values to disk/);
    expect(r.stderr).to.contain('orlojctl apply -f FILE').and.contain('orlojctl patch secret hush --patch-file FILE');
    expect(r.seen, 'no editor was opened').to.deep.equal([]);
    expect(r.left).to.deep.equal([]);
    const usage = await edit(['task'], []);
    expect(usage.code).to.equal(2);
    expect(usage.stderr).to.contain('edit needs the name of the task');
    const missing = await edit(['task', 'nobody'], []);
    expect(missing.code).to.equal(1);
    expect(missing.stderr).to.match(/^Error from server \(NotFound\)/);
    expect(missing.left).to.deep.equal([]);
  });
});
