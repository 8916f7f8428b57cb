// orlojd's log lines about outcomes and shutdown, read from a real orlojd's output: one info
// line per delivery and trigger attempt outcome (never a secret), held back per object past
// a rate with a later line saying how many, a line at shutdown, and pino-pretty's format.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { eventually, ORLOJD, Orlojd } from '../helpers/orlojd.js';
import { put, readyWebhook, resource } from '../helpers/fixtures.js';
import { post, send } from '../helpers/deliveries.js';
import { refusedStart } from '../helpers/refusal.js';
import { ALLOW_LOOPBACK, Destination, readyTrigger, writeDoc } from '../trigger/helpers.js';

type Line = Record<string, unknown> & { msg: string; level: number };

/** orlojd's JSON log lines so far (a line still being written is left out). */
function lines(d: Orlojd): Line[] {
  return d.logs.split('\n').filter((l) => l.startsWith('{') && l.endsWith('}')).map((l) => JSON.parse(l) as Line);
}

const deliveryLines = (d: Orlojd, name: string) => lines(d).filter((l) => l.name === name && String(l.msg).startsWith('delivery '));

/** Posts `n` deliveries with a forged signature to `path`, 16 at a time. */
async function forged(d: Orlojd, path: string, n: number): Promise<void> {
  const agent = new Agent({ keepAlive: true, maxSockets: 16 });
  const one = (i: number) =>
    new Promise<void>((resolve, reject) => {
      const body = `{"i":${i}}`;
      const headers = { 'content-type': 'application/json', 'content-length': String(body.length), 'x-timestamp': String(Math.floor(Date.now() / 1000)), 'x-signature': `sha256=${'0'.repeat(64)}`, 'x-event-id': `f-${i}` };
      const req = request({ host: '127.0.0.1', port: d.port, path, method: 'POST', agent, headers }, (res) => {
        res.resume();
        res.once('end', () => (res.statusCode === 401 ? resolve() : reject(new Error(`answered ${res.statusCode}`))));
      });
      req.once('error', reject);
      req.end(body);
    });
  let next = 0;
  await Promise.all(Array.from({ length: 16 }, async () => {
    while (next < n) await one(next++);
  }));
  agent.destroy();
}

async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  const { port } = srv.address() as AddressInfo;
  await new Promise((r) => srv.close(r));
  return port;
}

/** An orlojd started by hand (the shared helper reads its JSON start line): its output, and a way to stop it. */
async function startRaw(args: string[]): Promise<{ proc: ChildProcess; url: string; output: () => string; stop: () => Promise<void> }> {
  const dir = mkdtempSync(join(tmpdir(), 'orloj-logs-'));
  const port = await freePort();
  const env: NodeJS.ProcessEnv = { ...process.env, ORLOJ_CONFIG: join(dir, 'config.json') };
  delete env.ORLOJ_LOG_LEVEL;
  delete env.ORLOJ_LOG_FORMAT;
  const proc = spawn(process.execPath, [ORLOJD, '--listen', `127.0.0.1:${port}`, '--data-dir', join(dir, 'data'), ...args], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  proc.stdout!.on('data', (c: Buffer) => (out += c.toString()));
  proc.stderr!.on('data', (c: Buffer) => (out += c.toString()));
  const url = `http://127.0.0.1:${port}`;
  await eventually(async () => (await fetch(`${url}/healthz`).catch(() => undefined))?.ok, 15_000, 50);
  return {
    proc,
    url,
    output: () => out,
    stop: async () => {
      if (proc.exitCode === null && proc.signalCode === null) {
        const exited = new Promise((r) => proc.once('exit', r));
        proc.kill('SIGTERM');
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

describe('orlojd logs', function () {
  this.timeout(60_000);
  let d: Orlojd;
  afterEach(async () => d?.destroy());

  it('writes one info line per delivery and trigger attempt outcome under the rate, naming the object and event, never a secret', async () => {
    d = await Orlojd.start({ args: ALLOW_LOOPBACK });
    const dest = await Destination.start();
    try {
      const path = await readyWebhook(d, 'loud', 'loud-secret-8c1f');
      expect((await send(d, path, { secret: 'loud-secret-8c1f', body: '{"n":1}', eventId: 'evt-1' })).status).to.equal(202);
      expect((await send(d, path, { secret: 'loud-secret-8c1f', body: '{"n":1}', eventId: 'evt-1' })).body.duplicate).to.equal(true);
      expect((await send(d, path, { secret: 'wrong-secret', body: '{"n":2}', eventId: 'evt-2' })).status).to.equal(401);
      expect((await post(d, '/v1/webhook-deliveries/no-such-endpoint', {}, '{}')).status).to.equal(404);
      await put(d, resource('Collection', 'incidents', {}));
      await readyTrigger(d, 'notify', { collection: 'incidents', url: `${dest.url}/hook` });
      await writeDoc(d, 'incidents', { id: 'inc-1' });
      const attempt = await eventually(async () => lines(d).find((l) => l.msg === 'trigger attempt delivered'));
      expect(attempt).to.include({ trigger: 'default/notify', attempt: 1, outcome: 'delivered', status: 200 });
      expect(attempt.messageId).to.equal(dest.received[0]!.headers['webhook-id']);

      const loud = deliveryLines(d, 'loud');
      expect(loud.map((l) => [l.msg, l.outcome, l.eventId, l.status])).to.deep.equal([
        ['delivery accepted', 'accepted', 'evt-1', 202],
        ['delivery duplicate', 'duplicate', 'evt-1', 202],
        ['delivery rejected', 'rejected', 'evt-2', 401],
      ]);
      for (const l of loud) {
        expect(l).to.include({ level: 30, kind: 'TaskWebhook', namespace: 'default', name: 'loud' });
        expect(l.durationMs).to.be.a('number');
        expect(l).not.to.have.any.keys('suppressed', 'headers', 'body');
      }
      expect(loud[2]!.reason).to.equal('signature verification failed: signature mismatch');
      const unknown = lines(d).filter((l) => l.kind === 'unknown');
      expect(unknown.map((l) => [l.msg, l.status, l.reason])).to.deep.equal([['delivery rejected', 404, 'webhook endpoint not found']]);

      const signing = (await d.api('GET', '/v1/secrets/notify-signing?reveal=true')).body.spec.data as Record<string, string>;
      const signingKey = Buffer.from(Object.values(signing)[0]!, 'base64').toString('utf8');
      for (const secretText of ['loud-secret-8c1f', signingKey, signingKey.slice('whsec_'.length), String(dest.received[0]!.headers['webhook-signature'])]) {
        expect(d.logs).not.to.include(secretText);
      }
    } finally {
      await dest.close();
    }
  });

  it('holds back lines of a receiver over 10 a second (bursts of 20) and says later how many; another receiver keeps its own', async () => {
    d = await Orlojd.start();
    const flooded = await readyWebhook(d, 'flooded', 'flooded-secret');
    const calm = await readyWebhook(d, 'calm', 'calm-secret');
    const N = 300;
    await forged(d, flooded, N);
    for (let i = 0; i < 3; i++) expect((await send(d, calm, { secret: 'calm-secret', body: `{"i":${i}}`, eventId: `c-${i}` })).status).to.equal(202);
    // Every delivery is either a line of its own or counted by a `suppressed` line.
    const said = () => {
      const ls = deliveryLines(d, 'flooded').filter((l) => l.outcome === 'rejected');
      const summaries = lines(d).filter((l) => l.name === 'flooded' && l.msg === 'delivery lines suppressed');
      const suppressed = [...ls, ...summaries].reduce((n, l) => n + Number(l.suppressed ?? 0), 0);
      return { written: ls.length, suppressed, summaries: summaries.length };
    };
    const final = await eventually(async () => {
      const s = said();
      return s.written + s.suppressed === N && s;
    }, 10_000);
    expect(final.written, 'the burst, and what the rate let through meanwhile').to.be.within(20, N - 1);
    expect(final.summaries).to.be.greaterThan(0);
    expect(deliveryLines(d, 'calm').map((l) => l.eventId)).to.deep.equal(['c-0', 'c-1', 'c-2']);
  });

  it('logs what stopped and how long it took on SIGTERM', async () => {
    d = await Orlojd.start();
    await d.stop();
    const stopping = lines(d).find((l) => l.msg === 'orlojd stopping');
    const stopped = lines(d).find((l) => l.msg === 'orlojd stopped');
    expect(stopping).to.include({ signal: 'SIGTERM' });
    expect(stopped).to.include({ level: 30, signal: 'SIGTERM' });
    expect(stopped!.durationMs).to.be.a('number');
    expect(Object.keys(stopped!.stoppedMs as object)).to.deep.equal(['http', 'background', 'hydration', 'reconcilers', 'triggers', 'receivers', 'store']);
  });

  it('writes no delivery line at --log-level warn', async () => {
    const o = await startRaw(['--log-level', 'warn', '--api-tokens', 'warn-level-token:admin']);
    try {
      const res = await fetch(`${o.url}/v1/webhook-deliveries/no-such-endpoint`, { method: 'POST', body: '{}' });
      expect(res.status).to.equal(404);
      await o.stop();
      expect(o.output()).not.to.include('delivery');
      expect(o.output()).not.to.include('orlojd stopped');
    } finally {
      await o.stop();
    }
  });

  it('--log-format pretty writes readable lines, not JSON; --log-format json forces JSON', async () => {
    const o = await startRaw(['--log-format', 'pretty', '--api-tokens', 'pretty-format-token:admin']);
    try {
      expect((await fetch(`${o.url}/v1/webhook-deliveries/no-such-endpoint`, { method: 'POST', body: '{}' })).status).to.equal(404);
      await eventually(async () => o.output().includes('delivery rejected'));
      await o.stop();
      const out = o.output().split('\n').filter((l) => l.trim());
      expect(out.some((l) => /INFO.*orlojd listening/.test(l)), o.output()).to.equal(true);
      expect(out.some((l) => /INFO.*orlojd stopped/.test(l)), o.output()).to.equal(true);
      for (const l of out) expect(() => JSON.parse(l), l).to.throw();
    } finally {
      await o.stop();
    }
    d = await Orlojd.start({ args: ['--log-format', 'json'] });
    expect(lines(d).some((l) => l.msg === 'orlojd listening')).to.equal(true);
  });

  it('refuses a --log-format other than json or pretty', () => {
    const out = refusedStart(`/tmp/orloj-logs-refused-${process.pid}`, { args: ['--log-format', 'xml'] }, true);
    expect(out).to.include('--log-format must be json or pretty, got "xml"');
    expect(refusedStart(`/tmp/orloj-logs-refused-${process.pid}`, { env: { ORLOJ_LOG_FORMAT: 'text' } }, true)).to.include('--log-format must be json or pretty, got "text"');
  });
});
