import { expect } from 'chai';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Orlojd } from '../helpers/orlojd.js';
import { refusedStart } from '../helpers/refusal.js';

const TOKENS = `# orlojd API tokens
reader-file-token:reader
writer-file-token:writer   # CI
admin-file-token-1:admin,admin-file-token-2:admin
`;

describe('orlojd --api-tokens-file', function () {
  let dir: string;
  let file: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'orloj-tokens-'));
    file = join(dir, 'tokens');
    writeFileSync(file, TOKENS, { mode: 0o600 });
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const status = async (d: Orlojd, token: string, method = 'GET', path = '/v1/tasks') => {
    d.token = token;
    return (await d.api(method, path, method === 'PUT' ? { kind: 'Task', metadata: { name: 't' }, spec: {} } : undefined)).status;
  };

  for (const how of ['flag', 'environment'] as const) {
    it(`takes tokens one per line, with comments and commas, from the ${how}, keeping them out of the command line`, async () => {
      const opts = how === 'flag' ? { args: ['--api-tokens-file', file] } : { env: { ORLOJ_API_TOKENS_FILE: file } };
      const d = await Orlojd.start(opts);
      try {
        expect(await status(d, 'reader-file-token')).to.equal(200);
        expect(await status(d, 'reader-file-token', 'PUT', '/v1/tasks/t')).to.equal(403);
        expect(await status(d, 'writer-file-token', 'PUT', '/v1/tasks/t')).to.be.oneOf([200, 201]);
        expect(await status(d, 'admin-file-token-2', 'GET', '/v1/secrets')).to.equal(200);
        expect(await status(d, 'not-in-the-file')).to.equal(401);
        expect(existsSync(join(d.dataDir, 'admin-token'))).to.equal(false);
        expect(d.proc.spawnargs.join(' ') + d.logs).not.to.include('file-token');
      } finally {
        await d.destroy();
      }
    });
  }

  it('refuses --api-tokens together with --api-tokens-file, and a file it cannot use', () => {
    const data = join(dir, 'data');
    const both = refusedStart(data, { args: ['--api-tokens', 'flag-token-1:admin'], env: { ORLOJ_API_TOKENS_FILE: file } }, true);
    expect(both).to.include('give --api-tokens (ORLOJ_API_TOKENS) or --api-tokens-file (ORLOJ_API_TOKENS_FILE), not both');
    const missing = refusedStart(data, { args: ['--api-tokens-file', join(dir, 'absent')] });
    expect(missing).to.include(`orlojd: cannot read the API tokens file ${join(dir, 'absent')}: ENOENT`);
    const empty = join(dir, 'empty');
    writeFileSync(empty, '# nothing yet\n');
    expect(refusedStart(data, { args: ['--api-tokens-file', empty] })).to.include(`orlojd: the API tokens file ${empty} holds no token`);
    writeFileSync(empty, 'short:admin\n');
    expect(refusedStart(data, { args: ['--api-tokens-file', empty] })).to.include(`orlojd: API tokens must be at least 8 characters (in ${empty})`);
  });
});
