import { expect } from 'chai';
import { join } from 'node:path';
import { VERSION } from '../../pkg/version.js';
import { Orlojd } from '../helpers/orlojd.js';
import { ctl, deadServer, namespaces, tree } from './ctl.js';

interface SecretObj {
  spec: { data: Record<string, string> };
}

describe('orlojctl create secret, version, help', function () {
  this.timeout(60_000);
  let d: Orlojd;
  before(async () => {
    d = await Orlojd.start();
    await namespaces(d, 's');
  });
  after(async () => d?.destroy());

  it('create secret generic stores literals and files', async () => {
    const dir = tree({ 'key.pem': 'file-value' });
    const r = await ctl(d, ['create', 'secret', 'generic', 'sig', '-n', 's', '--from-literal', 'a=b=c', '--from-literal=x=y', '--from-file', `pem=${join(dir, 'key.pem')}`]);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout).to.equal('secret/sig created\n');
    const got = await d.api<SecretObj>('GET', '/v1/secrets/sig?namespace=s&reveal=true');
    const decoded = Object.fromEntries(Object.entries(got.body.spec.data).map(([k, v]) => [k, Buffer.from(v, 'base64').toString()]));
    expect(decoded).to.deep.equal({ a: 'b=c', x: 'y', pem: 'file-value' });
    // Values never come back in plain reads.
    const plain = await ctl(d, ['get', 'secret', 'sig', '-n', 's', '-o', 'yaml']);
    expect(plain.stdout).to.contain('<redacted>').and.not.to.contain('file-value');
  });

  it('create secret refuses an existing Secret, as kubectl does, and leaves it as it was', async () => {
    expect((await ctl(d, ['create', 'secret', 'generic', 'rot', '-n', 's', '--from-literal', 'old=1', '--from-literal', 'new=2'])).code).to.equal(0);
    const again = await ctl(d, ['create', 'secret', 'generic', 'rot', '-n', 's', '--from-literal', 'new=2']);
    expect(again.code).to.equal(1);
    expect(again.stderr).to.match(/AlreadyExists/);
    const got = await d.api<SecretObj>('GET', '/v1/secrets/rot?namespace=s&reveal=true');
    expect(Object.keys(got.body.spec.data).sort()).to.deep.equal(['new', 'old']);
  });

  it('takes --server without a scheme as http, and says when the client config is not valid JSON', async () => {
    const hostPort = d.url.replace(/^http:\/\//, '');
    const r = await ctl(d, ['get', 'tasks', '--server', hostPort, '--token', d.token], { env: { ORLOJ_CONFIG: join(tree({ 'c.json': '{not json' }), 'c.json') } });
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stderr).to.match(/warning: ignoring the client config .*c\.json: it is not valid JSON/);
  });

  it('create secret --dry-run writes nothing; bad input is a usage error', async () => {
    const r = await ctl(d, ['create', 'secret', 'generic', 'dry', '--from-literal', 'k=v', '--dry-run']);
    expect(r.stdout).to.equal('secret/dry created (dry run)\n');
    expect((await d.api('GET', '/v1/secrets/dry')).status).to.equal(404);
    const bad = await ctl(d, ['create', 'secret', 'generic', 'x', '--from-literal', 'novalue']);
    expect(bad.code).to.equal(2);
    expect(bad.stderr).to.contain('must be KEY=VALUE');
  });

  it('version prints client and server versions; unreachable server exits 1 unless --client', async () => {
    const r = await ctl(d, ['version']);
    expect(r.code).to.equal(0);
    expect(r.stdout).to.equal(`Client Version: ${VERSION}\nServer Version: ${VERSION}\n`);
    const url = await deadServer();
    const down = await ctl(d, ['version', '--server', url]);
    expect(down.code).to.equal(1);
    expect(down.stdout).to.contain('Server Version: unreachable');
    expect(down.stderr).to.contain('connection refused (is orlojd running?)');
    const client = await ctl(d, ['--server', url, 'version', '--client']);
    expect(client.code).to.equal(0);
    expect(client.stdout).to.equal(`Client Version: ${VERSION}\n`);
  });

  it('--help lists the commands; a command --help shows its usage; bad usage exits 2', async () => {
    const top = await ctl(d, ['--help']);
    expect(top.code).to.equal(0);
    for (const c of ['apply', 'get', 'describe', 'delete', 'diff', 'wait', 'create', 'version']) expect(top.stdout).to.match(new RegExp(`^  ${c}\\s`, 'm'));
    const get = await ctl(d, ['get', '--help']);
    expect(get.stdout).to.contain('orlojctl get KIND [NAME...]').and.contain('--output');
    const unknown = await ctl(d, ['frobnicate']);
    expect(unknown.code).to.equal(2);
    expect(unknown.stderr).to.contain('unknown command "frobnicate"');
    const flag = await ctl(d, ['get', 'tasks', '--bogus']);
    expect(flag.code).to.equal(2);
    expect(flag.stderr).to.contain('unknown flag: --bogus');
  });
});
