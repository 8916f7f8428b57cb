// orlojctl describe delivery ID: one record end to end, with the others of its event (the
// delivery, its duplicates and refusals, an outbound message's attempts); describe of a
// receiver or trigger ends with its newest deliveries.
import { expect } from 'chai';
import { eventually, Orlojd } from '../helpers/orlojd.js';
import { put, readyWebhook, resource } from '../helpers/fixtures.js';
import { send } from '../helpers/deliveries.js';
import { ALLOW_LOOPBACK, attempts, Destination, readyTrigger, writeDoc } from '../trigger/helpers.js';
import { ctl } from './ctl.js';

interface Rec {
  id: number;
  outcome: string;
  eventId?: string;
}

describe('orlojctl describe delivery', function () {
  this.timeout(60_000);
  let d: Orlojd;
  let dest: Destination;
  before(async () => {
    dest = await Destination.start((n) => (n === 0 ? 503 : 200));
    d = await Orlojd.start({ args: ALLOW_LOOPBACK });
  });
  after(async () => {
    await d.destroy();
    await dest.close();
  });

  const records = async (owner: string): Promise<Rec[]> => (await d.api<{ items: Rec[] }>('GET', `/v1/deliveries?owner=${owner}`)).body.items;

  it('an accepted delivery, its duplicate and a refused copy: each shows the owner, outcome, the task made, and the same chain', async () => {
    const path = await readyWebhook(d, 'gh', 'gh-secret');
    const body = '{"action":"opened"}';
    expect((await send(d, path, { secret: 'gh-secret', body, eventId: 'evt-42' })).status).to.equal(202);
    expect((await send(d, path, { secret: 'gh-secret', body, eventId: 'evt-42' })).status).to.equal(202);
    expect((await send(d, path, { secret: 'wrong', body, eventId: 'evt-42' })).status).to.equal(401);
    const recs = await eventually(async () => {
      const rs = (await records('task-webhook/gh')).filter((r) => r.eventId === 'evt-42');
      return rs.length === 3 ? rs : undefined;
    });
    const accepted = recs.find((r) => r.outcome === 'accepted')!;
    const out = await ctl(d, ['describe', 'delivery', String(accepted.id)]);
    expect(out.code, out.stderr).to.equal(0);
    expect(out.stdout).to.match(/^Delivery:\s+\d+\n/).and.match(/Owner:\s+TaskWebhook\/default\/gh\n/).and.match(/Event:\s+evt-42\n/);
    expect(out.stdout).to.match(/Outcome:\s+accepted\n/).and.match(/HTTP:\s+202\n/).and.match(/Result:\s+task\/gh-\S+\n/).and.match(/Duration:\s+[\d.]+ ms\n/);
    const chain = out.stdout.slice(out.stdout.indexOf('Chain'));
    expect(chain).to.match(new RegExp(`\\*${accepted.id}\\s.*accepted`));
    expect(chain).to.match(/\s(\d+)\s.*evt-42\s+duplicate\s/).and.match(/\s(\d+)\s.*evt-42\s+rejected\s.*signature verification failed/);
    const rejected = recs.find((r) => r.outcome === 'rejected')!;
    const r = await ctl(d, ['describe', 'delivery', String(rejected.id)]);
    expect(r.stdout).to.match(/Outcome:\s+rejected\n/).and.match(/HTTP:\s+401\n/).and.match(/Reason:\s+signature verification failed/);
    expect(r.stdout.slice(r.stdout.indexOf('Chain'))).to.match(new RegExp(`\\*${rejected.id}\\s`)).and.include('accepted');
    const w = await ctl(d, ['describe', 'task-webhook', 'gh']);
    expect(w.stdout).to.match(/Deliveries \(newest first\):\n/).and.match(/evt-42\s+rejected/);
  });

  it('a retried outbound message: each attempt shows its number, and the chain holds both', async () => {
    await put(d, resource('Collection', 'incidents', {}));
    await readyTrigger(d, 'notify', { collection: 'incidents', url: `${dest.url}/hook`, retry: { max_attempts: 3, backoff_seconds: [0] } });
    await writeDoc(d, 'incidents', { id: 'i-1', title: 'spike' });
    const done = await eventually(async () => (await attempts(d, 'notify')).find((a) => a.outcome === 'delivered'));
    const out = await ctl(d, ['describe', 'delivery', String(done.id)]);
    expect(out.code, out.stderr).to.equal(0);
    expect(out.stdout).to.match(/Owner:\s+Trigger\/default\/notify\n/).and.match(/Outcome:\s+delivered\n/).and.match(/Attempt:\s+2\n/).and.match(/Result:\s+queued message \d+\n/);
    const chain = out.stdout.slice(out.stdout.indexOf('Chain'));
    expect(chain).to.match(/\s1\s+503\s/).and.match(new RegExp(`\\*${done.id}\\s.*delivered\\s+2\\s+200`));
    expect(chain.indexOf('retry_scheduled'), 'oldest first').to.be.lessThan(chain.indexOf('delivered'));
  });

  it('an id that is no number is a usage error; an unknown one is NotFound', async () => {
    expect((await ctl(d, ['describe', 'delivery', 'abc'])).code).to.equal(2);
    const missing = await ctl(d, ['describe', 'delivery', '999999']);
    expect(missing.code).to.equal(1);
    expect(missing.stderr).to.include('delivery 999999 not found');
  });
});
