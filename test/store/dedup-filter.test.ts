import { expect } from 'chai';
import { DedupFilter, dedupKey } from '../../pkg/store/sqlite/dedup-filter.js';

describe('DedupFilter', function () {
  it('never forgets a key it was given', () => {
    const f = new DedupFilter(100_000);
    for (let i = 0; i < 100_000; i++) f.add(dedupKey('uid-1', `evt-${i}`));
    for (let i = 0; i < 100_000; i++) expect(f.mightContain(dedupKey('uid-1', `evt-${i}`))).to.equal(true);
    expect(f.full).to.equal(true);
  });

  it('answers "no" for almost every unseen key at capacity', () => {
    const f = new DedupFilter(50_000);
    for (let i = 0; i < 50_000; i++) f.add(dedupKey('uid-1', `seen-${i}`));
    let falsePositives = 0;
    for (let i = 0; i < 50_000; i++) if (f.mightContain(dedupKey('uid-1', `new-${i}`))) falsePositives++;
    expect(falsePositives / 50_000).to.be.below(0.02);
  });

  it('keeps webhooks apart: the same event id under another webhook is another key', () => {
    const f = new DedupFilter(1000);
    f.add(dedupKey('uid-a', 'evt-1'));
    expect(f.mightContain(dedupKey('uid-a', 'evt-1'))).to.equal(true);
    expect(f.mightContain(dedupKey('uid-b', 'evt-1'))).to.equal(false);
  });
});
