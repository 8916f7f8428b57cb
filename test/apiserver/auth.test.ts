import { expect } from 'chai';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Orlojd } from '../helpers/orlojd.js';

describe('API server: tokens and roles', function () {
  let d: Orlojd;
  before(async () => {
    d = await Orlojd.start({ args: ['--api-tokens', 'reader-token-1:reader,writer-token-1:writer,admin-token-1:admin'] });
  });
  after(async () => d.destroy());

  const call = (token: string | undefined, method: string, path: string, body?: unknown) =>
    fetch(d.url + path, {
      method,
      headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });

  it('answers 401 without a token or with a wrong one, in the Status shape, without echoing it', async () => {
    const none = await call(undefined, 'GET', '/v1/tasks');
    expect(none.status).to.equal(401);
    expect(await none.json()).to.include({ kind: 'Status', reason: 'Unauthorized', code: 401 });
    const wrong = await call('not-a-real-token', 'GET', '/v1/tasks');
    expect(wrong.status).to.equal(401);
    expect(await wrong.text()).not.to.include('not-a-real-token');
  });

  it('lets readers read but not write (403), writers write, and only admins reveal secrets', async () => {
    expect((await call('reader-token-1', 'GET', '/v1/tasks')).status).to.equal(200);
    const task = { kind: 'Task', metadata: { name: 't1' }, spec: {} };
    const denied = await call('reader-token-1', 'PUT', '/v1/tasks/t1', task);
    expect(denied.status).to.equal(403);
    expect((await denied.json()).reason).to.equal('Forbidden');
    expect((await call('writer-token-1', 'PUT', '/v1/tasks/t1', task)).status).to.equal(201);
    const s = { kind: 'Secret', metadata: { name: 's' }, spec: { stringData: { k: 'hush-hush' } } };
    expect((await call('writer-token-1', 'PUT', '/v1/secrets/s', s)).status).to.equal(201);
    const asWriter = await (await call('writer-token-1', 'GET', '/v1/secrets/s?reveal=true')).text();
    expect(asWriter).not.to.include(Buffer.from('hush-hush').toString('base64'));
    const asAdmin = await (await call('admin-token-1', 'GET', '/v1/secrets/s?reveal=true')).json();
    expect(Buffer.from(asAdmin.spec.data.k, 'base64').toString()).to.equal('hush-hush');
  });

  it('never logs secret values or tokens', async () => {
    expect(d.logs).not.to.include('hush-hush');
    expect(d.logs).not.to.include('admin-token-1');
  });
});

describe('API server: first start without tokens', function () {
  let d: Orlojd;
  before(async () => {
    d = await Orlojd.start();
  });
  after(async () => d.destroy());

  it('generates an admin token and writes an owner-only client config for orlojctl', async () => {
    const file = JSON.parse(readFileSync(d.configPath, 'utf8'));
    expect(file.currentContext).to.equal('default');
    const cfg = file.contexts.default;
    expect(cfg.server).to.equal(d.url);
    expect(cfg.token).to.equal(d.token).and.match(/^orloj_/);
    expect(statSync(d.configPath).mode & 0o077).to.equal(0);
    const res = await fetch(`${d.url}/v1/tasks`, { headers: { authorization: `Bearer ${cfg.token}` } });
    expect(res.status).to.equal(200);
  });

  it('keeps the same token across restarts', async () => {
    const before = d.token;
    await d.restart();
    expect(d.token).to.equal(before);
    expect((await d.api('GET', '/v1/tasks')).status).to.equal(200);
  });
});

describe('orlojd and an existing client config', function () {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'orloj-cfg-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  async function freePort(): Promise<number> {
    const s = createServer();
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
    const { port } = s.address() as { port: number };
    await new Promise((r) => s.close(r));
    return port;
  }

  it('leaves a config that points at another server alone, tightening it to 0600', async () => {
    const path = join(dir, 'config.json');
    const theirs = { server: 'https://orloj.example.com', token: 'their-token', namespace: 'team-a' };
    writeFileSync(path, JSON.stringify(theirs), { mode: 0o644 });
    const d = await Orlojd.start({ env: { ORLOJ_CONFIG: path } });
    try {
      expect(JSON.parse(readFileSync(path, 'utf8'))).to.deep.equal(theirs);
      expect(statSync(path).mode & 0o777).to.equal(0o600);
      expect(d.logs).to.include('points at another server');
    } finally {
      await d.destroy();
    }
  });

  it('refreshes the token of a config that points at this server, keeping its other settings', async () => {
    const path = join(dir, 'config.json');
    const port = await freePort();
    writeFileSync(path, JSON.stringify({ server: `http://127.0.0.1:${port}`, token: 'stale', namespace: 'team-a' }), { mode: 0o600 });
    const d = await Orlojd.start({ env: { ORLOJ_CONFIG: path }, port });
    try {
      const cfg = JSON.parse(readFileSync(path, 'utf8'));
      expect(cfg).to.deep.equal({ server: `http://127.0.0.1:${port}`, token: d.token, namespace: 'team-a' });
    } finally {
      await d.destroy();
    }
  });
});
