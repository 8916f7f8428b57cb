import { expect } from 'chai';
import { WorkQueue } from '../../pkg/controller/queue.js';

describe('WorkQueue', function () {
  it('merges a key queued twice', async () => {
    const q = new WorkQueue();
    q.add('a');
    q.add('a');
    q.add('b');
    expect(q.length).to.equal(2);
    q.shutdown();
  });

  it('never hands out a key that is being processed; one added meanwhile runs again after', async () => {
    const q = new WorkQueue();
    q.add('a');
    const k = await q.get();
    q.add('a');
    expect(q.length).to.equal(0); // parked until done
    q.done(k!);
    expect(q.length).to.equal(1);
    expect(await q.get()).to.equal('a');
    q.shutdown();
  });

  it('backs off exponentially per key and forgets after success', async () => {
    const q = new WorkQueue(10, 1000);
    expect([q.addRateLimited('a'), q.addRateLimited('a'), q.addRateLimited('a')]).to.deep.equal([10, 20, 40]);
    expect(q.addRateLimited('b')).to.equal(10);
    q.forget('a');
    expect(q.addRateLimited('a')).to.equal(10);
    const started = Date.now();
    expect(await q.get()).to.be.oneOf(['a', 'b']);
    expect(Date.now() - started).to.be.at.least(8);
    q.shutdown();
  });

  it('caps the backoff', () => {
    const q = new WorkQueue(10, 50);
    const delays = Array.from({ length: 6 }, () => q.addRateLimited('k'));
    expect(delays).to.deep.equal([10, 20, 40, 50, 50, 50]);
    q.shutdown();
  });

  it('releases waiting workers on shutdown', async () => {
    const q = new WorkQueue();
    const waiting = q.get();
    q.shutdown();
    expect(await waiting).to.equal(undefined);
  });
});
