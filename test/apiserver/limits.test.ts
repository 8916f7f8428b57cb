import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { ctl } from '../cli/ctl.js';
import { send } from '../helpers/deliveries.js';
import { readyWebhook, templateTask } from '../helpers/fixtures.js';
import { eventually, Orlojd } from '../helpers/orlojd.js';
import { head, RawConnection } from '../helpers/raw.js';

/** Load from any client, with or without a token, stays within bounds the operator sets. */
const isStatus = (body: unknown, code: number) => expect(body).to.include({ kind: 'Status', code });

describe('API server: request metrics', function () {
  let d: Orlojd;
  before(async () => {
    d = await Orlojd.start();
  });
  after(async () => d.destroy());

  const series = async () => (await d.api('GET', '/metrics')).text.split('\n').filter((l) => l.startsWith('orloj_api_requests_total{')).length;
  const hit = (tag: string) => Promise.all([
    fetch(`${d.url}/no/such/${tag}`),
    fetch(`${d.url}/${tag}`),
    fetch(`${d.url}/v1/${tag}`),
    d.api('GET', `/v1/${tag}`),
    d.api('GET', `/v1/tasks/${tag}`),
    d.api('GET', `/v1/tasks/${tag}/status/${tag}`),
  ]);

  it('label requests by route template, so unknown paths add no series', async () => {
    await hit('warm-up');
    await series(); // the scrape itself is counted from then on
    const before = await series();
    for (let i = 0; i < 100; i++) await hit(`p${i}-${Math.random().toString(36).slice(2)}`);
    expect(await series()).to.equal(before);
    const text = (await d.api('GET', '/metrics')).text;
    expect(text).to.include('orloj_api_requests_total{method="GET",route="unmatched",resource="",code="404"} 303');
    expect(text).to.include('orloj_api_requests_total{method="GET",route="/v1/:plural",resource="",code="401"} 101');
    expect(text).to.include('orloj_api_requests_total{method="GET",route="/v1/:plural/:name",resource="tasks",code="404"} 101');
  });
});

describe('API server: connections and timeouts', function () {
  let d: Orlojd;
  before(async () => {
    d = await Orlojd.start({ args: ['--header-timeout-ms', '200', '--request-timeout-ms', '400'] });
  });
  after(async () => d.destroy());

  it('cuts off a client that sends its headers too slowly, with 408', async () => {
    const c = await RawConnection.open(d);
    expect(await c.dripUntilClosed('GET /healthz HTTP/1.1\r\n', 'x-slow: 1\r\n')).to.match(/^HTTP\/1.1 408/);
  });

  it('cuts off a client that sends its body too slowly, with 408, storing nothing', async () => {
    const c = await RawConnection.open(d);
    const h = head('PUT', '/v1/tasks/slow', { authorization: `Bearer ${d.token}`, 'content-type': 'application/json', 'content-length': 1000 });
    expect(await c.dripUntilClosed(`${h}{"kind":"Task",`, ' ')).to.match(/^HTTP\/1.1 408/);
    expect((await d.api('GET', '/v1/tasks/slow')).status).to.equal(404);
    expect(d.logs).not.to.match(/"level":50/);
  });

  it('keeps an idle keep-alive connection past the header timeout (a proxy reuses it)', async () => {
    const c = await RawConnection.open(d);
    c.sock.write(head('GET', '/healthz'));
    expect(await c.until((s) => s.includes('"ok"'))).to.equal(true);
    // Once a request begun after it was cut off, the header timeout has passed for this one too.
    expect(await (await RawConnection.open(d)).dripUntilClosed('GET / HTTP/1.1\r\n', 'x: 1\r\n')).to.match(/^HTTP\/1.1 408/);
    c.data = '';
    c.sock.write(head('GET', '/version'));
    expect(await c.until((s) => s.includes('"version"'))).to.equal(true);
    c.sock.destroy();
  });
});

describe('API server: connection cap', function () {
  let d: Orlojd;
  before(async () => {
    d = await Orlojd.start({ args: ['--max-connections', '3'] });
  });
  after(async () => d.destroy());

  /** A keep-alive connection the server has accepted and answered on. */
  const answered = async (): Promise<RawConnection | undefined> => {
    const c = await RawConnection.open(d);
    c.sock.write(head('GET', '/healthz'));
    return (await c.until((s) => s.includes('"ok"'))) ? c : undefined;
  };

  it('closes connections past --max-connections on arrival, and takes new ones once one closes', async () => {
    const held = [await answered(), await answered(), await answered()];
    expect(held.every(Boolean)).to.equal(true);
    const extra = await RawConnection.open(d);
    extra.sock.write(head('GET', '/healthz'));
    await extra.closed;
    expect(extra.data).to.equal('');
    held[0]!.sock.destroy();
    const next = await eventually(answered);
    held.slice(1).forEach((c) => c!.sock.destroy());
    next.sock.destroy();
    // The server may not have seen those closes yet: wait for a free slot.
    expect(await eventually(async () => (await d.api('GET', '/metrics')).text)).to.match(/^orloj_http_connections_dropped_total [1-9]/m);
  });
});

describe('API server: body bytes in flight', function () {
  const BUDGET = 65536;
  let d: Orlojd;
  before(async () => {
    d = await Orlojd.start({ args: ['--max-body-bytes-in-flight', String(BUDGET)] });
  });
  after(async () => d.destroy());

  /** A PUT of a Task whose body is exactly `size` bytes, its head and `first` bytes sent. */
  const heldPut = async (name: string, size: number, first: number) => {
    const prefix = `{"kind":"Task","metadata":{"name":"${name}"},"spec":{"input":{"pad":"`;
    const body = `${prefix}${'x'.repeat(size - prefix.length - 4)}"}}}`;
    const c = await RawConnection.open(d);
    c.sock.write(head('PUT', `/v1/tasks/${name}`, { authorization: `Bearer ${d.token}`, 'content-type': 'application/json', 'content-length': size }) + body.slice(0, first));
    return { c, finish: () => c.sock.write(body.slice(first)) };
  };

  it('answers 503 with Retry-After, on the API and the delivery path, while bodies fill the budget', async () => {
    const ep = await readyWebhook(d, 'busy', 'busy-secret');
    const held = await heldPut('held', BUDGET, 100);
    // Until the held request has taken its share, a dry run may still pass.
    const refused = await eventually(async () => {
      const r = await d.api('PUT', '/v1/tasks/other?dryRun=true', templateTask('other'));
      return r.status === 503 ? r : undefined;
    });
    isStatus(refused.body, 503);
    expect(refused.body).to.include({ reason: 'ServiceUnavailable' });
    expect(refused.body.details).to.deep.equal({ retryAfterSeconds: 1 });
    expect(refused.headers.get('retry-after')).to.equal('1');
    const delivery = await send(d, ep, { secret: 'busy-secret', body: '{"n":1}', eventId: 'busy-1' });
    expect(delivery.status).to.equal(503);
    expect(delivery.headers.get('retry-after')).to.equal('1');
    // The held body completes; what it took is given back.
    held.finish();
    expect(await held.c.until((s) => s.includes('\r\n\r\n'))).to.equal(true);
    expect(held.c.data).to.match(/^HTTP\/1.1 201/);
    expect((await d.api('PUT', '/v1/tasks/other', templateTask('other'))).status).to.equal(201);
    expect((await send(d, ep, { secret: 'busy-secret', body: '{"n":1}', eventId: 'busy-1' })).status).to.equal(202);
  });

  it('gives back what a body took when its client goes away', async () => {
    const held = await heldPut('gone', BUDGET, 100);
    const dryRun = async () => (await d.api('PUT', '/v1/tasks/other?dryRun=true', templateTask('other'))).status;
    await eventually(async () => (await dryRun()) === 503);
    held.c.sock.destroy();
    await eventually(async () => (await dryRun()) === 200);
  });
});

describe('API server: list pages', function () {
  let d: Orlojd;
  before(async () => {
    d = await Orlojd.start();
    const names = Array.from({ length: 1001 }, (_, i) => `page-${String(i).padStart(4, '0')}`);
    for (let i = 0; i < names.length; i += 50) {
      await Promise.all(names.slice(i, i + 50).map(async (name) => {
        const r = await d.api('PUT', `/v1/namespaces/${name}`, { kind: 'Namespace', metadata: { name, labels: { paged: 'yes' } } });
        if (r.status !== 201) throw new Error(`${name}: ${r.status} ${r.text}`);
      }));
    }
  });
  after(async () => d.destroy());

  const list = async (q: string) => (await d.api('GET', `/v1/namespaces?labelSelector=paged%3Dyes${q}`)).body;

  it('answers 500 items by default and at most 1000, with a continue token while there are more', async () => {
    const first = await list('');
    expect(first.items).to.have.length(500);
    expect(first.metadata.continue).to.be.a('string');
    const big = await list('&limit=5000');
    expect(big.items).to.have.length(1000);
    const rest = await list(`&limit=5000&continue=${encodeURIComponent(big.metadata.continue)}`);
    expect(rest.items.map((o: { metadata: { name: string } }) => o.metadata.name)).to.deep.equal(['page-1000']);
    expect(rest.metadata.continue).to.equal(undefined);
  });

  it('orlojctl get follows continue and shows every item', async () => {
    const r = await ctl(d, ['get', 'namespaces', '-l', 'paged=yes', '-o', 'name']);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout.trim().split('\n')).to.have.length(1001);
  });
});

describe('API server: bodies of very many elements', function () {
  let d: Orlojd;
  before(async () => {
    d = await Orlojd.start();
  });
  after(async () => d.destroy());

  /** The orlojd process's peak resident memory so far, in MB. */
  const peakMb = () => Number(readFileSync(`/proc/${d.proc.pid}/status`, 'utf8').match(/VmHWM:\s+(\d+) kB/)![1]) / 1024;
  const wrap = (input: string) => `{"kind":"Task","metadata":{"name":"wide"},"spec":{"input":{"a":${input}}}}`;
  const million = (item: string) => `[${Array(1_000_000).fill(item).join(',')}]`;

  it('refuses a million tiny elements with 400 before parsing them, in JSON and YAML', async () => {
    await d.api('PUT', '/v1/tasks/warm', templateTask('warm'));
    const before = peakMb();
    const bodies: Array<[string, string]> = [
      [wrap(million('0')), 'application/json'],
      [wrap(million('[]')), 'application/json'],
      [`kind: Task\nmetadata: {name: wide}\nspec:\n  input:\n    a: ${million('0')}\n`, 'application/yaml'],
      [`kind: Task\nmetadata: {name: wide}\nspec:\n  input:\n    a:\n${'    - 0\n'.repeat(390_000)}`, 'application/yaml'],
    ];
    for (const [body, type] of bodies) {
      const r = await d.api('PUT', '/v1/tasks/wide', body, { 'content-type': type });
      expect(r.status, r.text).to.equal(400);
      isStatus(r.body, 400);
      expect(r.body.message).to.equal('the body has more than 100000 elements');
    }
    expect(peakMb() - before, 'peak RSS growth in MB').to.be.below(100);
    expect((await d.api('GET', '/v1/tasks/wide')).status).to.equal(404);
  });

  it('still accepts bodies just within the limits', async () => {
    const items = Array(99_990).fill('0').join(',');
    expect((await d.api('PUT', '/v1/tasks/wide', wrap(`[${items}]`))).status).to.equal(201);
    const yaml = `kind: Task\nmetadata: {name: wide-yaml}\nspec:\n  input:\n    a: [${items}]\n    b: {c: [], d: ""}\n`;
    expect((await d.api('PUT', '/v1/tasks/wide-yaml', yaml, { 'content-type': 'application/yaml' })).status).to.equal(201);
  });
});
