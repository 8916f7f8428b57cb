import { expect } from 'chai';
import { join } from 'node:path';
import { writeFileSync } from 'node:fs';
import { LAST_APPLIED } from '../../pkg/api/three-way.js';
import { Orlojd } from '../helpers/orlojd.js';
import { ctl, namespaces, tree, webhookStack } from './ctl.js';

interface Obj {
  metadata: { name: string; resourceVersion: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  spec: Record<string, unknown>;
}

describe('orlojctl apply: three-way merge', function () {
  this.timeout(60_000);
  let d: Orlojd;
  before(async () => {
    d = await Orlojd.start();
    await namespaces(d, 'merge', 'fresh', 'record', 'sec', 'conc');
  });
  after(async () => d?.destroy());

  const get = async (path: string): Promise<Obj> => (await d.api<Obj>('GET', path)).body;
  /** Another client's write: the whole object back, with `change` made to it (its record stays). */
  const foreignWrite = async (path: string, change: (o: Obj) => void): Promise<void> => {
    const o = await get(path);
    change(o);
    const r = await d.api('PUT', path, o);
    expect(r.status, r.text).to.equal(200);
  };

  it('keeps the labels and spec fields another client set, and removes what the files no longer say', async () => {
    const file = join(tree({}), 'm.yaml');
    writeFileSync(file, 'kind: Task\nmetadata: {name: m1, namespace: merge, labels: {app: merge, tier: x}}\nspec: {mode: template, system: s1, tags: [a, b]}\n');
    expect((await ctl(d, ['apply', '-f', file])).stdout).to.equal('task/m1 created\n');
    const path = '/v1/tasks/m1?namespace=merge';
    await foreignWrite(path, (o) => ((o.metadata.labels!.team = 'ops'), (o.spec.owner = 'ops')));

    const again = await ctl(d, ['apply', '-f', file]);
    expect(again.stdout, again.stderr).to.equal('task/m1 unchanged\n');
    expect((await get(path)).metadata.labels).to.deep.equal({ app: 'merge', tier: 'x', team: 'ops' });
    const diff = await ctl(d, ['diff', '-f', file]);
    expect([diff.code, diff.stdout]).to.deep.equal([0, '']);

    writeFileSync(file, 'kind: Task\nmetadata: {name: m1, namespace: merge, labels: {app: merge}}\nspec: {mode: template, tags: [c]}\n');
    expect((await ctl(d, ['apply', '-f', file])).stdout).to.equal('task/m1 configured\n');
    const o = await get(path);
    expect(o.metadata.labels).to.deep.equal({ app: 'merge', team: 'ops' });
    expect(o.spec).to.deep.equal({ mode: 'template', tags: ['c'], owner: 'ops', input: {} });
  });

  it('keeps a field the files leave to its default when another client set it (an operator suspending a webhook)', async () => {
    const dir = tree({ 's.yaml': webhookStack('fresh', 'hook') });
    expect((await ctl(d, ['apply', '-f', dir])).code).to.equal(0);
    const path = '/v1/task-webhooks/hook?namespace=fresh';
    await foreignWrite(path, (o) => void (o.spec.suspend = true));
    const again = await ctl(d, ['apply', '-f', dir]);
    expect(again.stdout).to.contain('task-webhook/hook unchanged\n');
    expect((await get(path)).spec.suspend).to.equal(true);
  });

  it('over an object made without apply removes nothing, and records itself (configured)', async () => {
    await d.api('PUT', '/v1/tasks/plain?namespace=fresh', { kind: 'Task', metadata: { name: 'plain', labels: { team: 'ops' } }, spec: { mode: 'template', owner: 'ops' } });
    const r = await ctl(d, ['apply', '-f', '-', '-n', 'fresh'], { input: 'kind: Task\nmetadata: {name: plain, labels: {app: a}}\nspec: {mode: template}\n' });
    expect(r.stdout, r.stderr).to.equal('task/plain configured\n');
    const o = await get('/v1/tasks/plain?namespace=fresh');
    expect(o.metadata.labels).to.deep.equal({ team: 'ops', app: 'a' });
    expect(o.spec.owner).to.equal('ops');
    expect(o.metadata.annotations).to.have.property(LAST_APPLIED);
  });

  it('records what the apply sent, as sent (no defaults, no system metadata, not itself)', async () => {
    const input = `kind: Task\nmetadata: {name: rec, labels: {app: a}, annotations: {note: n, ${LAST_APPLIED}: stale}}\nspec: {input: {q: 1}}\n`;
    expect((await ctl(d, ['apply', '-f', '-', '-n', 'record'], { input })).code).to.equal(0);
    const o = await get('/v1/tasks/rec?namespace=record');
    expect(o.spec.mode).to.equal('run'); // the default is in the object...
    expect(JSON.parse(o.metadata.annotations![LAST_APPLIED]!)).to.deep.equal({
      apiVersion: 'orloj.dev/v1',
      kind: 'Task',
      metadata: { name: 'rec', namespace: 'record', labels: { app: 'a' }, annotations: { note: 'n' } },
      spec: { input: { q: 1 } }, // ...not in the record
    });
  });

  it("records a Secret's keys and never its values; a key dropped from the file is removed", async () => {
    const values = { alpha: 'alpha-plain-value', beta: 'beta-plain-value' };
    const secret = (keys: Array<keyof typeof values>): string =>
      `kind: Secret\nmetadata: {name: s1, namespace: sec}\nspec:\n  stringData:\n${keys.map((k) => `    ${k}: ${values[k]}\n`).join('')}`;
    expect((await ctl(d, ['apply', '-f', '-'], { input: secret(['alpha', 'beta']) })).code).to.equal(0);
    const forbidden = Object.values(values).flatMap((v) => [v, Buffer.from(v).toString('base64')]);
    for (const output of ['yaml', 'json']) {
      const shown = await ctl(d, ['get', 'secret', 's1', '-n', 'sec', '-o', output]);
      expect(shown.code).to.equal(0);
      expect(shown.stdout).to.contain(LAST_APPLIED).and.contain('alpha');
      for (const v of forbidden) expect(shown.stdout).not.to.contain(v);
    }
    // Not even an admin's reveal finds a value in the record: it was never written there.
    const revealed = await get('/v1/secrets/s1?namespace=sec&reveal=true');
    for (const v of forbidden) expect(revealed.metadata.annotations![LAST_APPLIED]).not.to.contain(v);
    expect(revealed.spec.data).to.have.keys('alpha', 'beta');

    expect((await ctl(d, ['apply', '-f', '-'], { input: secret(['alpha']) })).stdout).to.equal('secret/s1 configured\n');
    const after = await get('/v1/secrets/s1?namespace=sec&reveal=true');
    expect(after.spec.data).to.deep.equal({ alpha: Buffer.from(values.alpha).toString('base64') });
    expect((await ctl(d, ['apply', '-f', '-'], { input: secret(['alpha']) })).stdout).to.equal('secret/s1 unchanged\n');
  });

  it('PUT ?apply=true keeps the route checks: 201 created, 422 for a bad document, 409 for a stale pinned resourceVersion', async () => {
    const path = '/v1/tasks/api?namespace=merge&apply=true';
    const created = await d.api('PUT', path, { kind: 'Task', metadata: { name: 'api' }, spec: {} });
    expect([created.status, created.headers.get('x-orloj-result')]).to.deep.equal([201, 'created']);
    const same = await d.api('PUT', path, { kind: 'Task', metadata: { name: 'api' }, spec: {} });
    expect([same.status, same.headers.get('x-orloj-result')]).to.deep.equal([200, 'unchanged']);
    const bad = await d.api('PUT', path, { kind: 'Task', metadata: { name: 'api' }, spec: { mode: 'sometimes' } });
    expect(bad.status).to.equal(422);
    const rv = (await get('/v1/tasks/api?namespace=merge')).metadata.resourceVersion;
    await foreignWrite('/v1/tasks/api?namespace=merge', (o) => void (o.metadata.labels = { moved: 'on' }));
    const stale = await d.api('PUT', path, { kind: 'Task', metadata: { name: 'api', resourceVersion: rv }, spec: { x: 1 } });
    expect(stale.status, stale.text).to.equal(409);
    const dry = await d.api('PUT', `${path}&dryRun=true`, { kind: 'Task', metadata: { name: 'api' }, spec: { x: 2 } });
    expect([dry.status, dry.headers.get('x-orloj-result')]).to.deep.equal([200, 'configured']);
    expect((await get('/v1/tasks/api?namespace=merge')).spec).not.to.have.property('x');
  });

  it('validates the merge result: what another client set may not combine with what the files now say', async () => {
    const hook = (payload: string): string => `kind: InboundWebhook\nmetadata: {name: iw, namespace: merge}\nspec: {collection: c, ingest_auth: {type: bearer}, secret_ref: s, payload: {mode: ${payload}}}\n`;
    const first = await ctl(d, ['apply', '-f', '-'], { input: hook('json') });
    expect(first.code, first.stderr).to.equal(0);
    await foreignWrite('/v1/inbound-webhooks/iw?namespace=merge', (o) => void (o.spec.flatten = true));
    // Alone, a raw payload is fine; with the flatten another client set, it is not.
    const r = await ctl(d, ['apply', '-f', '-'], { input: hook('raw') });
    expect(r.code).to.equal(1);
    expect(r.stderr).to.match(/<stdin>: document 1: Error from server \(Invalid\): .*spec\.payload\.mode/);
    expect((await get('/v1/inbound-webhooks/iw?namespace=merge')).spec.payload).to.deep.equal({ mode: 'json' });
  });

  it('leaves each namespace its own records through promotion', async () => {
    await d.api('PUT', '/v1/namespaces/mpre', { kind: 'Namespace', metadata: { name: 'mpre' }, spec: { environment: 'preview' } });
    await d.api('PUT', '/v1/namespaces/mprod', { kind: 'Namespace', metadata: { name: 'mprod' }, spec: { environment: 'production' } });
    const preview = `kind: Collection\nmetadata: {name: incidents, namespace: mpre}\nspec: {}\n---\nkind: Trigger\nmetadata: {name: notify, namespace: mpre}\nspec: {collection: incidents, url: 'https://hooks.example.com/notify'}\n`;
    expect((await ctl(d, ['apply', '-f', '-'], { input: preview })).code).to.equal(0);
    const promote = async (): Promise<string> => {
      const r = await ctl(d, ['promote', '--from', 'mpre', '--to', 'mprod']);
      expect(r.code, r.stderr).to.equal(0);
      return r.stdout;
    };
    await promote();
    const path = '/v1/triggers/notify?namespace=mprod';
    // What an apply in preview sent is no record of the production object.
    expect((await get(path)).metadata.annotations ?? {}).not.to.have.property(LAST_APPLIED);
    const yaml = (await ctl(d, ['get', 'trigger', 'notify', '-n', 'mprod', '-o', 'yaml'])).stdout;
    const suspended = await ctl(d, ['apply', '-f', '-'], { input: yaml.replace('suspend: false', 'suspend: true') });
    expect(suspended.stdout, suspended.stderr).to.equal('trigger/notify configured\n');
    const record = (await get(path)).metadata.annotations![LAST_APPLIED];
    // Nor does a promotion take away the one production's apply left.
    expect(await promote()).to.contain('trigger/notify unchanged\n');
    expect((await get(path)).metadata.annotations![LAST_APPLIED]).to.equal(record);
  });

  it('merges again when another write got in first, so concurrent applies all succeed', async () => {
    await d.api('PUT', '/v1/tasks/c?namespace=conc&apply=true', { kind: 'Task', metadata: { name: 'c' }, spec: {} });
    for (let round = 0; round < 5; round++) {
      const answers = await Promise.all(
        [0, 1, 2].map((i) => d.api('PUT', '/v1/tasks/c?namespace=conc&apply=true', { kind: 'Task', metadata: { name: 'c', labels: { [`k${i}`]: `r${round}` } }, spec: { round, i } })),
      );
      expect(answers.map((a) => a.status)).to.satisfy((s: number[]) => s.every((x) => x === 200), answers.map((a) => a.text).join('\n'));
    }
  });
});
