import { expect } from 'chai';
import { SecretKind } from '../../pkg/api/kinds/secret.js';
import { TaskKind } from '../../pkg/api/kinds/task.js';
import { TaskWebhookKind } from '../../pkg/api/kinds/task-webhook.js';
import { LAST_APPLIED, appliedConfiguration, lastApplied, mergeThreeWay, threeWayApply } from '../../pkg/api/three-way.js';
import type { Resource } from '../../pkg/api/types.js';
import { recordOf, sentSpec } from '../../pkg/apiserver/apply.js';
import { stableStringify } from '../../pkg/util/json.js';

const task = (metadata: Partial<Resource['metadata']>, spec: Record<string, unknown>): Resource => ({
  apiVersion: 'orloj.dev/v1',
  kind: 'Task',
  metadata: { name: 't', namespace: 'default', ...metadata },
  spec,
});

/** `o` as a live object whose last apply sent `last`. */
const appliedOver = (o: Resource, last: Resource): Resource => ({
  ...o,
  metadata: { ...o.metadata, annotations: { ...o.metadata.annotations, [LAST_APPLIED]: JSON.stringify(appliedConfiguration(last)) } },
});

describe('three-way merge', () => {
  describe('mergeThreeWay', () => {
    it('sets what desired has, removes what only last had, keeps what neither had', () => {
      const last = { a: 1, b: 2 };
      const desired = { a: 10 };
      const live = { a: 1, b: 2, foreign: 'x' };
      expect(mergeThreeWay(last, desired, live)).to.deep.equal({ a: 10, foreign: 'x' });
    });

    it('merges objects key by key at every depth, and replaces arrays whole', () => {
      const last = { o: { keep: 1, drop: 2 }, list: [1, 2, 3] };
      const desired = { o: { keep: 1, add: 3 }, list: [9] };
      const live = { o: { keep: 1, drop: 2, other: 4 }, list: [1, 2, 3, 4] };
      expect(mergeThreeWay(last, desired, live)).to.deep.equal({ o: { keep: 1, add: 3, other: 4 }, list: [9] });
    });

    it('without a last configuration removes nothing', () => {
      expect(mergeThreeWay(undefined, { a: 1 }, { a: 0, b: 2 })).to.deep.equal({ a: 1, b: 2 });
    });

    it('replaces a live scalar or array with an object, and the other way round', () => {
      expect(mergeThreeWay({}, { a: { x: 1 } }, { a: 'text' })).to.deep.equal({ a: { x: 1 } });
      expect(mergeThreeWay({}, { a: 'text' }, { a: { x: 1 } })).to.deep.equal({ a: 'text' });
      expect(mergeThreeWay({}, { a: { x: 1 } }, { a: [1] })).to.deep.equal({ a: { x: 1 } });
    });

    it('keeps a null that desired sets as a value', () => {
      expect(mergeThreeWay({ a: 1 }, { a: null }, { a: 1 })).to.deep.equal({ a: null });
    });

    it('does not alias desired or change live', () => {
      const desired = { o: { x: [1] } };
      const live = { o: { y: 2 } };
      const out = mergeThreeWay(undefined, desired, live) as { o: { x: number[] } };
      out.o.x.push(2);
      expect(desired.o.x).to.deep.equal([1]);
      expect(live).to.deep.equal({ o: { y: 2 } });
    });
  });

  describe('threeWayApply', () => {
    it('keeps labels, annotations and spec fields another client set; drops what the last apply sent and this one does not', () => {
      const last = task({ labels: { app: 'a', old: 'x' }, annotations: { note: 'n' } }, { mode: 'template', system: 's', tags: ['a'] });
      const live = appliedOver(task({ labels: { app: 'a', old: 'x', team: 'ops' }, annotations: { note: 'n', by: 'hand' } }, { mode: 'template', system: 's', tags: ['a'], owner: 'ops' }), last);
      const desired = task({ labels: { app: 'b' } }, { mode: 'template', tags: ['b', 'c'] });
      const out = threeWayApply(desired, live, appliedConfiguration(desired));
      expect(out.metadata.labels).to.deep.equal({ app: 'b', team: 'ops' });
      expect(out.metadata.annotations).to.deep.equal({ by: 'hand', [LAST_APPLIED]: stableStringify(appliedConfiguration(desired)) });
      expect(out.spec).to.deep.equal({ mode: 'template', tags: ['b', 'c'], owner: 'ops' });
    });

    it('over an object without a record removes nothing', () => {
      const live = task({ labels: { team: 'ops' } }, { mode: 'run', owner: 'ops' });
      const desired = task({ labels: { app: 'a' } }, { mode: 'template' });
      const out = threeWayApply(desired, live, appliedConfiguration(desired));
      expect(out.metadata.labels).to.deep.equal({ app: 'a', team: 'ops' });
      expect(out.spec).to.deep.equal({ mode: 'template', owner: 'ops' });
    });

    it('writes the record with sorted keys, so the order of a file is no change', () => {
      const a = threeWayApply(task({}, { mode: 'run', input: { x: 1, y: 2 } }), undefined, appliedConfiguration(task({}, { mode: 'run', input: { x: 1, y: 2 } })));
      const b = threeWayApply(task({}, { input: { y: 2, x: 1 }, mode: 'run' }), undefined, appliedConfiguration(task({}, { input: { y: 2, x: 1 }, mode: 'run' })));
      expect(a.metadata.annotations![LAST_APPLIED]).to.equal(b.metadata.annotations![LAST_APPLIED]);
    });

    it('takes from a hand-edited record only what is an object', () => {
      // A string spread as an object would name keys "0", "1", ...
      const live = task({ labels: { 0: 'l' }, annotations: { 0: 'a', [LAST_APPLIED]: '{"metadata":{"labels":"x","annotations":"x"},"spec":"x"}' } }, { 0: 's', owner: 'ops' });
      const out = threeWayApply(task({}, { mode: 'run' }), live, appliedConfiguration(task({}, { mode: 'run' })));
      expect(out.metadata.labels).to.deep.equal({ 0: 'l' });
      expect(out.metadata.annotations).to.have.property('0', 'a');
      expect(out.spec).to.deep.equal({ 0: 's', owner: 'ops', mode: 'run' });
    });

    it('leaves no empty label map behind', () => {
      const last = task({ labels: { app: 'a' } }, {});
      const live = appliedOver(task({ labels: { app: 'a' } }, {}), last);
      const out = threeWayApply(task({}, {}), live, appliedConfiguration(task({}, {})));
      expect(out.metadata).not.to.have.property('labels');
    });
  });

  describe('the record', () => {
    it('holds apiVersion, kind, name, namespace, labels, annotations and spec, never itself or system metadata', () => {
      const o = task({ labels: { app: 'a' }, annotations: { note: 'n', [LAST_APPLIED]: '{"old":true}' }, resourceVersion: '7', uid: 'u' }, { mode: 'run' });
      expect(appliedConfiguration(o)).to.deep.equal({
        apiVersion: 'orloj.dev/v1',
        kind: 'Task',
        metadata: { name: 't', namespace: 'default', labels: { app: 'a' }, annotations: { note: 'n' } },
        spec: { mode: 'run' },
      });
    });

    it('reads back as written; a record that is not a JSON object counts as none', () => {
      const o = task({}, { mode: 'run' });
      expect(lastApplied(appliedOver(o, o))).to.deep.equal(appliedConfiguration(o));
      expect(lastApplied(task({ annotations: { [LAST_APPLIED]: 'not json' } }, {}))).to.equal(undefined);
      expect(lastApplied(task({ annotations: { [LAST_APPLIED]: '[1]' } }, {}))).to.equal(undefined);
      expect(lastApplied(task({}, {}))).to.equal(undefined);
    });

    it("keeps a Secret's keys, never its values", () => {
      const value = Buffer.from('hunter2').toString('base64');
      const secret: Resource = { apiVersion: 'orloj.dev/v1', kind: 'Secret', metadata: { name: 's', namespace: 'default' }, spec: { data: { signing_key: value } } };
      const text = JSON.stringify(recordOf(SecretKind, secret));
      expect(text).to.contain('signing_key').and.not.contain(value).and.not.contain('hunter2');
    });

    it('is the spec as sent: canonical spellings and forms, but no defaults', () => {
      expect(sentSpec(TaskKind, { spec: { input: { a: 1 } } })).to.deep.equal({ input: { a: 1 } }); // no `mode: run`
      const secret = sentSpec(SecretKind, { spec: { stringData: { k: 'v' } } });
      expect(secret).to.deep.equal({ data: { k: Buffer.from('v').toString('base64') } });
      expect(sentSpec(TaskKind, {})).to.deep.equal({});
      expect(sentSpec(TaskWebhookKind, { spec: { taskRef: 't', auth: { secretRef: 's' } } })).to.deep.equal({ task_ref: 't', auth: { secret_ref: 's' } });
    });
  });
});
