import { expect } from 'chai';
import { eventually, Orlojd } from '../helpers/orlojd.js';
import { put, readyWebhook, templateTask } from '../helpers/fixtures.js';
import { send } from '../helpers/deliveries.js';
import { head, RawConnection } from '../helpers/raw.js';
import { openWatch } from '../helpers/watch.js';

describe('API server: watch', function () {
  let d: Orlojd;
  before(async () => {
    d = await Orlojd.start();
  });
  after(async () => d.destroy());

  it('pushes ADDED, MODIFIED and DELETED as newline-delimited JSON', async () => {
    const w = await openWatch(d, 'namespace=default');
    expect(w.res.headers.get('content-type')).to.include('application/x-ndjson');
    const created = await put(d, templateTask('w1', { topic: 'first' }));
    const ofW1 = () => w.events.filter((e) => e.object.metadata.name === 'w1');
    const added = await eventually(async () => ofW1().find((e) => e.type === 'ADDED'));
    expect(added.object.spec.input).to.deep.equal({ topic: 'first' });
    expect(added.object.metadata.resourceVersion).to.equal(created.body.metadata.resourceVersion);

    const updated = await put(d, templateTask('w1', { topic: 'second' }));
    expect(updated.body.metadata.resourceVersion).not.to.equal(created.body.metadata.resourceVersion);
    const modified = await eventually(async () =>
      ofW1().find((e) => e.type === 'MODIFIED' && e.object.metadata.resourceVersion === updated.body.metadata.resourceVersion));
    expect(modified.object.spec.input).to.deep.equal({ topic: 'second' });
    expect(modified.object.metadata).to.include({ generation: 2 });

    expect((await d.api('DELETE', '/v1/tasks/w1')).status).to.equal(200);
    const deleted = await eventually(async () => ofW1().find((e) => e.type === 'DELETED'));
    expect(deleted.object.metadata.name).to.equal('w1');
    // Each change once, in order (status writes by the reconciler may add MODIFIED events in between).
    const types = ofW1().map((e) => e.type);
    expect(types[0]).to.equal('ADDED');
    expect(types.at(-1)).to.equal('DELETED');
    expect(types.filter((t) => t === 'ADDED' || t === 'DELETED')).to.deep.equal(['ADDED', 'DELETED']);
    const rvs = ofW1().map((e) => Number(e.object.metadata.resourceVersion));
    expect(rvs).to.deep.equal([...rvs].sort((a, b) => a - b));
    w.close();
  });

  it('resumes from a resourceVersion, replaying what the client missed', async () => {
    const from = (await d.api('GET', '/v1/tasks')).body.metadata.resourceVersion;
    await put(d, templateTask('missed-1'));
    await put(d, templateTask('missed-2'));
    await d.api('DELETE', '/v1/tasks/missed-1');
    const w = await openWatch(d, `resourceVersion=${from}`);
    const evs = await w.waitFor(2);
    const seen = evs.map((e) => `${e.type}:${e.object.metadata.name}`);
    expect(seen).to.include('ADDED:missed-2');
    expect(seen).to.include('DELETED:missed-1');
    w.close();
  });

  it('speaks Server-Sent Events when asked', async () => {
    const w = await openWatch(d, '', 'text/event-stream');
    expect(w.res.headers.get('content-type')).to.include('text/event-stream');
    await put(d, templateTask('sse-1'));
    const [e] = await w.waitFor(1);
    expect(e!.object.metadata.name).to.equal('sse-1');
    expect(w.raw.join('')).to.match(/event: ADDED\ndata: /);
    w.close();
  });

  it('filters by label selector', async () => {
    const w = await openWatch(d, `labelSelector=${encodeURIComponent('team=red')}`);
    await put(d, { kind: 'Task', metadata: { name: 'blue', labels: { team: 'blue' } }, spec: {} } as never);
    await put(d, { kind: 'Task', metadata: { name: 'red', labels: { team: 'red' } }, spec: {} } as never);
    const evs = await w.waitFor(1);
    expect(evs.every((e) => e.object.metadata.name === 'red')).to.equal(true);
    w.close();
  });

  it('streams whole objects for what deliveries write: the run task, then the moved counters', async () => {
    const ep = await readyWebhook(d, 'watched', 'watch-secret');
    const rv = (await d.api('GET', '/v1/tasks')).body.metadata.resourceVersion as string;
    const tasks = await openWatch(d, `resourceVersion=${rv}`);
    const hooks = await openWatch(d, `resourceVersion=${rv}`, undefined, 'task-webhooks');
    expect((await send(d, ep, { secret: 'watch-secret', body: '{"n":1}', eventId: 'w-1' })).status).to.equal(202);
    const [added] = await tasks.waitFor(1);
    expect(added!.type).to.equal('ADDED');
    expect(added!.object.spec.input).to.include({ webhook_event_id: 'w-1', webhook_payload: '{"n":1}' });
    expect(added!.object.metadata.labels).to.include({ 'orloj.dev/task-webhook': 'watched' });
    expect(added!.object.status).to.include({ phase: 'Pending' });
    const moved = (await hooks.waitFor(1, 3000)).find((e) => e.object.status.acceptedCount === 1);
    expect(moved?.type).to.equal('MODIFIED');
    expect(moved!.object.spec).to.include({ task_ref: 'watched-tpl' });
    tasks.close();
    hooks.close();
  });
});

describe('API server: watch limits', function () {
  let d: Orlojd;
  before(async () => {
    d = await Orlojd.start({ args: ['--header-timeout-ms', '200', '--request-timeout-ms', '400', '--watch-heartbeat-ms', '100', '--watch-buffer-bytes', String(1024 * 1024)] });
  });
  after(async () => d.destroy());

  const dropped = async () => Number((await d.api('GET', '/metrics')).text.match(/^orloj_api_watches_dropped_total (\d+)/m)?.[1] ?? 0);

  it('a quiet NDJSON watch gets blank lines as heartbeats', async () => {
    const w = await openWatch(d, 'labelSelector=none%3Dnone');
    await eventually(async () => w.raw.join('').includes('\n'));
    expect(w.raw.join('').trim()).to.equal('');
    w.close();
  });

  it('streams on past the request timeout: a watch is a GET, received in full at once', async () => {
    const w = await openWatch(d, '');
    // A request begun after the watch is cut off by the request timeout; the watch is not.
    const probe = await RawConnection.open(d);
    const answer = await probe.dripUntilClosed(head('PUT', '/v1/tasks/slow', { authorization: `Bearer ${d.token}`, 'content-length': 1000 }), ' ');
    expect(answer).to.match(/^HTTP\/1.1 408/);
    await put(d, templateTask('after-timeout'));
    await eventually(async () => w.events.some((e) => e.object.metadata.name === 'after-timeout'));
    w.close();
  });

  it('drops a live watch whose client stops reading, instead of buffering for it; one that reads stays', async () => {
    const before = await dropped();
    const reading = await openWatch(d, '');
    const c = await RawConnection.open(d);
    c.sock.write(head('GET', '/v1/tasks?watch=true', { authorization: `Bearer ${d.token}` }));
    expect(await c.until((s) => s.includes('\r\n\r\n'))).to.equal(true);
    c.sock.pause();
    // Each write is a 128 KiB event: the socket buffers fill, then the server's own buffer.
    for (let i = 0; (await dropped()) === before; i++) {
      if (i === 400) throw new Error('a watch that reads nothing was never dropped');
      await put(d, templateTask('big', { pad: `${i}`.padEnd(128 * 1024, 'x') }));
    }
    expect(d.logs).to.include('watch dropped: the client reads too slowly');
    c.sock.resume();
    await c.closed;
    expect(await dropped()).to.equal(before + 1);
    const rv = (await put(d, templateTask('big', { pad: 'last' }))).body.metadata.resourceVersion;
    await eventually(async () => reading.events.some((e) => e.object.metadata.resourceVersion === rv));
    reading.close();
  });
});

describe('API server: watches per token', function () {
  const ADMIN = 'admin-token-for-watches';
  const OTHER = 'reader-token-for-watches';
  let d: Orlojd;
  before(async () => {
    d = await Orlojd.start({ args: ['--max-watches-per-token', '2', '--api-tokens', `${ADMIN}:admin,${OTHER}:reader`] });
    d.token = ADMIN;
  });
  after(async () => d.destroy());

  const watch = (token: string) => {
    const ctl = new AbortController();
    const res = fetch(`${d.url}/v1/tasks?watch=true`, { headers: { authorization: `Bearer ${token}` }, signal: ctl.signal });
    return { res, close: () => ctl.abort() };
  };

  it('answers 429 in the Status shape past the cap, for that token only, until one closes', async () => {
    const held = [watch(ADMIN), watch(ADMIN)];
    for (const w of held) expect((await w.res).status).to.equal(200);
    const third = await (await watch(ADMIN).res);
    expect(third.status).to.equal(429);
    expect(third.headers.get('retry-after')).to.equal('1');
    expect(await third.json()).to.include({ kind: 'Status', code: 429, reason: 'TooManyRequests' });
    const other = watch(OTHER);
    expect((await other.res).status).to.equal(200);
    held[0]!.close();
    const again = await eventually(async () => {
      const w = watch(ADMIN);
      const res = await w.res;
      return res.status === 200 ? w : undefined;
    });
    again.close();
    held[1]!.close();
    other.close();
  });
});
