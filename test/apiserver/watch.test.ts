import { expect } from 'chai';
import { eventually, Orlojd } from '../helpers/orlojd.js';
import { put, readyWebhook, templateTask } from '../helpers/fixtures.js';
import { send } from '../helpers/deliveries.js';

interface Line {
  type: string;
  object: {
    kind: string;
    metadata: { name: string; resourceVersion: string; generation?: number; labels?: Record<string, string> };
    spec: Record<string, unknown> & { input?: Record<string, unknown> };
    status: Record<string, unknown>;
  };
}

/** Opens a watch (on tasks unless `plural` says otherwise) and collects its events until closed. */
async function openWatch(d: Orlojd, query: string, accept?: string, plural = 'tasks') {
  const ctl = new AbortController();
  const res = await fetch(`${d.url}/v1/${plural}?watch=true&${query}`, {
    headers: { authorization: `Bearer ${d.token}`, ...(accept ? { accept } : {}) },
    signal: ctl.signal,
  });
  const events: Line[] = [];
  const raw: string[] = [];
  const waiters: Array<() => void> = [];
  void (async () => {
    const decoder = new TextDecoder();
    let buf = '';
    try {
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        buf += decoder.decode(chunk);
        raw.push(decoder.decode(chunk));
        let i;
        while ((i = buf.indexOf('\n')) >= 0) {
          const line = buf.slice(0, i).trim();
          buf = buf.slice(i + 1);
          if (line.startsWith('{')) events.push(JSON.parse(line) as Line);
          else if (line.startsWith('data: ')) events.push(JSON.parse(line.slice(6)) as Line);
          waiters.splice(0).forEach((w) => w());
        }
      }
    } catch {
      // aborted
    }
  })();
  const waitFor = async (n: number, ms = 3000): Promise<Line[]> => {
    const end = Date.now() + ms;
    while (events.length < n) {
      if (Date.now() > end) throw new Error(`only ${events.length} of ${n} watch events`);
      await new Promise<void>((r) => {
        waiters.push(r);
        setTimeout(r, 50);
      });
    }
    return events;
  };
  return { res, events, waitFor, raw, close: () => ctl.abort() };
}

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
