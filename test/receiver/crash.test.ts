import { expect } from 'chai';
import { runCrashScenario } from '../helpers/crash.js';

describe('crash safety (short form of make crash-test)', function () {
  this.timeout(120_000);

  it('kill -9 while deliveries are in flight: every acknowledged event has exactly one task', async () => {
    const r = await runCrashScenario({ deliveries: 400, kills: 3, concurrency: 16 });
    expect(r.kills).to.equal(3);
    expect(r.acked).to.equal(400);
    expect(r.missing).to.deep.equal([]);
    expect(r.doubled).to.deep.equal([]);
    expect(r.tasks).to.equal(400);
  });

  it('kill -9 while deliveries to an InboundWebhook are in flight: every acknowledged event has its document, written once', async () => {
    const r = await runCrashScenario({ receiver: 'inbound-webhook', deliveries: 400, kills: 3, concurrency: 16 });
    expect(r.kills).to.equal(3);
    expect(r.acked).to.equal(400);
    expect(r.missing).to.deep.equal([]);
    expect(r.doubled).to.deep.equal([]);
    expect(r.tasks).to.equal(400);
  });
});
