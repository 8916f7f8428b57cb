import { expect } from 'chai';
import { eventually, Orlojd } from '../helpers/orlojd.js';
import { put, readyOf, readyWebhook, secret, taskWebhook, templateTask } from '../helpers/fixtures.js';
import { send } from '../helpers/deliveries.js';

describe('store: durability across restarts', function () {
  let d: Orlojd;
  before(async () => {
    d = await Orlojd.start();
  });
  after(async () => d.destroy());

  /** The store-wide revision: moves with any write of any object. */
  const storeRevision = async (): Promise<string> => (await d.api('GET', '/v1/tasks')).body.metadata.resourceVersion;
  /** Successful reconciles of `kind` since this orlojd process started (its own counter). */
  async function reconciled(kind: string): Promise<number> {
    const line = (await d.api('GET', '/metrics')).text
      .split('\n')
      .find((l) => l.startsWith('orloj_reconcile_total{') && l.includes(`kind="${kind}"`) && l.includes('result="success"'));
    return line ? Number(line.slice(line.lastIndexOf(' ') + 1)) : 0;
  }

  it('keeps every resource, status and endpoint ID after kill -9, and a re-apply changes nothing', async () => {
    await put(d, secret('s', { value: 'v' }));
    await put(d, templateTask('tpl'));
    await put(d, taskWebhook('wh', { task_ref: 'tpl', auth: { secret_ref: 's' } }));
    // Every object at its reconciler's fixpoint: each status observed the current generation
    // and shows Ready. From here no reconciler has anything left to write.
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    const settled = (o: any): boolean =>
      o.status?.observedGeneration === o.metadata.generation && readyOf(o)?.status === 'True';
    const before = await eventually(async () => {
      const [w, s, t] = await Promise.all(['task-webhooks/wh', 'secrets/s', 'tasks/tpl'].map(async (p) => (await d.api('GET', `/v1/${p}`)).body));
      return settled(w) && settled(s) && settled(t) ? w : undefined;
    });
    const listBefore = (await d.api('GET', '/v1/tasks')).body.items;
    const revBefore = await storeRevision();
    await d.kill9();
    await d.restart();
    const after = (await d.api('GET', '/v1/task-webhooks/wh')).body;
    expect(after.status.endpointID).to.equal(before.status.endpointID);
    expect(after.metadata.uid).to.equal(before.metadata.uid);
    expect(after.metadata.resourceVersion).to.equal(before.metadata.resourceVersion);
    expect(readyOf(after)?.status).to.equal('True');
    expect((await d.api('GET', '/v1/tasks')).body.items).to.deep.equal(listBefore);
    // On start every TaskWebhook and Secret is queued once (the Task reconciler queues only
    // tasks whose status is behind, which none is). This process counts each reconcile once it
    // has finished, writes included: one TaskWebhook and one Secret reconcile means both ran
    // over the restored objects. Nothing was written if the store revision did not move.
    await eventually(async () => (await reconciled('TaskWebhook')) >= 1 && (await reconciled('Secret')) >= 1);
    expect(await storeRevision()).to.equal(revBefore);
    for (const o of [secret('s', { value: 'v' }), templateTask('tpl'), taskWebhook('wh', { task_ref: 'tpl', auth: { secret_ref: 's' } })]) {
      const r = await put(d, o);
      expect(r.headers.get('x-orloj-result')).to.equal('unchanged');
    }
    // An unchanged apply writes nothing, so it wakes no reconciler either.
    expect(await storeRevision()).to.equal(revBefore);
    expect((await d.api('GET', '/v1/task-webhooks/wh')).body.metadata.resourceVersion).to.equal(before.metadata.resourceVersion);
  });

  it('the store-wide revision never goes backwards across restarts', async () => {
    const r1 = Number((await d.api('GET', '/v1/tasks')).body.metadata.resourceVersion);
    await d.kill9();
    await d.restart();
    const created = await put(d, templateTask('after-restart'));
    expect(Number(created.body.metadata.resourceVersion)).to.be.above(r1);
  });
});

describe('store: counters across kill -9', function () {
  let d: Orlojd;
  before(async () => {
    d = await Orlojd.start();
  });
  after(async () => d.destroy());

  it('shows every acknowledged delivery in the counters after a kill -9 right after the last 202', async () => {
    const ep = await readyWebhook(d, 'counted', 'v');
    const sent = await Promise.all(Array.from({ length: 40 }, (_, i) => send(d, ep, { secret: 'v', body: `{"i":${i}}`, eventId: `c-${i}` })));
    expect(sent.every((r) => r.status === 202)).to.equal(true);
    await d.kill9();
    await d.restart();
    const st = await eventually(async () => {
      const s = (await d.api('GET', '/v1/task-webhooks/counted')).body.status;
      return s.acceptedCount === 40 ? s : undefined;
    });
    expect(st.acceptedCount).to.equal(40);
  });
});
