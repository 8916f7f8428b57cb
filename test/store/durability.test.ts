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

  it('keeps every resource, status and endpoint ID after kill -9, and a re-apply changes nothing', async () => {
    await put(d, secret('s', { value: 'v' }));
    await put(d, templateTask('tpl'));
    await put(d, taskWebhook('wh', { task_ref: 'tpl', auth: { secret_ref: 's' } }));
    const before = await eventually(async () => {
      const w = (await d.api('GET', '/v1/task-webhooks/wh')).body;
      return readyOf(w)?.status === 'True' ? w : undefined;
    });
    const listBefore = (await d.api('GET', '/v1/tasks')).body.items;
    await d.kill9();
    await d.restart();
    const after = (await d.api('GET', '/v1/task-webhooks/wh')).body;
    expect(after.status.endpointID).to.equal(before.status.endpointID);
    expect(after.metadata.uid).to.equal(before.metadata.uid);
    expect(readyOf(after)?.status).to.equal('True');
    expect((await d.api('GET', '/v1/tasks')).body.items).to.deep.equal(listBefore);
    for (const o of [secret('s', { value: 'v' }), templateTask('tpl'), taskWebhook('wh', { task_ref: 'tpl', auth: { secret_ref: 's' } })]) {
      const r = await put(d, o);
      expect(r.headers.get('x-orloj-result')).to.equal('unchanged');
    }
    // Let the reconcilers run after restart, then check nothing moved.
    await new Promise((r) => setTimeout(r, 300));
    expect((await d.api('GET', '/v1/task-webhooks/wh')).body.metadata.resourceVersion).to.equal(after.metadata.resourceVersion);
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
    const sent = await Promise.all(Array.from({ length: 40 }, (_, i) => send(d, ep, { secret: 'v', body: '{}', eventId: `c-${i}` })));
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
