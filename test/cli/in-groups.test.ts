import { expect } from 'chai';
import { inGroups } from '../../pkg/cli/manifests.js';

/** Calls that end when the test says so, and a log of what started and ended when. */
class Calls {
  readonly log: string[] = [];
  private readonly pending = new Map<number, () => void>();
  private waiters: Array<() => void> = [];

  run = (i: number): Promise<number> => {
    this.log.push(`start ${i}`);
    this.waiters.splice(0).forEach((w) => w());
    return new Promise((resolve, reject) => {
      this.pending.set(i, () => {
        this.log.push(`end ${i}`);
        if (i < 0) reject(new Error(`call ${i} failed`));
        else resolve(i * 10);
      });
    });
  };

  started(): number[] {
    return [...this.pending.keys()];
  }

  /** Resolves once `n` calls are under way (started, not ended). */
  async underWay(n: number): Promise<void> {
    while (this.pending.size < n) await new Promise<void>((r) => this.waiters.push(r));
  }

  end(i: number): void {
    const f = this.pending.get(i);
    if (!f) throw new Error(`call ${i} is not under way`);
    this.pending.delete(i);
    f();
  }
}

/** Lets every settled promise's continuations run. */
const settle = (): Promise<void> => new Promise((r) => setImmediate(r));

describe('inGroups: parallel within a group, groups one after another', () => {
  it('starts at most `parallel` calls of a group, and none of the next group before the group ends', async () => {
    const calls = new Calls();
    const done: string[] = [];
    const items = [1, 2, 3, 4, 5, 6];
    const group = (i: number): number => (i <= 4 ? 1 : 2);
    const all = inGroups(items, group, calls.run, (i, r) => done.push(`${i}=${r}`), 3);
    await calls.underWay(3);
    expect(calls.started()).to.deep.equal([1, 2, 3]);
    calls.end(2);
    await settle();
    expect(calls.started()).to.deep.equal([1, 3, 4]);
    calls.end(1);
    calls.end(3);
    await settle();
    // 4 is still under way: group 2 waits for it.
    expect(calls.started()).to.deep.equal([4]);
    expect(done).to.deep.equal(['1=10', '2=20', '3=30']);
    calls.end(4);
    await calls.underWay(2);
    expect(calls.started()).to.deep.equal([5, 6]);
    calls.end(6);
    await settle();
    expect(done).to.deep.equal(['1=10', '2=20', '3=30', '4=40']); // 6 waits for 5, in item order
    calls.end(5);
    await all;
    expect(done).to.deep.equal(['1=10', '2=20', '3=30', '4=40', '5=50', '6=60']);
  });

  it('reports results in item order, whatever order they arrive in', async () => {
    const calls = new Calls();
    const done: number[] = [];
    const all = inGroups([1, 2, 3], () => 0, calls.run, (i) => done.push(i), 3);
    await calls.underWay(3);
    calls.end(3);
    calls.end(2);
    await settle();
    expect(done).to.deep.equal([]);
    calls.end(1);
    await all;
    expect(done).to.deep.equal([1, 2, 3]);
  });

  it('after a failure starts nothing new, lets the calls under way end, then throws it', async () => {
    const calls = new Calls();
    const all = inGroups([1, -2, 3, 4, 5], (i) => (i === 5 ? 2 : 1), calls.run, () => undefined, 2);
    let thrown: unknown;
    const caught = all.catch((e: unknown) => void (thrown = e));
    await calls.underWay(2);
    calls.end(-2);
    await settle();
    expect(calls.started()).to.deep.equal([1]);
    expect(thrown).to.equal(undefined);
    calls.end(1);
    await caught;
    expect((thrown as Error).message).to.equal('call -2 failed');
    expect(calls.log).not.to.include('start 3').and.not.to.include('start 5');
  });
});
