import { expect } from 'chai';
import { eventually, Orlojd } from '../helpers/orlojd.js';
import { put, readyOf, secret, taskWebhook, templateTask } from '../helpers/fixtures.js';
import { send } from '../helpers/deliveries.js';

describe('TaskWebhook reconciler', function () {
  let d: Orlojd;
  before(async () => {
    d = await Orlojd.start();
  });
  after(async () => d.destroy());

  const webhook = async (name: string) => (await d.api('GET', `/v1/task-webhooks/${name}`)).body;
  const waitReason = (name: string, status: string, reason: string) =>
    eventually(async () => {
      const w = await webhook(name);
      const c = readyOf(w);
      return c?.status === status && c.reason === reason ? w : undefined;
    }, 3000);

  it('reports a missing template, then recovers by itself when it is applied', async () => {
    await put(d, secret('sec', { value: 'k1' }));
    await put(d, taskWebhook('needs-tpl', { task_ref: 'later-template', auth: { secret_ref: 'sec' } }));
    const broken = await waitReason('needs-tpl', 'False', 'TemplateNotFound');
    expect(broken.status.phase).to.equal('Error');
    expect(broken.status.lastError).to.include('later-template');
    expect(broken.status.endpointPath).to.match(/^\/v1\/webhook-deliveries\//);
    await put(d, templateTask('later-template'));
    const fixed = await waitReason('needs-tpl', 'True', 'Ready');
    expect(fixed.status.phase).to.equal('Ready');
    expect(fixed.status).not.to.have.property('lastError');
    expect(fixed.status.endpointID).to.equal(broken.status.endpointID);
    expect(fixed.status).to.include({ acceptedCount: 0, duplicateCount: 0, rejectedCount: 0 });
  });

  it('reports a missing secret, then recovers when the secret is applied', async () => {
    await put(d, templateTask('tpl'));
    await put(d, taskWebhook('needs-secret', { task_ref: 'tpl', auth: { secret_ref: 'later-secret' } }));
    await waitReason('needs-secret', 'False', 'SecretNotFound');
    await put(d, secret('later-secret', { value: 'k' }));
    await waitReason('needs-secret', 'True', 'Ready');
  });

  it('refuses a run task as template, and notices when the template is deleted', async () => {
    await put(d, { kind: 'Task', metadata: { name: 'a-run-task' }, spec: { mode: 'run' } } as never);
    await put(d, taskWebhook('bad-tpl', { task_ref: 'a-run-task', auth: { secret_ref: 'sec' } }));
    await waitReason('bad-tpl', 'False', 'TaskNotTemplate');
    await put(d, taskWebhook('loses-tpl', { task_ref: 'tpl', auth: { secret_ref: 'sec' } }));
    await waitReason('loses-tpl', 'True', 'Ready');
    expect((await d.api('DELETE', '/v1/tasks/tpl')).status).to.equal(200);
    await waitReason('loses-tpl', 'False', 'TemplateNotFound');
  });

  it('shows Suspended while spec.suspend is true', async () => {
    await put(d, templateTask('tpl2'));
    await put(d, taskWebhook('sus', { task_ref: 'tpl2', auth: { secret_ref: 'sec' }, suspend: true }));
    const w = await waitReason('sus', 'False', 'Suspended');
    expect(w.status.phase).to.equal('Suspended');
  });

  it('clears lastError once Ready again, a refusal recorded meanwhile included; the events keep the past error', async () => {
    await put(d, templateTask('tpl-r'));
    await put(d, taskWebhook('recovers', { task_ref: 'tpl-r', auth: { secret_ref: 'recovers-secret' } }));
    const broken = await waitReason('recovers', 'False', 'SecretNotFound');
    expect(broken.status.lastError).to.equal('secret "recovers-secret" not found in namespace "default"');
    // The sender keeps trying; its refusal reaches the status only after the fix below.
    expect((await send(d, broken.status.endpointPath, { secret: 'k', body: '{}' })).status).to.equal(401);
    await put(d, secret('recovers-secret', { value: 'k' }));
    await waitReason('recovers', 'True', 'Ready');
    const st = await eventually(async () => {
      const s = (await webhook('recovers')).status;
      return s.rejectedCount === 1 ? s : undefined;
    });
    expect(readyOf({ status: st })?.status).to.equal('True');
    expect(st).not.to.have.property('lastError');
    const events = (await d.api('GET', '/v1/events?kind=TaskWebhook&namespace=default&name=recovers')).body.items as Array<{ type: string; reason: string; message: string }>;
    expect(events.map((e) => `${e.type} ${e.reason}: ${e.message}`)).to.include.members([
      'Warning SecretNotFound: secret "recovers-secret" not found in namespace "default"',
      'Normal Ready: accepting deliveries',
    ]);
    // A delivery refused while Ready is its lastError again.
    expect((await send(d, broken.status.endpointPath, { secret: 'not-k', body: '{}' })).status).to.equal(401);
    await eventually(async () => (await webhook('recovers')).status.lastError === 'signature verification failed: signature mismatch');
  });

  it('clears lastError when a suspended webhook resumes', async () => {
    await put(d, taskWebhook('pauses', { task_ref: 'tpl-r', auth: { secret_ref: 'recovers-secret' }, suspend: true }));
    const paused = await waitReason('pauses', 'False', 'Suspended');
    expect((await send(d, paused.status.endpointPath, { secret: 'k', body: '{}' })).status).to.equal(409);
    await eventually(async () => (await webhook('pauses')).status.lastError === 'delivery refused: webhook is suspended');
    await put(d, taskWebhook('pauses', { task_ref: 'tpl-r', auth: { secret_ref: 'recovers-secret' } }));
    const resumed = await waitReason('pauses', 'True', 'Ready');
    expect(resumed.status).not.to.have.property('lastError');
  });

  it('records events on Ready transitions', async () => {
    const ev = await d.api('GET', '/v1/events?kind=TaskWebhook&namespace=default&name=needs-tpl');
    const reasons = ev.body.items.map((e: { reason: string }) => e.reason);
    expect(reasons).to.include.members(['TemplateNotFound', 'Ready']);
  });

  it('endpoint IDs are unique across webhooks', async () => {
    const list = (await d.api('GET', '/v1/task-webhooks?allNamespaces=true')).body.items;
    const ids = list.map((w: { status: { endpointID: string } }) => w.status.endpointID);
    expect(new Set(ids).size).to.equal(ids.length);
  });
});
