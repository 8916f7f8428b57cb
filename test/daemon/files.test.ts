import { expect } from 'chai';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Orlojd } from '../helpers/orlojd.js';
import { refusedStart } from '../helpers/refusal.js';

const modeOf = (path: string): number => statSync(path).mode & 0o777;
/** Each entry of the data dir (and the dir itself, as '.') with its mode. */
const modes = (dir: string): Record<string, number> =>
  Object.fromEntries([['.', modeOf(dir)], ...readdirSync(dir).map((n) => [n, modeOf(join(dir, n))])]);

describe('orlojd: files in the data dir', function () {
  let d: Orlojd;
  before(async () => {
    d = await Orlojd.start();
  });
  after(async () => d.destroy());

  it('makes the data dir 0700 and every file in it 0600, the WAL and shared memory of the database included', async () => {
    await d.api('PUT', '/v1/tasks/t', { kind: 'Task', metadata: { name: 't' }, spec: {} });
    const seen = modes(d.dataDir);
    expect(Object.keys(seen)).to.include.members(['orloj.db', 'orloj.db-wal', 'orloj.db-shm', 'encryption.key', 'admin-token', 'orlojd.lock']);
    expect(seen).to.deep.equal({ ...Object.fromEntries(Object.keys(seen).map((n) => [n, 0o600])), '.': 0o700 });
  });

  it('tightens looser modes at start, saying so in its log', async () => {
    await d.stop();
    chmodSync(d.dataDir, 0o755);
    for (const f of ['orloj.db', 'admin-token', 'encryption.key']) chmodSync(join(d.dataDir, f), 0o644);
    const mark = d.logs.length;
    await d.restart();
    const seen = modes(d.dataDir);
    expect(seen).to.deep.include({ '.': 0o700, 'orloj.db': 0o600, 'admin-token': 0o600, 'encryption.key': 0o600 });
    const tightened = d.logs.slice(mark).split('\n').filter((l) => l.includes('tightened a data dir mode'));
    expect(tightened).to.have.length(4);
    expect(tightened.join('\n')).to.include(`"path":"${join(d.dataDir, 'admin-token')}","from":"0644","to":"0600"`);
  });

  it('leaves a client config the user edited alone on a later start', async () => {
    const edited = `${JSON.stringify({ ...JSON.parse(readFileSync(d.configPath, 'utf8')), namespace: 'team-a' })}\n`;
    writeFileSync(d.configPath, edited);
    const { mtimeMs } = statSync(d.configPath);
    await d.restart();
    expect(readFileSync(d.configPath, 'utf8')).to.equal(edited);
    expect(statSync(d.configPath).mtimeMs).to.equal(mtimeMs);
    expect(modeOf(d.configPath)).to.equal(0o600);
  });
});

describe('orlojd: files it cannot trust', function () {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'orloj-files-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('creates the admin token exclusively: a link planted in its place is refused, never written through', () => {
    const data = join(dir, 'data');
    mkdirSync(data, { mode: 0o700 });
    symlinkSync(join(dir, 'stolen'), join(data, 'admin-token'));
    const out = refusedStart(data);
    expect(out).to.include(`orlojd: ${join(data, 'admin-token')} is a symbolic link, not the file orlojd wrote: remove it`);
    expect(existsSync(join(dir, 'stolen'))).to.equal(false);
  });

  it('refuses to start when a mode cannot be tightened (a file of another user)', function () {
    // Only root can hand a file to another user; orlojd then runs as that other user.
    if (process.getuid?.() !== 0) this.skip();
    const nobody = 65534;
    chmodSync(dir, 0o755);
    const data = join(dir, 'data');
    mkdirSync(data, { mode: 0o700 });
    chownSync(data, nobody, nobody);
    writeFileSync(join(data, 'stray'), 'x', { mode: 0o644 });
    const out = refusedStart(data, { uid: nobody, gid: nobody, args: ['--api-tokens', 'nobody-token:admin'] });
    expect(out).to.include(`orlojd: ${join(data, 'stray')} is open to other users (mode 0644) and orlojd cannot make it 0600 (EPERM): chmod it, or run orlojd as its owner`);
  });
});
