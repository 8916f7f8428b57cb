import { expect } from 'chai';
import { eventually, Orlojd } from '../helpers/orlojd.js';
import { put, readyOf, secret, taskWebhook, templateTask } from '../helpers/fixtures.js';
import { send } from '../helpers/deliveries.js';
import { ctl } from './ctl.js';

const SECRET = 'cascade-secret';

describe('orlojctl delete task-webhook --cascade; the default namespace', function () {
  this.timeout(60_000);
  let d: Orlojd;
  before(async () => {
    d = await Orlojd.start();
    await put(d, secret('shared', { value: SECRET }));
    await put(d, templateTask('tpl'));
  });
  after(async () => d?.destroy());

  /** A Ready webhook that received `n` deliveries; returns the names of the run tasks they made. */
  async function webhookWithTasks(name: string, n: number): Promise<string[]> {
    await put(d, taskWebhook(name, { task_ref: 'tpl', auth: { secret_ref: 'shared' } }));
    const ep = await eventually(async () => {
      const o = (await d.api('GET', `/v1/task-webhooks/${name}`)).body;
      return readyOf(o)?.status === 'True' ? (o.status.endpointPath as string) : undefined;
    });
    const names: string[] = [];
    for (let i = 0; i < n; i++) {
      const res = await send(d, ep, { secret: SECRET, body: JSON.stringify({ n: `${name}-${i}` }), eventId: `${name}-${i}` });
      expect(res.status, res.text).to.equal(202);
      names.push(res.body.task as string);
    }
    return names;
  }
  const runTasks = async (name: string): Promise<string[]> => {
    const r = await ctl(d, ['get', 'tasks', '-l', `orloj.dev/task-webhook=${name}`, '-o', 'name']);
    expect(r.code, r.stderr).to.equal(0);
    return r.stdout.split('\n').filter(Boolean).sort();
  };

  it('without --cascade the run tasks stay; with it they go', async () => {
    const stay = await webhookWithTasks('stays', 2);
    const plain = await ctl(d, ['delete', 'task-webhook', 'stays']);
    expect(plain.code, plain.stderr).to.equal(0);
    expect(plain.stdout).to.equal('task-webhook/stays deleted\n');
    expect(await runTasks('stays')).to.deep.equal(stay.map((t) => `task/${t}`).sort());

    await webhookWithTasks('goes', 3);
    const cascaded = await ctl(d, ['delete', 'task-webhook', 'goes', '--cascade']);
    expect(cascaded.code, cascaded.stderr).to.equal(0);
    expect(cascaded.stdout).to.equal('task-webhook/goes deleted\n');
    expect(await runTasks('goes')).to.deep.equal([]);
    // Only its own: the other webhook's tasks and the template are untouched.
    expect(await runTasks('stays')).to.have.length(2);
    expect((await d.api('GET', '/v1/tasks/tpl')).status).to.equal(200);
  });

  it('refuses a --cascade value it does not know, deleting nothing', async () => {
    const tasks = await webhookWithTasks('asked', 1);
    const r = await ctl(d, ['delete', 'task-webhook', 'asked', '--cascade=orphan']);
    // A usage error, as any bad flag value.
    expect(r.code).to.equal(2);
    expect(r.stderr).to.match(/^error: invalid value "orphan" for --cascade\n/);
    expect((await d.api('GET', '/v1/task-webhooks/asked')).status).to.equal(200);
    expect(await runTasks('asked')).to.deep.equal(tasks.map((t) => `task/${t}`));
  });

  it('get ns lists default, as GET /v1/namespaces does; it cannot be deleted', async () => {
    const listed = await ctl(d, ['get', 'ns']);
    expect(listed.code, listed.stderr).to.equal(0);
    expect(listed.stdout).to.match(/^default\s/m);
    const api = await d.api('GET', '/v1/namespaces');
    expect(api.body.items.map((n: { metadata: { name: string } }) => n.metadata.name)).to.include('default');
    const one = await ctl(d, ['get', 'ns', 'default', '-o', 'name']);
    expect(one.stdout).to.equal('namespace/default\n');
    const del = await d.api('DELETE', '/v1/namespaces/default');
    expect(del.status, del.text).to.equal(403);
    // Still there after a restart, made once.
    const uid = (await d.api('GET', '/v1/namespaces/default')).body.metadata.uid;
    await d.restart();
    expect((await d.api('GET', '/v1/namespaces/default')).body.metadata.uid).to.equal(uid);
  });
});
