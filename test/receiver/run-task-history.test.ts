import { expect } from 'chai';
import { eventually, Orlojd } from '../helpers/orlojd.js';
import { put, readyOf, secret, taskWebhook, templateTask } from '../helpers/fixtures.js';
import { send } from '../helpers/deliveries.js';

const SECRET = 'history-secret';
const BODY = { event: 'report.trigger' };

type Task = { metadata: { name: string; uid: string; ownerReferences?: Array<{ uid: string }> }; status: Record<string, unknown> };

describe('run task history: owner references, history_limit, ttl_seconds_after_finished, ?cascade', function () {
  this.timeout(90_000);
  let d: Orlojd;
  before(async () => {
    d = await Orlojd.start();
    await put(d, secret('shared', { value: SECRET }));
    await put(d, templateTask('tpl'));
  });
  after(async () => d?.destroy());

  /** Applies a webhook and waits until it is Ready; returns it. */
  async function webhook(name: string, spec: Record<string, unknown> = {}) {
    await put(d, taskWebhook(name, { task_ref: 'tpl', auth: { secret_ref: 'shared' }, ...spec }));
    return eventually(async () => {
      const o = (await d.api('GET', `/v1/task-webhooks/${name}`)).body;
      return o.status?.endpointPath && readyOf(o)?.status === 'True' && o.spec.history_limit === (spec.history_limit ?? 1000) ? o : undefined;
    });
  }
  /** Sends `n` signed deliveries with new event ids, one after another; returns the tasks they made, oldest first. */
  async function deliver(ep: string, n: number, prefix: string): Promise<string[]> {
    const names: string[] = [];
    for (let i = 0; i < n; i++) {
      // A distinct body each: the same body signed in the same second is the same delivery.
      const res = await send(d, ep, { secret: SECRET, body: JSON.stringify({ ...BODY, n: `${prefix}-${i}` }), eventId: `${prefix}-${i}` });
      expect(res.status, res.text).to.equal(202);
      expect(res.body.duplicate, res.text).to.equal(false);
      names.push(res.body.task as string);
    }
    return names;
  }
  const tasksOf = async (name: string): Promise<Task[]> => {
    const r = await d.api('GET', `/v1/tasks?limit=1000&labelSelector=${encodeURIComponent(`orloj.dev/task-webhook=${name}`)}`);
    expect(r.status, r.text).to.equal(200);
    return r.body.items as Task[];
  };
  const namesOf = async (name: string): Promise<string[]> => (await tasksOf(name)).map((t) => t.metadata.name).sort();
  /** Waits until the webhook's run tasks are exactly these. */
  const settlesOn = async (name: string, want: string[]) => {
    const sorted = JSON.stringify([...want].sort());
    await eventually(async () => JSON.stringify(await namesOf(name)) === sorted, 15_000).catch(async (e: unknown) => {
      expect(await namesOf(name), String(e)).to.deep.equal([...want].sort());
    });
  };
  const taskStatus = async (name: string) => (await d.api('GET', `/v1/tasks/${name}`)).status;
  const finish = async (task: string, status: Record<string, unknown>) => {
    const r = await d.api('PUT', `/v1/tasks/${task}/status`, { status });
    expect(r.status, r.text).to.equal(200);
  };

  it('a run task names its webhook as its owner, and keeps it through an apply and a status write', async () => {
    const w = await webhook('owned');
    const [task] = await deliver(w.status.endpointPath, 1, 'own');
    const want = [{ apiVersion: 'orloj.dev/v1', kind: 'TaskWebhook', name: 'owned', uid: w.metadata.uid, controller: true }];
    const created = (await d.api('GET', `/v1/tasks/${task}`)).body as Task & { spec: Record<string, unknown>; metadata: { labels: Record<string, string> } };
    expect(created.metadata.ownerReferences).to.deep.equal(want);
    // An apply cannot drop or change what the server set.
    const applied = await d.api('PUT', `/v1/tasks/${task}`, { kind: 'Task', metadata: { name: task, labels: { ...created.metadata.labels, extra: 'yes' }, ownerReferences: [] }, spec: created.spec });
    expect(applied.status, applied.text).to.equal(200);
    expect(applied.body.metadata.ownerReferences).to.deep.equal(want);
    await finish(task!, { phase: 'Running' });
    expect((await d.api('GET', `/v1/tasks/${task}`)).body.metadata.ownerReferences).to.deep.equal(want);
    expect((await d.api('GET', '/v1/task-webhooks/owned')).body.spec.history_limit).to.equal(1000);
  });

  it('history_limit: 5 keeps exactly the newest 5 of 20 run tasks (acceptance 6), and goes on keeping the newest', async () => {
    const w = await webhook('bounded', { history_limit: 5 });
    const made = await deliver(w.status.endpointPath, 20, 'b');
    expect(new Set(made).size).to.equal(20);
    await settlesOn('bounded', made.slice(-5));
    const [next] = await deliver(w.status.endpointPath, 1, 'b-more');
    await settlesOn('bounded', [...made.slice(-4), next!]);
    // The tasks that went were deleted by name, not the webhook: it still accepts.
    expect((await d.api('GET', '/v1/task-webhooks/bounded')).status).to.equal(200);
  });

  it('keeps the newest under concurrent deliveries, 600 of them (more than a delete batch)', async () => {
    const w = await webhook('burst', { history_limit: 7 });
    const made = (await Promise.all(Array.from({ length: 6 }, (_, i) => deliver(w.status.endpointPath, 100, `burst${i}`)))).flat();
    expect(new Set(made).size).to.equal(600);
    // Names sort in the order the tasks were made: the newest are the last by name.
    await settlesOn('burst', [...made].sort().slice(-7));
  });

  it('trims only its own run tasks: not those of a webhook whose name continues its own, nor those an earlier webhook of its name left', async () => {
    // `hx-a-…` sorts among `hx-…` names: a hex digit follows the dash in both.
    const longer = await webhook('hx-a', { history_limit: 100 });
    const theirs = await deliver(longer.status.endpointPath, 3, 'hxa');
    const first = await webhook('hx', { history_limit: 3 });
    const left = await deliver(first.status.endpointPath, 3, 'hx1');
    expect((await d.api('DELETE', '/v1/task-webhooks/hx')).status).to.equal(200);
    const again = await webhook('hx', { history_limit: 2 });
    expect(again.metadata.uid).not.to.equal(first.metadata.uid);
    const own = await deliver(again.status.endpointPath, 4, 'hx2');
    await settlesOn('hx', [...left, ...own.slice(-2)]);
    expect(await namesOf('hx-a')).to.deep.equal([...theirs].sort());
    // And goes on: the new webhook's next task pushes out its oldest, the earlier one's stay.
    const [next] = await deliver(again.status.endpointPath, 1, 'hx3');
    await settlesOn('hx', [...left, own[3]!, next!]);
  });

  it('a lowered history_limit trims at once, without a delivery; 0 keeps none', async () => {
    const w = await webhook('lowered', { history_limit: 10 });
    const made = await deliver(w.status.endpointPath, 4, 'l');
    await webhook('lowered', { history_limit: 2 });
    await settlesOn('lowered', made.slice(-2));
    await webhook('lowered', { history_limit: 0 });
    await settlesOn('lowered', []);
  });

  it('ttl_seconds_after_finished deletes a finished run task that long after completedAt and keeps the unfinished ones', async () => {
    const TTL_MS = 2000;
    const w = await webhook('ttl', { ttl_seconds_after_finished: TTL_MS / 1000 });
    const [done, failedLongAgo, running, noCompletion, pending] = await deliver(w.status.endpointPath, 5, 't');
    const finishedAt = Date.now();
    await finish(done!, { phase: 'Succeeded', completedAt: new Date(finishedAt).toISOString() });
    await finish(failedLongAgo!, { phase: 'Failed', completedAt: new Date(finishedAt - 3600_000).toISOString() });
    await finish(running!, { phase: 'Running', startedAt: new Date(finishedAt).toISOString() });
    await finish(noCompletion!, { phase: 'Succeeded' });
    // Past its TTL already: it goes first.
    await eventually(async () => (await taskStatus(failedLongAgo!)) === 404, 10_000);
    const early = await taskStatus(done!);
    if (Date.now() < finishedAt + TTL_MS) expect(early, 'deleted before its TTL ran out').to.equal(200);
    await eventually(async () => (await taskStatus(done!)) === 404, 10_000);
    expect(await namesOf('ttl')).to.deep.equal([running!, noCompletion!, pending!].sort());
  });

  it('a TTL set or changed later applies at once to run tasks that finished before', async () => {
    const w = await webhook('late-ttl');
    const [old, done, open] = await deliver(w.status.endpointPath, 3, 'lt');
    await finish(old!, { phase: 'Succeeded', completedAt: new Date(Date.now() - 2 * 3600_000).toISOString() });
    await finish(done!, { phase: 'Succeeded', completedAt: new Date(Date.now() - 60_000).toISOString() });
    await webhook('late-ttl', { ttl_seconds_after_finished: 3600 });
    await settlesOn('late-ttl', [done!, open!]);
    // Due in an hour under that TTL; a shorter one makes it due now.
    await webhook('late-ttl', { ttl_seconds_after_finished: 30 });
    await settlesOn('late-ttl', [open!]);
  });

  it('DELETE ?cascade=true deletes the webhook\'s run tasks; without it they stay; an earlier webhook\'s stay too', async () => {
    const kept = await webhook('keeps');
    const left = await deliver(kept.status.endpointPath, 3, 'k');
    const plain = await d.api('DELETE', '/v1/task-webhooks/keeps');
    expect(plain.status, plain.text).to.equal(200);
    expect(await namesOf('keeps')).to.deep.equal([...left].sort());

    // The same name again: its own tasks go with it, those of the one before (another uid) stay.
    const again = await webhook('keeps');
    expect(again.metadata.uid).not.to.equal(kept.metadata.uid);
    const own = await deliver(again.status.endpointPath, 2, 'k2');
    expect(await namesOf('keeps')).to.have.length(5);
    const cascaded = await d.api('DELETE', '/v1/task-webhooks/keeps?cascade=true');
    expect(cascaded.status, cascaded.text).to.equal(200);
    expect(cascaded.body.metadata.uid).to.equal(again.metadata.uid);
    expect(await namesOf('keeps')).to.deep.equal([...left].sort());
    for (const t of own) expect(await taskStatus(t)).to.equal(404);
  });

  it('DELETE ?cascade=true goes through more run tasks than one delete batch holds', async () => {
    const w = await webhook('many', { history_limit: 1000 });
    await Promise.all(Array.from({ length: 6 }, (_, i) => deliver(w.status.endpointPath, 100, `m${i}`)));
    expect(await tasksOf('many')).to.have.length(600);
    const r = await d.api('DELETE', '/v1/task-webhooks/many?cascade=true');
    expect(r.status, r.text).to.equal(200);
    expect(await tasksOf('many')).to.have.length(0);
  });

  it('refuses a bad ?cascade before deleting anything', async () => {
    const w = await webhook('stays-put');
    const [task] = await deliver(w.status.endpointPath, 1, 'sp');
    const r = await d.api('DELETE', '/v1/task-webhooks/stays-put?cascade=maybe');
    expect(r.status, r.text).to.equal(400);
    expect(r.body.message).to.equal('invalid cascade "maybe": true or false');
    expect((await d.api('GET', '/v1/task-webhooks/stays-put')).status).to.equal(200);
    expect(await taskStatus(task!)).to.equal(200);
  });

  it('refuses a negative history_limit and ttl_seconds_after_finished', async () => {
    for (const spec of [{ history_limit: -1 }, { ttl_seconds_after_finished: -1 }, { history_limit: 1.5 }]) {
      const r = await d.api('PUT', '/v1/task-webhooks/bad', taskWebhook('bad', { task_ref: 'tpl', auth: { secret_ref: 'shared' }, ...spec }));
      expect(r.status, JSON.stringify(spec)).to.equal(422);
    }
  });
});
