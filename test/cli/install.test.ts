// `make install`, `make clean` / `clean-data` and the build's up-to-date check, run as a user
// would; and what orlojctl loads for a command (it starts fast by loading nothing else).
import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, unlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { commands } from '../../pkg/cli/main.js';
import { VERSION } from '../../pkg/version.js';
import { distRoot, ORLOJCTL } from '../helpers/orlojd.js';
import { deadServer } from './ctl.js';

const repo = resolve(distRoot, '..');

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(cmd: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<Result> {
  return new Promise((done, fail) => {
    const p = spawn(cmd, args, { cwd: opts.cwd, env: opts.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    p.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    p.on('error', fail);
    p.on('close', (code) => done({ code, stdout, stderr }));
  });
}

describe('make install, clean and clean-data', function () {
  this.timeout(60_000);
  let tmp: string;
  beforeEach(() => (tmp = mkdtempSync(join(tmpdir(), 'orloj-install-'))));
  afterEach(() => rmSync(tmp, { recursive: true, force: true }));

  it('make install PREFIX=DIR puts orlojctl and orlojd in DIR/bin, runnable from any directory', async () => {
    // `-o build`: the tests run from this checkout's dist/, which must not be rebuilt under them.
    const prefix = join(tmp, "pre fix's");
    const r = await run('make', ['-s', '-o', 'build', 'install', `PREFIX=${prefix}`], { cwd: repo });
    expect(r.code, r.stderr).to.equal(0);
    const bin = join(prefix, 'bin');
    for (const c of ['orlojctl', 'orlojd']) {
      expect(statSync(join(bin, c)).mode & 0o111, `${c} is executable`).to.not.equal(0);
      expect(readFileSync(join(bin, c), 'utf8')).to.contain(join(repo, 'dist', 'cmd', '')).and.contain(c === 'orlojctl' ? 'orlojctl.cjs' : 'orlojd.js');
    }
    // From elsewhere, found on PATH, with no node on PATH: the scripts name the node that built them.
    const elsewhere = mkdtempSync(join(tmp, 'cwd-'));
    const env = { HOME: tmp, PATH: bin, ORLOJ_CONFIG: join(tmp, 'none.json') };
    const ctl = await run('orlojctl', ['version', '--client'], { cwd: elsewhere, env });
    expect(ctl.code, ctl.stderr).to.equal(0);
    expect(ctl.stdout).to.equal(`Client Version: ${VERSION}\n`);
    const d = await run('orlojd', ['--help'], { cwd: elsewhere, env });
    expect(d.code, d.stderr).to.equal(0);
    expect(d.stdout + d.stderr).to.contain('--listen');
    // Arguments reach the command as given, spaces and quotes included.
    const bad = await run('orlojctl', ['get', "no such 'kind'"], { cwd: elsewhere, env });
    expect(bad.stderr).to.contain(`resource type "no such 'kind'"`);

    const u = await run('make', ['-s', 'uninstall', `PREFIX=${prefix}`], { cwd: repo });
    expect(u.code, u.stderr).to.equal(0);
    expect(existsSync(join(bin, 'orlojctl')) || existsSync(join(bin, 'orlojd'))).to.equal(false);
  });

  it('make clean-data removes the data dir; make clean removes the build and keeps it', async () => {
    const data = join(tmp, 'data');
    mkdirSync(data);
    writeFileSync(join(data, 'admin-token'), 'x');
    // make clean would remove the dist/ these tests run from: its recipe is read, not run.
    const dry = await run('make', ['-n', 'clean', `DATA_DIR=${data}`], { cwd: repo });
    expect(dry.code, dry.stderr).to.equal(0);
    expect(dry.stdout).to.match(/rm -rf dist\b/);
    expect(dry.stdout).to.not.contain(data);
    expect(existsSync(join(data, 'admin-token'))).to.equal(true);

    const r = await run('make', ['-s', 'clean-data', `DATA_DIR=${data}`], { cwd: repo });
    expect(r.code, r.stderr).to.equal(0);
    expect(existsSync(data)).to.equal(false);
    // An empty DATA_DIR is refused rather than handed to rm.
    const empty = await run('make', ['-s', 'clean-data', 'DATA_DIR='], { cwd: repo });
    expect(empty.code).to.not.equal(0);
    expect(empty.stderr).to.contain('DATA_DIR is empty');
  });

  it('make run rebuilds only when a source, a source directory, tsconfig.json or the dependencies changed', async () => {
    // The Makefile in a tree of its own, with stamps instead of a real install and build:
    // `make -q build` answers whether a build would run.
    const files = ['cmd/a.ts', 'pkg/b.ts', 'pkg/sub/c.ts', 'test/t.ts', 'bench/x.ts', 'bench/results/old.json', 'tsconfig.json', 'package.json', 'package-lock.json'];
    copyFileSync(join(repo, 'Makefile'), join(tmp, 'Makefile'));
    for (const f of files) {
      mkdirSync(join(tmp, f, '..'), { recursive: true });
      writeFileSync(join(tmp, f), '{}\n');
    }
    mkdirSync(join(tmp, 'node_modules'));
    mkdirSync(join(tmp, 'dist'));
    writeFileSync(join(tmp, 'node_modules', '.install-stamp'), '');
    writeFileSync(join(tmp, 'dist', '.build-stamp'), '');
    const now = Date.now() / 1000;
    const at = (rel: string, t: number) => utimesSync(join(tmp, rel), t, t);
    const settle = () => {
      for (const f of [...files, 'cmd', 'pkg/sub', 'pkg', 'test', 'bench/results', 'bench']) at(f, now - 1000);
      at('node_modules/.install-stamp', now - 500);
      at('dist/.build-stamp', now - 100);
    };
    const upToDate = async (): Promise<boolean> => {
      const r = await run('make', ['-q', 'build'], { cwd: tmp });
      expect(r.code, r.stderr).to.be.oneOf([0, 1]);
      return r.code === 0;
    };

    settle();
    expect(await upToDate()).to.equal(true);
    const dry = await run('make', ['-n', 'run', `DATA_DIR=${join(tmp, 'data')}`], { cwd: tmp });
    expect(dry.stdout).to.contain('node dist/cmd/orlojd.js').and.not.contain('tsc');

    at('pkg/sub/c.ts', now);
    expect(await upToDate(), 'a source edited').to.equal(false);
    const build = await run('make', ['-n', 'run'], { cwd: tmp });
    expect(build.stdout).to.contain('rm -rf dist').and.contain('tsc -p tsconfig.json').and.contain('node dist/cmd/orlojd.js');
    settle();

    writeFileSync(join(tmp, 'bench', 'results', 'new.json'), '{}');
    expect(await upToDate(), 'bench results are no source').to.equal(true);

    unlinkSync(join(tmp, 'pkg', 'sub', 'c.ts'));
    files.splice(files.indexOf('pkg/sub/c.ts'), 1);
    expect(await upToDate(), 'a source removed').to.equal(false);
    settle();
    writeFileSync(join(tmp, 'test', 'new.ts'), '');
    expect(await upToDate(), 'a source added').to.equal(false);
    files.push('test/new.ts');
    settle();

    at('tsconfig.json', now);
    expect(await upToDate(), 'tsconfig.json changed').to.equal(false);
    settle();
    at('package-lock.json', now);
    expect(await upToDate(), 'the dependencies changed').to.equal(false);
    settle();
    expect(await upToDate()).to.equal(true);
  });
});

describe('orlojctl loads what a command needs', function () {
  this.timeout(30_000);

  /** The packages under node_modules a call loaded (ESM imports of them land in require.cache too). */
  async function packagesLoaded(args: string[], cwd = tmpdir()): Promise<string[]> {
    const dir = mkdtempSync(join(tmpdir(), 'orloj-loads-'));
    try {
      const hook = join(dir, 'hook.cjs');
      writeFileSync(hook, "process.on('exit', () => process.stderr.write('\\nLOADED ' + JSON.stringify(Object.keys(require.cache)) + '\\n'));\n");
      const r = await run(process.execPath, ['-r', hook, ORLOJCTL, ...args], { cwd, env: { ...process.env, ORLOJ_CONFIG: join(dir, 'none.json') } });
      const line = r.stderr.split('\n').find((l) => l.startsWith('LOADED '));
      expect(line, r.stderr).to.be.a('string');
      const paths = JSON.parse(line!.slice('LOADED '.length)) as string[];
      return [...new Set(paths.map((p) => /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(p)?.[1]).filter((p): p is string => !!p))].sort();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  it('version, get and --help load neither yaml nor ajv nor pino', async () => {
    const server = await deadServer();
    for (const args of [['version', '--client'], ['get', 'tasks', '--server', server], ['--help'], ['get', '--help']]) {
      const loaded = await packagesLoaded(args);
      for (const heavy of ['yaml', 'ajv', 'pino']) expect(loaded, args.join(' ')).to.not.include(heavy);
    }
  });

  it('apply loads yaml once it reads a manifest (the check above sees what is loaded)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'orloj-loads-'));
    try {
      writeFileSync(join(dir, 't.yaml'), 'apiVersion: orloj.dev/v1\nkind: Task\nmetadata: {name: t}\nspec: {mode: template, input: {}}\n');
      expect(await packagesLoaded(['apply', '-f', join(dir, 't.yaml'), '--server', await deadServer()])).to.include('yaml');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("the command table's names and summaries are those of the modules it loads", async () => {
    for (const entry of commands) {
      const c = await entry.load();
      expect({ name: c.name, summary: c.summary }, `pkg/cli/main.ts's entry "${entry.name}" (--help lists its summary without loading the module)`).to.deep.equal({
        name: entry.name,
        summary: entry.summary,
      });
    }
  });
});

describe('orlojctl runs from the code cache make build leaves', function () {
  this.timeout(30_000);
  let tmp: string;
  let launcher: string;
  let bundle: string;
  beforeEach(() => {
    // A copy of the launcher and its bundle, beside this checkout's dependencies.
    tmp = mkdtempSync(join(tmpdir(), 'orloj-launcher-'));
    symlinkSync(join(repo, 'node_modules'), join(tmp, 'node_modules'));
    launcher = join(tmp, 'cmd', 'orlojctl.cjs');
    mkdirSync(dirname(launcher));
    copyFileSync(ORLOJCTL, launcher);
    cpSync(join(dirname(ORLOJCTL), 'orlojctl'), join(tmp, 'cmd', 'orlojctl'), { recursive: true });
    bundle = join(tmp, 'cmd', 'orlojctl', 'cli.cjs');
  });
  afterEach(() => rmSync(tmp, { recursive: true, force: true }));

  /** Whether V8 takes this copy's cache. */
  async function fromCache(): Promise<boolean> {
    const r = await run(process.execPath, ['-e', `process.stdout.write(String(require(${JSON.stringify(launcher)}).load().fromCache))`]);
    expect(r.code, r.stderr).to.equal(0);
    return r.stdout === 'true';
  }
  const version = () => run(process.execPath, [launcher, 'version', '--client'], { env: { ...process.env, ORLOJ_CONFIG: join(tmp, 'none.json') } });

  it("this node takes the build's cache", async () => {
    expect(await fromCache()).to.equal(true);
    const r = await version();
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout).to.equal(`Client Version: ${VERSION}\n`);
  });

  it('a bundle changed after its cache was made runs as changed, compiled afresh', async () => {
    // Same length as before: V8's own check, by length, would take the stale cache.
    const text = readFileSync(bundle, 'utf8');
    writeFileSync(bundle, text.replace(`"${VERSION}"`, `"${'9'.repeat(VERSION.length)}"`));
    expect(readFileSync(bundle).length).to.equal(Buffer.byteLength(text));
    expect(await fromCache()).to.equal(false);
    expect((await version()).stdout).to.equal(`Client Version: ${'9'.repeat(VERSION.length)}\n`);
  });

  it('a damaged cache is refused and the command still runs', async () => {
    const cache = `${bundle}.cache`;
    writeFileSync(cache, Buffer.concat([readFileSync(bundle), Buffer.alloc(4096, 0x5a)]));
    expect(await fromCache()).to.equal(false);
    expect((await version()).code).to.equal(0);
    unlinkSync(cache);
    expect(await fromCache()).to.equal(false);
    expect((await version()).code).to.equal(0);
  });

  it('a missing bundle is one line of error, not a stack trace', async () => {
    unlinkSync(bundle);
    const r = await version();
    expect(r.code).to.equal(1);
    expect(r.stderr).to.match(/^error: orlojctl failed to load: ENOENT[^\n]*\n$/);
  });
});
