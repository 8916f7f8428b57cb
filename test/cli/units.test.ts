import { expect } from 'chai';
import { parseDuration } from '../../pkg/cli/args.js';
import { cell, evaluate } from '../../pkg/cli/jsonpath.js';
import { unifiedDiff } from '../../pkg/util/linediff.js';

describe('orlojctl jsonpath, durations, line diff', () => {
  const obj = {
    metadata: { labels: { 'orloj.dev/task-webhook': 'hook', plain: 'p' } },
    spec: { auth: { profile: 'github' }, list: [10, 20, 30] },
    status: { conditions: [{ type: 'Synced', status: 'False' }, { type: 'Ready', status: 'True' }] },
  };

  it('evaluates the column subset: keys, escaped dots, indexes, filters', () => {
    expect(cell(obj, '.spec.auth.profile')).to.equal('github');
    expect(cell(obj, '.metadata.labels.orloj\\.dev/task-webhook')).to.equal('hook');
    expect(cell(obj, '.spec.list[1]')).to.equal('20');
    expect(cell(obj, '.spec.list[-1]')).to.equal('30');
    expect(cell(obj, '.status.conditions[?(@.type=="Ready")].status')).to.equal('True');
    expect(cell(obj, ".status.conditions[?(@.type!='Ready')].type")).to.equal('Synced');
    expect(cell(obj, '{.spec.list[*]}')).to.equal('10,20,30');
    expect(cell(obj, '.status.missing.deeper')).to.equal('');
    expect(evaluate(obj, '.status.conditions[?(@.type=="Gone")].status')).to.deep.equal([]);
    expect(() => evaluate(obj, 'spec')).to.throw(/must start with/);
  });

  it('parses durations', () => {
    expect(parseDuration('30s')).to.equal(30_000);
    expect(parseDuration('2m')).to.equal(120_000);
    expect(parseDuration('500ms')).to.equal(500);
    expect(parseDuration('5')).to.equal(5000);
    expect(() => parseDuration('soon')).to.throw(/invalid duration/);
  });

  it('writes unified hunks with context, and nothing for equal input', () => {
    const a = 'a\nb\nc\nd\ne\nf\ng\nh\ni\nj\n';
    expect(unifiedDiff(a, a, 'x', 'y')).to.equal('');
    const d = unifiedDiff(a, a.replace('b\n', 'B\n').replace('i\n', ''), 'old', 'new', 1);
    expect(d).to.equal(['--- old', '+++ new', '@@ -1,3 +1,3 @@', ' a', '-b', '+B', ' c', '@@ -8,3 +8,2 @@', ' h', '-i', ' j', ''].join('\n'));
  });
});
