import { expect } from 'chai';
import { eventually, Orlojd } from '../helpers/orlojd.js';
import { put, readyOf, secret, taskWebhook, templateTask } from '../helpers/fixtures.js';
import { ctl, type CtlResult } from './ctl.js';

interface Answer {
  event_id: string;
  task: string;
}

const hooks: Record<string, { profile: string; event_id_header?: string }> = {
  'stripe-hook': { profile: 'stripe' },
  'slack-hook': { profile: 'slack' },
  'standard-hook': { profile: 'standard-webhooks' },
  // Dedup on another header than webhook-id, which the signature covers.
  'standard-own-header': { profile: 'standard-webhooks', event_id_header: 'X-Delivery-Id' },
  'gitlab-hook': { profile: 'gitlab' },
};

/** `webhook send --event-id` puts the id where each profile reads it, header or body. */
describe('orlojctl webhook send --event-id', function () {
  this.timeout(60_000);
  let d: Orlojd;
  before(async () => {
    d = await Orlojd.start();
    await put(d, secret('evt-secret', { key: 'whsec_ZXZlbnQgaWQgdGVzdCBrZXk=' }));
    await put(d, templateTask('evt-tpl'));
    for (const [name, { profile, event_id_header }] of Object.entries(hooks)) {
      const idempotency = event_id_header ? { event_id_header } : {};
      await put(d, taskWebhook(name, { task_ref: 'evt-tpl', auth: { secret_ref: 'evt-secret', profile }, idempotency, payload: { mode: 'json' } }));
    }
    for (const name of Object.keys(hooks)) {
      await eventually(async () => readyOf((await d.api('GET', `/v1/task-webhooks/${name}`)).body)?.status === 'True', 10_000);
    }
  });
  after(async () => d?.destroy());

  const send = (hook: string, body: string, ...extra: string[]): Promise<CtlResult> => ctl(d, ['webhook', 'send', hook, '-d', body, ...extra]);
  const answer = (r: CtlResult): Answer => {
    expect(r.stdout, r.stderr).to.match(/^HTTP 202 /);
    return JSON.parse(r.stdout.split('\n')[1]!) as Answer;
  };
  const payloadOf = async (a: Answer) => (await d.api('GET', `/v1/tasks/${a.task}`)).body.spec.input.webhook_payload as Record<string, unknown>;

  it('sets the body field of profiles that read the event id from the body, and signs what it sends', async () => {
    const stripe = answer(await send('stripe-hook', '{"type":"invoice.paid","n":1}', '--event-id', 'evt_given'));
    expect(stripe.event_id).to.equal('evt_given');
    expect(await payloadOf(stripe)).to.deep.equal({ type: 'invoice.paid', n: 1, id: 'evt_given' });
    // A body's own id gives way to the one asked for; without --event-id it is kept.
    expect(answer(await send('stripe-hook', '{"id":"evt_body","n":2}', '--event-id', 'evt_flag')).event_id).to.equal('evt_flag');
    expect(answer(await send('stripe-hook', '{"id":"evt_own","n":3}')).event_id).to.equal('evt_own');
    const slack = answer(await send('slack-hook', '{"type":"event_callback","n":4}', '--event-id', 'Ev0001'));
    expect(slack.event_id).to.equal('Ev0001');
    expect(await payloadOf(slack)).to.include({ event_id: 'Ev0001' });
  });

  it('puts the id in the header a profile reads, also one the spec names', async () => {
    for (const hook of ['standard-hook', 'standard-own-header', 'gitlab-hook']) {
      const r = await send(hook, `{"hook":"${hook}"}`, '--event-id', `id-${hook}`);
      expect(r.stderr).to.equal('');
      expect(answer(r).event_id).to.equal(`id-${hook}`);
    }
  });

  it('warns on stderr when the body cannot carry the id', async () => {
    const r = await send('stripe-hook', 'not json', '--event-id', 'evt_lost');
    expect(r.stderr).to.equal('warning: --event-id is not sent: the stripe profile reads the event id from the body\'s "id" field, and the body is not a JSON object\n');
    expect(r.stdout).to.match(/^HTTP 400 /);
    expect(r.code).to.equal(1);
    const list = await send('slack-hook', '[1,2]', '--event-id', 'Ev0002');
    expect(list.stderr).to.contain('the slack profile reads the event id from the body\'s "event_id" field');
    const empty = await send('stripe-hook', '{}', '--event-id', '');
    expect(empty.code).to.equal(2);
    expect(empty.stderr).to.contain('--event-id may not be empty');
  });
});
