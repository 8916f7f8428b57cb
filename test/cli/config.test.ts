import { expect } from 'chai';
import { chmodSync, existsSync, lstatSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { Orlojd } from '../helpers/orlojd.js';
import { ctl, deadServer, namespaces, tree } from './ctl.js';

const modeOf = (path: string): number => statSync(path).mode & 0o777;
const readJson = (path: string): unknown => JSON.parse(readFileSync(path, 'utf8'));

/** A config file path in a fresh dir (no file yet), and the environment that makes orlojctl use it. */
function configFile(contents?: unknown): { path: string; env: NodeJS.ProcessEnv } {
  const path = join(tree({}), 'config.json');
  if (contents !== undefined) writeFileSync(path, typeof contents === 'string' ? contents : JSON.stringify(contents), { mode: 0o600 });
  return { path, env: { ORLOJ_CONFIG: path } };
}

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as { port: number };
  await new Promise((r) => s.close(r));
  return port;
}

describe('orlojctl config: contexts', function () {
  this.timeout(60_000);
  let d: Orlojd;
  before(async () => {
    d = await Orlojd.start();
    await namespaces(d, 'team', 'other');
    for (const [ns, name] of [['default', 'in-default'], ['team', 'in-team'], ['other', 'in-other']]) {
      const r = await d.api('PUT', `/v1/tasks/${name}?namespace=${ns}`, { kind: 'Task', metadata: { name, namespace: ns }, spec: { mode: 'template', input: {} } });
      expect(r.status, r.text).to.be.below(300);
    }
  });
  after(async () => d?.destroy());

  /** `get tasks -o name` through the given config: which namespace (and server) the call reached. */
  const tasksVia = async (env: NodeJS.ProcessEnv, args: string[] = []): Promise<string> => {
    const r = await ctl(d, ['get', 'tasks', '-o', 'name', ...args], { env });
    expect(r.code, r.stderr).to.equal(0);
    return r.stdout.trim();
  };

  it('reads the old flat {server, token, namespace} file as the current context "default"', async () => {
    const { env } = configFile({ server: d.url, token: d.token, namespace: 'team' });
    expect(await tasksVia(env)).to.equal('task/in-team');
    const r = await ctl(d, ['config', 'get-contexts'], { env });
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout.split('\n')[0]).to.match(/^CURRENT\s+NAME\s+SERVER\s+NAMESPACE$/);
    expect(r.stdout.split('\n')[1]).to.match(new RegExp(`^\\*\\s+default\\s+${d.url}\\s+team$`));
  });

  it('set-context creates and modifies contexts; get-contexts lists them, -o name their names', async () => {
    const { path, env } = configFile();
    const created = await ctl(d, ['config', 'set-context', 'local', '--server', d.url, '--token', d.token, '--namespace', 'team'], { env });
    expect(created.code, created.stderr).to.equal(0);
    expect(created.stdout).to.equal('Context "local" created.\n');
    const modified = await ctl(d, ['config', 'set-context', 'local', '-n', 'other'], { env });
    expect(modified.stdout).to.equal('Context "local" modified.\n');
    expect((await ctl(d, ['config', 'set-context', 'remote', '--server', 'https://orloj.example.com'], { env })).code).to.equal(0);
    expect(readJson(path)).to.deep.equal({ contexts: { local: { server: d.url, token: d.token, namespace: 'other' }, remote: { server: 'https://orloj.example.com' } } });

    const table = await ctl(d, ['config', 'get-contexts'], { env });
    const [, local, remote, end] = table.stdout.split('\n');
    expect(local).to.match(new RegExp(`^ +local +${d.url} +other$`));
    expect(remote).to.match(/^ +remote +https:\/\/orloj\.example\.com$/);
    expect(end).to.equal('');
    expect((await ctl(d, ['config', 'get-contexts', '-o', 'name'], { env })).stdout).to.equal('local\nremote\n');
    expect((await ctl(d, ['config', 'get-contexts', 'remote', '-o', 'name'], { env })).stdout).to.equal('remote\n');
  });

  it('use-context and current-context; --context picks a context for one call', async () => {
    const { path, env } = configFile({ contexts: { a: { server: d.url, token: d.token, namespace: 'team' }, b: { server: d.url, token: d.token, namespace: 'other' } } });
    const none = await ctl(d, ['config', 'current-context'], { env });
    expect(none.code).to.equal(1);
    expect(none.stderr).to.contain('current-context is not set');

    const use = await ctl(d, ['config', 'use-context', 'a'], { env });
    expect(use.code, use.stderr).to.equal(0);
    expect(use.stdout).to.equal('Switched to context "a".\n');
    expect((readJson(path) as { currentContext: string }).currentContext).to.equal('a');
    expect((await ctl(d, ['config', 'current-context'], { env })).stdout).to.equal('a\n');
    expect((await ctl(d, ['config', 'get-contexts'], { env })).stdout).to.match(/^\*\s+a\s/m);
    expect(await tasksVia(env)).to.equal('task/in-team');
    expect(await tasksVia(env, ['--context', 'b'])).to.equal('task/in-other');
    expect(await tasksVia(env, ['--context=b'])).to.equal('task/in-other');
  });

  it('resolves each field as flag > environment > context > default', async () => {
    const dead = await deadServer();
    const { env } = configFile({ currentContext: 'c', contexts: { c: { server: dead, token: 'wrong-token', namespace: 'team' } } });
    const viaEnv = { ...env, ORLOJ_SERVER: d.url, ORLOJ_TOKEN: d.token };
    expect(await tasksVia(viaEnv)).to.equal('task/in-team');
    expect(await tasksVia({ ...viaEnv, ORLOJ_NAMESPACE: 'other' })).to.equal('task/in-other');
    expect(await tasksVia({ ...viaEnv, ORLOJ_NAMESPACE: 'other' }, ['-n', 'default'])).to.equal('task/in-default');
    expect(await tasksVia(env, ['--server', d.url, '--token', d.token])).to.equal('task/in-team');
    const noNamespace = configFile({ currentContext: 'c', contexts: { c: { server: d.url, token: d.token } } });
    expect(await tasksVia(noNamespace.env)).to.equal('task/in-default');
  });

  it('an unknown context is an error naming the known ones, for use-context and --context alike', async () => {
    const { path, env } = configFile({ currentContext: 'a', contexts: { a: { server: d.url, token: d.token }, b: {} } });
    const before = readFileSync(path, 'utf8');
    const use = await ctl(d, ['config', 'use-context', 'nope'], { env });
    expect(use.code).to.equal(1);
    expect(use.stderr).to.equal(`error: no context named "nope" in ${path} (known: a, b)\n`);
    expect(readFileSync(path, 'utf8')).to.equal(before);
    const flag = await ctl(d, ['get', 'tasks', '--context', 'nope'], { env });
    expect(flag.code).to.equal(1);
    expect(flag.stderr).to.contain('no context named "nope"').and.contain('known: a, b').and.not.contain('    at ');
    expect((await ctl(d, ['config', 'get-contexts', 'nope'], { env })).code).to.equal(1);
  });

  it('delete-context removes a context; deleting the current one unsets it, and a dangling current context can be repaired', async () => {
    const { path, env } = configFile({ currentContext: 'a', contexts: { a: { server: d.url, token: d.token }, b: { server: d.url, token: d.token, namespace: 'team' } } });
    const del = await ctl(d, ['config', 'delete-context', 'a'], { env });
    expect(del.code, del.stderr).to.equal(0);
    expect(del.stdout).to.equal(`deleted context a from ${path}\n`);
    expect(del.stderr).to.contain('that was the current context');
    expect(readJson(path)).to.deep.equal({ contexts: { b: { server: d.url, token: d.token, namespace: 'team' } } });
    const missing = await ctl(d, ['config', 'delete-context', 'a'], { env });
    expect(missing.code).to.equal(1);
    expect(missing.stderr).to.contain('no context named "a"').and.contain('known: b');

    // A current context that names nothing (an edited file) fails calls, but not config itself.
    writeFileSync(path, JSON.stringify({ currentContext: 'gone', contexts: { b: { server: d.url, token: d.token, namespace: 'team' } } }));
    const dangling = await ctl(d, ['get', 'tasks'], { env });
    expect(dangling.code).to.equal(1);
    expect(dangling.stderr).to.contain('the current context "gone"').and.contain('config use-context');
    expect((await ctl(d, ['config', 'use-context', 'b'], { env })).code).to.equal(0);
    expect(await tasksVia(env)).to.equal('task/in-team');
  });

  it('view shows the config with tokens REDACTED, --raw shows them; -o json', async () => {
    const { env } = configFile({ currentContext: 'a', contexts: { a: { server: d.url, token: 'secret-token-1', namespace: 'team' }, b: { server: d.url } } });
    const yaml = await ctl(d, ['config', 'view'], { env });
    expect(yaml.code, yaml.stderr).to.equal(0);
    expect(yaml.stdout).to.equal(`currentContext: a\ncontexts:\n  a:\n    server: ${d.url}\n    token: REDACTED\n    namespace: team\n  b:\n    server: ${d.url}\n`);
    const json = await ctl(d, ['config', 'view', '-o', 'json'], { env });
    expect(JSON.parse(json.stdout)).to.deep.equal({ currentContext: 'a', contexts: { a: { server: d.url, token: 'REDACTED', namespace: 'team' }, b: { server: d.url } } });
    const raw = await ctl(d, ['config', 'view', '--raw', '-o', 'json'], { env });
    expect(JSON.parse(raw.stdout).contexts.a.token).to.equal('secret-token-1');
    const flat = configFile({ server: d.url, token: 'secret-token-2' });
    const flatView = await ctl(d, ['config', 'view', '-o', 'json'], { env: flat.env });
    expect(JSON.parse(flatView.stdout)).to.deep.equal({ currentContext: 'default', contexts: { default: { server: d.url, token: 'REDACTED' } } });
  });

  it('set-context without NAME (or with --current) changes the current context; an empty value removes a field', async () => {
    const { path, env } = configFile({ server: d.url, token: d.token, namespace: 'team' });
    const r = await ctl(d, ['config', 'set-context', '--current', '--namespace', 'other'], { env });
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout).to.equal('Context "default" modified.\n');
    // The old flat file now has the contexts shape.
    expect(readJson(path)).to.deep.equal({ currentContext: 'default', contexts: { default: { server: d.url, token: d.token, namespace: 'other' } } });
    expect(await tasksVia(env)).to.equal('task/in-other');
    expect((await ctl(d, ['config', 'set-context', '--namespace='], { env })).stdout).to.equal('Context "default" modified.\n');
    expect(readJson(path)).to.deep.equal({ currentContext: 'default', contexts: { default: { server: d.url, token: d.token } } });
  });

  it('set-context refuses bad input with a usage error and leaves the file as it was', async () => {
    const { path, env } = configFile({ currentContext: 'a', contexts: { a: { server: d.url } } });
    const before = readFileSync(path, 'utf8');
    const cases: Array<[string[], string]> = [
      [['--namespace', 'Not_A_Namespace'], '--namespace "Not_A_Namespace" must be a DNS-1123 label'],
      [['--server', 'ftp://files.example.com'], 'is not an http(s) URL'],
      [['--token', 'two words'], '--token must be printable ASCII without spaces'],
      [['a', '--current'], 'give a context NAME or --current, not both'],
      [['a', 'b'], 'expected: config set-context'],
      [['has space'], 'may not be empty or hold spaces'],
    ];
    for (const [args, message] of cases) {
      const r = await ctl(d, ['config', 'set-context', ...args], { env });
      expect(r.code, args.join(' ')).to.equal(2);
      expect(r.stderr, args.join(' ')).to.contain(message).and.contain("See 'orlojctl config --help'");
    }
    expect(readFileSync(path, 'utf8')).to.equal(before);
    const noCurrent = configFile();
    const r = await ctl(d, ['config', 'set-context', '--namespace', 'team'], { env: noCurrent.env });
    expect(r.code).to.equal(2);
    expect(r.stderr).to.contain('there is no current context');
    expect(existsSync(noCurrent.path)).to.equal(false);
  });

  it('bad subcommands and output formats are usage errors', async () => {
    const { env } = configFile();
    const cases: Array<[string[], string]> = [
      [[], 'a subcommand is required (get-contexts, current-context, use-context, set-context, delete-context, view)'],
      [['frobnicate'], 'unknown subcommand "frobnicate"'],
      [['view', '-o', 'table'], 'unknown output format "table" for view'],
      [['get-contexts', '-o', 'yaml'], 'unknown output format "yaml" for get-contexts'],
      [['use-context'], 'expected: config use-context NAME'],
    ];
    for (const [args, message] of cases) {
      const r = await ctl(d, ['config', ...args], { env });
      expect(r.code, args.join(' ')).to.equal(2);
      expect(r.stderr, args.join(' ')).to.contain(message);
    }
  });

  it('refuses to rewrite a file it cannot parse', async () => {
    const { path, env } = configFile('{not json');
    const r = await ctl(d, ['config', 'set-context', 'x', '--namespace', 'team'], { env });
    expect(r.code).to.equal(1);
    expect(r.stderr).to.contain(`the client config ${path} is unusable: it is not valid JSON`);
    expect(readFileSync(path, 'utf8')).to.equal('{not json');
    const shape = configFile({ contexts: { a: { server: 8080 } } });
    const bad = await ctl(d, ['config', 'get-contexts'], { env: shape.env });
    expect(bad.code).to.equal(1);
    expect(bad.stderr).to.contain('contexts.a.server is not a string');
  });

  it('writes by replacing the file whole, owner-only, in a 0700 directory, and through a link to the linked file', async () => {
    const dir = tree({});
    const path = join(dir, 'new', 'sub', 'config.json');
    const env = { ORLOJ_CONFIG: path };
    expect((await ctl(d, ['config', 'set-context', 'a', '--token', 'tok-1'], { env })).code).to.equal(0);
    expect(modeOf(path)).to.equal(0o600);
    expect(modeOf(join(dir, 'new'))).to.equal(0o700);
    expect(modeOf(join(dir, 'new', 'sub'))).to.equal(0o700);

    // A looser file is replaced by a new owner-only one (another inode), not rewritten in place.
    chmodSync(path, 0o644);
    const { ino } = statSync(path);
    expect((await ctl(d, ['config', 'use-context', 'a'], { env })).code).to.equal(0);
    expect(statSync(path).ino).not.to.equal(ino);
    expect(modeOf(path)).to.equal(0o600);
    expect(readdirSync(join(dir, 'new', 'sub'))).to.deep.equal(['config.json']);

    const link = join(dir, 'link.json');
    symlinkSync(path, link);
    expect((await ctl(d, ['config', 'set-context', 'b'], { env: { ORLOJ_CONFIG: link } })).code).to.equal(0);
    expect(lstatSync(link).isSymbolicLink()).to.equal(true);
    expect(Object.keys((readJson(path) as { contexts: object }).contexts)).to.deep.equal(['a', 'b']);
  });
});

describe('orlojd and a client config with contexts', function () {
  this.timeout(60_000);

  it('writes a fresh config with one context "default", in a 0700 directory', async () => {
    const dir = tree({});
    const path = join(dir, 'orloj', 'config.json');
    const d = await Orlojd.start({ env: { ORLOJ_CONFIG: path } });
    try {
      expect(readJson(path)).to.deep.equal({ currentContext: 'default', contexts: { default: { server: d.url, token: d.token } } });
      expect(modeOf(path)).to.equal(0o600);
      expect(modeOf(join(dir, 'orloj'))).to.equal(0o700);
    } finally {
      await d.destroy();
    }
  });

  it('refreshes the token of the contexts that point at it, keeping the others, the current one and namespaces', async () => {
    const port = await freePort();
    const remote = { server: 'https://orloj.example.com', token: 'their-token' };
    const { path } = configFile({
      currentContext: 'remote',
      contexts: { remote, local: { server: `127.0.0.1:${port}`, token: 'stale', namespace: 'team' }, fresh: { server: `http://127.0.0.1:${port}/` } },
    });
    const d = await Orlojd.start({ env: { ORLOJ_CONFIG: path }, port });
    try {
      expect(readJson(path)).to.deep.equal({
        currentContext: 'remote',
        contexts: { remote, local: { server: `127.0.0.1:${port}`, token: d.token, namespace: 'team' }, fresh: { server: `http://127.0.0.1:${port}/`, token: d.token } },
      });
      expect(d.logs).to.include('updated the client config');
    } finally {
      await d.destroy();
    }
  });

  it('leaves a config with no context for it alone', async () => {
    const theirs = { currentContext: 'remote', contexts: { remote: { server: 'https://orloj.example.com', token: 'their-token' } } };
    const { path } = configFile(theirs);
    const d = await Orlojd.start({ env: { ORLOJ_CONFIG: path } });
    try {
      expect(readJson(path)).to.deep.equal(theirs);
      expect(d.logs).to.include('points at another server');
    } finally {
      await d.destroy();
    }
  });
});
