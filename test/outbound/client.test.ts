import { expect } from 'chai';
import { lookup } from 'node:dns/promises';
import { once } from 'node:events';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { OutboundClient, OutboundError, origin, type OutboundErrorReason, type OutboundRequest } from '../../pkg/outbound/client.js';
import { DestinationGuard } from '../../pkg/outbound/guard.js';
import { VERSION } from '../../pkg/version.js';

interface Seen { method: string; url: string; headers: IncomingMessage['headers']; body: Buffer }

/** A local server on a random loopback port that counts what reaches it. */
class TestServer {
  readonly seen: Seen[] = [];
  readonly sockets: Socket[] = [];
  private readonly closed: Promise<unknown>[] = [];

  private constructor(private readonly server: Server) {
    server.on('connection', (s: Socket) => {
      this.sockets.push(s);
      // Not once(): it would reject on the reset a client that stops reading causes.
      this.closed.push(new Promise((resolve) => s.once('close', resolve)));
    });
  }

  static async start(handler: (req: IncomingMessage, res: ServerResponse) => void, host = '127.0.0.1'): Promise<TestServer> {
    const server = createServer();
    const ts = new TestServer(server);
    server.on('request', (req: IncomingMessage, res: ServerResponse) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        ts.seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks) });
        handler(req, res);
      });
    });
    server.listen(0, host);
    await once(server, 'listening');
    return ts;
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  url(path = '/', host = '127.0.0.1'): string {
    return `http://${host}:${this.port}${path}`;
  }

  /** Resolves once every connection this server accepted is closed; rejects after `ms`. */
  async allClosed(ms = 5000): Promise<void> {
    await within(Promise.all(this.closed), ms, 'the server still holds a connection');
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    this.server.close();
    await once(this.server, 'close');
  }
}

async function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what} after ${ms} ms`)), ms)));
  try {
    return await Promise.race([p, late]);
  } finally {
    clearTimeout(timer);
  }
}

async function refusal(p: Promise<unknown>, reason: OutboundErrorReason): Promise<OutboundError> {
  try {
    await p;
  } catch (err) {
    expect(err).to.be.instanceOf(OutboundError);
    const e = err as OutboundError;
    expect(e.reason, e.message).to.equal(reason);
    return e;
  }
  throw new Error(`expected ${reason}, got a response`);
}

const SECRET = 'Sekr1t-token-9f3a';
const get = (url: string, extra: Partial<OutboundRequest> = {}): OutboundRequest => ({ url, method: 'GET', headers: {}, timeoutMs: 5000, ...extra });
const withSecrets = (url: string, extra: Partial<OutboundRequest> = {}): OutboundRequest =>
  get(`${url}?token=${SECRET}`, { method: 'POST', headers: { Authorization: `Bearer ${SECRET}` }, body: Buffer.from(`{"secret":"${SECRET}"}`), ...extra });

describe('outbound client', () => {
  const loopback = new DestinationGuard(['127.0.0.0/8']);
  const servers: TestServer[] = [];
  const clients: OutboundClient[] = [];
  const serve = async (handler: (req: IncomingMessage, res: ServerResponse) => void, host?: string) => {
    const s = await TestServer.start(handler, host);
    servers.push(s);
    return s;
  };
  const client = (guard = loopback, userAgent?: string) => {
    const c = new OutboundClient({ guard, userAgent });
    clients.push(c);
    return c;
  };
  const ok = (_req: IncomingMessage, res: ServerResponse) => res.end('ok');

  afterEach(async () => {
    for (const c of clients.splice(0)) c.close();
    await Promise.all(servers.splice(0).map((s) => s.stop()));
  });

  it('sends method, path, headers and body, and returns status, headers and body', async () => {
    const s = await serve((_req, res) => res.writeHead(201, { 'x-answer': '42', 'set-cookie': ['a=1', 'b=2'] }).end('created'));
    const res = await client().send({
      url: s.url('/hooks/in?x=1&y=2'), method: 'POST', headers: { 'Content-Type': 'application/json', 'X-Custom': 'v' },
      body: Buffer.from('{"a":1}'), timeoutMs: 5000,
    });
    expect(res.status).to.equal(201);
    expect(res.headers['x-answer']).to.equal('42');
    expect(res.headers['set-cookie']).to.deep.equal(['a=1', 'b=2']);
    expect(res.body.toString()).to.equal('created');
    expect(res.durationMs).to.be.a('number').that.is.at.least(0);
    const [seen] = s.seen;
    expect(seen).to.include({ method: 'POST', url: '/hooks/in?x=1&y=2' });
    expect(seen!.body.toString()).to.equal('{"a":1}');
    expect(seen!.headers).to.include({ host: `127.0.0.1:${s.port}`, 'content-type': 'application/json', 'x-custom': 'v', 'content-length': '7', 'user-agent': `orloj/${VERSION}` });
  });

  it('sends the configured user agent, or the request\'s own', async () => {
    const s = await serve(ok);
    await client(loopback, 'orloj-test/1').send(get(s.url()));
    await client(loopback, 'orloj-test/1').send(get(s.url(), { headers: { 'user-agent': 'mine/2' } }));
    expect(s.seen.map((r) => r.headers['user-agent'])).to.deep.equal(['orloj-test/1', 'mine/2']);
  });

  it('returns a response whatever its status', async () => {
    const s = await serve((req, res) => res.writeHead(Number(req.url?.slice(1))).end(`status ${req.url}`));
    const c = client();
    for (const status of [200, 204, 400, 404, 429, 500, 503]) {
      const res = await c.send(get(s.url(`/${status}`)));
      expect(res.status).to.equal(status);
      expect(res.body.toString()).to.equal(status === 204 ? '' : `status /${status}`);
    }
  });

  it('refuses localhost without an allow-list, and nothing reaches the server', async () => {
    const s = await serve(ok);
    const e = await refusal(client(new DestinationGuard([])).send(withSecrets(s.url('/', 'localhost'))), 'DestinationNotAllowed');
    expect(e.message).to.match(/^http:\/\/localhost:\d+: localhost resolves to 127\.0\.0\.1; 127\.0\.0\.1 is a loopback address/);
    expect(e.message).not.to.include(SECRET);
    // A request that is let through arrives, and is the only one there ever was.
    await client().send(get(s.url()));
    expect(s.seen).to.have.length(1);
    expect(s.sockets).to.have.length(1);
  });

  it('refuses IP-literal hosts directly, in every spelling the URL parser knows', async () => {
    const s = await serve(ok);
    const c = client(new DestinationGuard([]));
    for (const host of ['127.0.0.1', '[::1]', '[::ffff:127.0.0.1]', '2130706433', '0x7f.0.0.1', '0']) {
      const e = await refusal(c.send(get(s.url('/', host))), 'DestinationNotAllowed');
      expect(e.message, host).to.match(/is an? (loopback|unspecified) address/);
    }
    await client().send(get(s.url()));
    expect(s.seen).to.have.length(1);
    expect(s.sockets).to.have.length(1);
  });

  it('lets an allowed range through, by IP literal and by hostname', async () => {
    const s = await serve(ok);
    expect((await client().send(get(s.url()))).status).to.equal(200);
    const both = client(new DestinationGuard(['127.0.0.0/8', '::1/128']));
    expect((await both.send(get(s.url('/', 'localhost')))).status).to.equal(200);
    // Host (and, for https, SNI) names the hostname, not the address connected to.
    expect(s.seen[1]?.headers.host).to.equal(`localhost:${s.port}`);
  });

  it('refuses a hostname when any of its addresses is refused (skipped where localhost has no IPv6 address)', async function () {
    const addresses = await lookup('localhost', { all: true });
    if (!addresses.some((a) => a.family === 6)) this.skip(); // here localhost is only 127.0.0.1
    const s = await serve(ok);
    const e = await refusal(client().send(get(s.url('/', 'localhost'))), 'DestinationNotAllowed');
    expect(e.message).to.include('::1');
    expect(s.seen).to.have.length(0);
  });

  it('connects over IPv6 to an allowed address', async () => {
    const s = await serve(ok, '::1');
    const res = await client(new DestinationGuard(['::1/128'])).send(get(`http://[::1]:${s.port}/`));
    expect(res.status).to.equal(200);
    expect(s.seen[0]?.headers.host).to.equal(`[::1]:${s.port}`);
  });

  it('speaks TLS to the hostname (SNI) and still checks the certificate (skipped where openssl is not installed)', async function () {
    if (spawnSync('sh', ['-c', 'command -v openssl']).status !== 0) this.skip();
    const dir = mkdtempSync(join(tmpdir(), 'orloj-tls-'));
    try {
      const made = spawnSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
        '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')]);
      expect(made.status, made.stderr.toString()).to.equal(0);
      const names: string[] = [];
      let requests = 0;
      const server = createTlsServer({
        key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(join(dir, 'cert.pem')),
        SNICallback: (name, cb) => { names.push(name); cb(null); },
      }, (_req, res) => { requests++; res.end('ok'); });
      server.listen(0, '127.0.0.1');
      await once(server, 'listening');
      try {
        const port = (server.address() as AddressInfo).port;
        // The certificate is self-signed: a client that skipped verification would get an answer.
        const e = await refusal(client(new DestinationGuard(['127.0.0.0/8', '::1/128'])).send(withSecrets(`https://localhost:${port}/`)), 'ConnectionError');
        expect(e.message).to.equal(`https://localhost:${port}: DEPTH_ZERO_SELF_SIGNED_CERT`);
        expect(names).to.deep.equal(['localhost']);
        expect(requests).to.equal(0);
      } finally {
        server.closeAllConnections();
        server.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('times out against a server that never answers, and drops the connection', async () => {
    const s = await serve(() => undefined);
    const t0 = performance.now();
    const e = await refusal(client().send(withSecrets(s.url(), { timeoutMs: 300 })), 'Timeout');
    const took = performance.now() - t0;
    expect(took).to.be.at.least(290).and.below(5000);
    expect(e.message).to.equal(`http://127.0.0.1:${s.port}: no complete response within 300 ms`);
    await s.allClosed();
  });

  it('times out when the response head comes but its body never ends', async () => {
    const s = await serve((_req, res) => {
      res.writeHead(200, { 'content-length': '100' });
      res.write('partial');
    });
    const t0 = performance.now();
    await refusal(client().send(get(s.url(), { timeoutMs: 300 })), 'Timeout');
    expect(performance.now() - t0).to.be.at.least(290);
    await s.allClosed();
  });

  it('reads at most maxResponseBytes of a 1 MiB response, then lets the connection go', async () => {
    const mib = Buffer.alloc(1024 * 1024);
    for (let i = 0; i < mib.length; i++) mib[i] = i % 251;
    const s = await serve((_req, res) => res.end(mib));
    const c = client();
    const capped = await c.send(get(s.url()));
    expect(capped.status).to.equal(200);
    expect(capped.body.length).to.equal(64 * 1024);
    expect(capped.body.equals(mib.subarray(0, 64 * 1024))).to.equal(true);
    await s.allClosed();
    expect((await c.send(get(s.url(), { maxResponseBytes: 1000 }))).body.equals(mib.subarray(0, 1000))).to.equal(true);
    expect((await c.send(get(s.url(), { maxResponseBytes: 0 }))).body.length).to.equal(0);
    expect((await c.send(get(s.url(), { maxResponseBytes: mib.length }))).body.equals(mib)).to.equal(true);
  });

  it('returns a 302 and does not follow it', async () => {
    const target = await serve(ok);
    const s = await serve((_req, res) => res.writeHead(302, { location: target.url('/elsewhere') }).end());
    const c = client();
    const res = await c.send(get(s.url()));
    expect(res.status).to.equal(302);
    expect(res.headers.location).to.equal(target.url('/elsewhere'));
    expect(target.seen).to.have.length(0);
    expect(target.sockets).to.have.length(0);
    // The target counts what does reach it.
    await c.send(get(target.url('/direct')));
    expect(target.seen.map((r) => r.url)).to.deep.equal(['/direct']);
  });

  it('reports a refused connection as ConnectionError', async () => {
    const s = await serve(ok);
    const url = s.url();
    await s.stop();
    servers.splice(servers.indexOf(s), 1);
    const e = await refusal(client().send(withSecrets(url)), 'ConnectionError');
    expect(e.message).to.equal(`${origin(url)}: ECONNREFUSED`);
  });

  it('reports a connection cut mid-response as ConnectionError', async () => {
    const s = await serve((_req, res) => {
      res.writeHead(200, { 'content-length': '100' });
      res.write('partial', () => res.socket?.destroy());
    });
    const e = await refusal(client().send(get(s.url())), 'ConnectionError');
    expect(e.message).to.match(/^http:\/\/127\.0\.0\.1:\d+: /);
  });

  it('reuses one connection for sequential sends to one destination', async () => {
    const s = await serve(ok);
    const c = client();
    await c.send(get(s.url('/1')));
    await c.send(get(s.url('/2'), { method: 'POST', body: Buffer.from('x') }));
    expect(s.seen.map((r) => r.url)).to.deep.equal(['/1', '/2']);
    expect(s.sockets).to.have.length(1);
  });

  it('refuses what is not an http(s) URL as InvalidURL', async () => {
    const c = client();
    for (const url of ['not a url', '', '/relative', 'ftp://127.0.0.1/', 'file:///etc/passwd', 'javascript:alert(1)', 'http://', 'http://[::1/']) {
      const e = await refusal(c.send(get(url)), 'InvalidURL');
      expect(e.message, url).to.be.a('string').that.is.not.empty;
    }
    const e = await refusal(c.send(get(`http://user:${SECRET}@127.0.0.1/`)), 'InvalidURL');
    expect(e.message).to.equal('http://127.0.0.1:80: credentials in the URL are not supported');
  });

  it('refuses a malformed request before anything is sent, without repeating the value', async () => {
    const s = await serve(ok);
    const c = client();
    const bad: Array<Partial<OutboundRequest>> = [
      { headers: { 'X-Token': `${SECRET}\r\nX-Injected: 1` } },
      { headers: { 'Bad Name': 'v' } },
      { method: 'GE T' },
      { method: '' },
      { timeoutMs: 0 },
      { timeoutMs: Number.NaN },
      { maxResponseBytes: -1 },
    ];
    for (const extra of bad) {
      const e = await refusal(c.send(get(s.url(), extra)), 'InvalidRequest');
      expect(e.message).not.to.include(SECRET);
    }
    await c.send(get(s.url()));
    expect(s.seen).to.have.length(1);
  });

  it('drops its connections on close and refuses to send after', async () => {
    const s = await serve(ok);
    const c = client();
    await c.send(get(s.url()));
    c.close();
    await s.allClosed();
    await refusal(c.send(get(s.url())), 'ConnectionError');
    expect(s.seen).to.have.length(1);
  });

  it('gives each URL its origin, default ports filled in', () => {
    expect(origin('https://Hooks.Example.com/a?b=c')).to.equal('https://hooks.example.com:443');
    expect(origin('http://example.com')).to.equal('http://example.com:80');
    expect(origin('http://example.com:80/x')).to.equal('http://example.com:80');
    expect(origin('https://example.com:8443/x')).to.equal('https://example.com:8443');
    expect(origin('http://[::1]:8080/')).to.equal('http://[::1]:8080');
    expect(origin('http://2130706433/')).to.equal('http://127.0.0.1:80');
    expect(() => origin('ftp://example.com/')).to.throw(OutboundError, 'scheme ftp:');
    expect(() => origin('nope')).to.throw(OutboundError, 'not a valid URL');
  });
});
