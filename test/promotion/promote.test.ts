// Issue 14, acceptance 2, 3 and 5: orlojctl promote --dry-run lists and writes nothing,
// promote creates everything at once, a re-run is all unchanged; production's keys and
// endpoints are its own; --prune deletes what preview no longer has; --only.
import { expect } from 'chai';
import { Webhook } from 'standardwebhooks';
import { eventually, Orlojd } from '../helpers/orlojd.js';
import { post, send } from '../helpers/deliveries.js';
import { ctl } from '../cli/ctl.js';
import { ALLOW_LOOPBACK, Destination } from '../trigger/helpers.js';
import { actions, get, list, manifest, namespace, namespaceEvents, promote, PROMOTED_FROM, promotion, put, del, ready, secret, secretValues, snapshot, type Obj } from './helpers.js';

const INCIDENTS_SCHEMA = {
  type: 'object',
  required: ['title', 'severity'],
  properties: { id: { type: 'string' }, title: { type: 'string' }, severity: { enum: ['p1', 'p2', 'p3'] }, status: { type: 'string' } },
};

/** Every object the first promotion brings, with the action it reports. */
const FIRST = {
  'collection/incidents': 'create',
  'collection/sales': 'create',
  'task/report-tpl': 'create',
  'task-webhook/report': 'create',
  'inbound-webhook/pd-incidents': 'create',
  'inbound-webhook/sales': 'create',
  'trigger/notify-p1': 'create',
  'secret/notify-p1-signing': 'create',
};

const only = (a: Record<string, string>, keys: string[]): Record<string, string> => Object.fromEntries(keys.filter((k) => k in a).map((k) => [k, a[k]!]));
/** The secret/* lines must be ones promotion generates: preview's Secrets are never copied. */
const copiedSecrets = (a: Record<string, string>): string[] => Object.keys(a).filter((k) => k.startsWith('secret/') && !/-(signing|ingest-key)$/.test(k));

describe('orlojctl promote: preview to production', function () {
  this.timeout(90_000);
  let d: Orlojd;
  let dest: Destination;
  const preview: Record<string, Obj> = {};
  before(async () => {
    dest = await Destination.start();
    d = await Orlojd.start({ args: ALLOW_LOOPBACK });
    await namespace(d, 'pre', 'preview');
    await namespace(d, 'prod', 'production');
    await namespace(d, 'prod2', 'production');
    await put(d, manifest('Collection', 'pre', 'incidents', { id_field: 'id', schema: INCIDENTS_SCHEMA }));
    await put(d, manifest('Collection', 'pre', 'sales', { schema: { type: 'object' } }));
    await put(d, secret('pre', 'pd-key', { key: 'preview-pd-key' }));
    await put(d, manifest('InboundWebhook', 'pre', 'pd-incidents', { collection: 'incidents', secret_ref: 'pd-key', field_mapping: { to_external: { status: 'state' } } }));
    await put(d, manifest('InboundWebhook', 'pre', 'sales', { collection: 'sales', ingest_auth: { type: 'bearer' } }));
    await put(d, manifest('Task', 'pre', 'report-tpl', { mode: 'template', input: { topic: 'weekly' } }));
    await put(d, secret('pre', 'report-key', { value: 'preview-report-key' }));
    await put(d, manifest('TaskWebhook', 'pre', 'report', { task_ref: 'report-tpl', auth: { secret_ref: 'report-key' } }));
    await put(d, manifest('Trigger', 'pre', 'notify-p1', { collection: 'incidents', events: ['create', 'update'], url: `${dest.url}/p1` }));
    for (const [kind, name] of [['InboundWebhook', 'pd-incidents'], ['InboundWebhook', 'sales'], ['TaskWebhook', 'report'], ['Trigger', 'notify-p1']] as const) {
      preview[name] = await ready(d, kind, 'pre', name);
    }
    // The Secrets production needs, made there beforehand with values of its own.
    await put(d, secret('prod', 'pd-key', { key: 'prod-pd-key' }));
    await put(d, secret('prod', 'report-key', { value: 'prod-report-key' }));
  });
  after(async () => {
    await d?.destroy();
    await dest?.close();
  });

  it('--dry-run lists every object with what would happen, in apply order, and writes nothing', async () => {
    const before = await snapshot(d, 'prod');
    const eventsBefore = await namespaceEvents(d, 'prod');
    const r = await promote(d, ['--from', 'pre', '--to', 'prod', '--dry-run']);
    expect(r.code, r.stderr).to.equal(0);
    const a = actions(r.stdout);
    expect(only(a, Object.keys(FIRST)), r.stdout).to.deep.equal(FIRST);
    expect(copiedSecrets(a), r.stdout).to.deep.equal([]);
    expect(r.stdout.split('\n').filter(Boolean).every((l) => /^\S+\/\S+ (create|update|unchanged|delete|keep)/.test(l)), r.stdout).to.equal(true);
    // Collections and Tasks before the receivers that use them, triggers after.
    const at = (k: string) => r.stdout.indexOf(`${k} `);
    expect(at('collection/incidents')).to.be.below(at('inbound-webhook/pd-incidents'));
    expect(at('task/report-tpl')).to.be.below(at('task-webhook/report'));
    expect(at('inbound-webhook/pd-incidents')).to.be.below(at('trigger/notify-p1'));
    expect(r.stderr).to.equal('');
    expect(await snapshot(d, 'prod')).to.deep.equal(before);
    expect(await namespaceEvents(d, 'prod')).to.deep.equal(eventsBefore);
    // The API answers the same, with nothing to fix.
    const res = await promotion(d, { from: 'pre', to: 'prod', dryRun: true });
    expect(res.status, res.text).to.equal(200);
    expect(res.body).to.include({ kind: 'Promotion', dryRun: true, from: 'pre', to: 'prod' });
    expect(res.body.problems).to.deep.equal([]);
    expect(res.body.items.find((i) => i.kind === 'Trigger' && i.name === 'notify-p1')).to.include({ action: 'create' });
    // A generated Secret is an item, never its value.
    expect(JSON.stringify(res.body)).not.to.match(/whsec_/);
    expect(await snapshot(d, 'prod')).to.deep.equal(before);
  });

  it('promote creates everything at once, labelled with its origin; receivers get Ready with endpoints of their own', async () => {
    const r = await promote(d, ['--from', 'pre', '--to', 'prod']);
    expect(r.code, r.stderr).to.equal(0);
    expect(only(actions(r.stdout), Object.keys(FIRST)), r.stdout).to.deep.equal(FIRST);
    // Everything is there the moment the command returns, not one reconcile later.
    for (const key of Object.keys(FIRST)) {
      const [singular, name] = key.split('/') as [string, string];
      const kind = { collection: 'Collection', task: 'Task', 'task-webhook': 'TaskWebhook', 'inbound-webhook': 'InboundWebhook', trigger: 'Trigger', secret: 'Secret' }[singular]!;
      const o = await get(d, kind, 'prod', name);
      expect(o, key).not.to.equal(undefined);
      if (kind !== 'Secret') expect(o!.metadata.labels?.[PROMOTED_FROM], key).to.equal('pre');
    }
    const t = (await get(d, 'Trigger', 'prod', 'notify-p1'))!;
    expect(t.spec.secret_ref).to.equal('notify-p1-signing');
    expect(t.spec.url).to.equal(`${dest.url}/p1`);
    const generated = Object.values(await secretValues(d, 'prod', 'notify-p1-signing'));
    expect(generated).to.have.length(1);
    expect(generated[0]).to.match(/^whsec_/);
    const w = (await get(d, 'InboundWebhook', 'prod', 'pd-incidents'))!;
    expect(w.spec.field_mapping.to_external).to.deep.equal({ status: 'state' });
    for (const [kind, name] of [['InboundWebhook', 'pd-incidents'], ['InboundWebhook', 'sales'], ['TaskWebhook', 'report']] as const) {
      const o = await ready(d, kind, 'prod', name);
      expect(o.status.endpointID, name).to.be.a('string').and.not.equal(preview[name]!.status.endpointID);
      expect(o.status.endpointPath, name).not.to.equal(preview[name]!.status.endpointPath);
    }
    await ready(d, 'Trigger', 'prod', 'notify-p1');
    // Preview is as it was.
    for (const [kind, name] of [['InboundWebhook', 'pd-incidents'], ['TaskWebhook', 'report']] as const) {
      expect((await get(d, kind, 'pre', name))!.status.endpointID).to.equal(preview[name]!.status.endpointID);
    }
    // The promotion is an event on the target Namespace, naming where from and who.
    const ev = await eventually(async () => (await namespaceEvents(d, 'prod')).find((e) => e.reason === 'Promoted'));
    expect(ev.message).to.include('pre').and.include('admin');
    const described = await ctl(d, ['describe', 'namespace', 'prod']);
    expect(described.stdout).to.include('Promoted');
  });

  it('re-running reports everything unchanged and keeps production\'s endpoints and generated Secrets', async () => {
    const before = await snapshot(d, 'prod');
    const endpoints = await Promise.all(['pd-incidents', 'sales'].map(async (n) => (await get(d, 'InboundWebhook', 'prod', n))!.status.endpointID));
    const signing = await secretValues(d, 'prod', 'notify-p1-signing');
    for (const dryRun of [true, false]) {
      const r = await promote(d, ['--from', 'pre', '--to', 'prod', ...(dryRun ? ['--dry-run'] : [])]);
      expect(r.code, r.stderr).to.equal(0);
      const a = actions(r.stdout);
      expect(Object.keys(a), r.stdout).to.include.members(Object.keys(FIRST).filter((k) => !k.startsWith('secret/')));
      expect(Object.entries(a).filter(([, v]) => v !== 'unchanged'), r.stdout).to.deep.equal([]);
    }
    expect(await snapshot(d, 'prod')).to.deep.equal(before);
    expect(await Promise.all(['pd-incidents', 'sales'].map(async (n) => (await get(d, 'InboundWebhook', 'prod', n))!.status.endpointID))).to.deep.equal(endpoints);
    expect(await secretValues(d, 'prod', 'notify-p1-signing')).to.deep.equal(signing);
  });

  it("production's trigger signs with its own key: preview's never appears there", async () => {
    const pre = Object.values(await secretValues(d, 'pre', 'notify-p1-signing'));
    const prod = Object.values(await secretValues(d, 'prod', 'notify-p1-signing'));
    expect(pre).to.have.length(1);
    expect(prod).to.have.length(1);
    expect(prod[0]).to.match(/^whsec_/).and.not.equal(pre[0]);
    for (const s of await list(d, 'Secret', 'prod')) {
      for (const v of Object.values((s.spec.data ?? {}) as Record<string, string>)) expect(Buffer.from(v, 'base64').toString(), s.metadata.name).not.to.equal(pre[0]);
    }
    // A change in each namespace: each trigger's message verifies with its own namespace's key only.
    await ready(d, 'Trigger', 'pre', 'notify-p1');
    await ready(d, 'Trigger', 'prod', 'notify-p1');
    for (const ns of ['prod', 'pre']) {
      const w = await d.api('POST', `/v1/collections/incidents/documents?namespace=${ns}`, { id: `sig-${ns}`, title: 'db down', severity: 'p1' });
      expect(w.status, w.text).to.equal(201);
    }
    const messages = await eventually(async () => {
      const got = dest.received.filter((m) => /"id":"sig-(pre|prod)"/.test(m.body.toString()));
      return got.length >= 2 ? got : undefined;
    }, 10_000);
    for (const m of messages) {
      const body = JSON.parse(m.body.toString()) as { namespace: string };
      const own = body.namespace === 'prod' ? prod[0]! : pre[0]!;
      const other = body.namespace === 'prod' ? pre[0]! : prod[0]!;
      const headers = m.headers as Record<string, string>;
      expect(() => new Webhook(own).verify(m.body.toString(), headers), body.namespace).not.to.throw();
      expect(() => new Webhook(other).verify(m.body.toString(), headers), body.namespace).to.throw();
    }
    expect(messages.map((m) => (JSON.parse(m.body.toString()) as { namespace: string }).namespace).sort()).to.deep.equal(['pre', 'prod']);
  });

  it("production's endpoints refuse a delivery signed with a key only preview holds (401); preview's still serve preview only", async () => {
    const prodHook = await ready(d, 'InboundWebhook', 'prod', 'pd-incidents');
    const preHook = await ready(d, 'InboundWebhook', 'pre', 'pd-incidents');
    const body = (id: string) => JSON.stringify({ id, title: 'disk full', severity: 'p2', state: 'open' });
    const refused = await send(d, prodHook.status.endpointPath, { secret: 'preview-pd-key', body: body('from-preview-key'), eventId: 'e-1' });
    expect(refused.status).to.equal(401);
    const ok = await send(d, prodHook.status.endpointPath, { secret: 'prod-pd-key', body: body('to-prod'), eventId: 'e-2' });
    expect(ok.status, ok.text).to.equal(202);
    const viaPreview = await send(d, preHook.status.endpointPath, { secret: 'preview-pd-key', body: body('to-pre'), eventId: 'e-3' });
    expect(viaPreview.status, viaPreview.text).to.equal(202);
    expect((await send(d, preHook.status.endpointPath, { secret: 'prod-pd-key', body: body('prod-key-at-pre'), eventId: 'e-4' })).status).to.equal(401);
    const ids = async (ns: string) => ((await d.api('GET', `/v1/collections/incidents/documents?namespace=${ns}&limit=1000`)).body.items as Array<{ id: string; data: { status?: string } }>);
    const prodDocs = await ids('prod');
    const preDocs = await ids('pre');
    expect(prodDocs.map((x) => x.id)).to.include('to-prod').and.not.include('to-pre').and.not.include('from-preview-key');
    expect(preDocs.map((x) => x.id)).to.include('to-pre').and.not.include('to-prod');
    // The promoted mapping is at work in production.
    expect(prodDocs.find((x) => x.id === 'to-prod')!.data.status).to.equal('open');

    // The TaskWebhook: its run task lands in production only with production's key.
    const tw = await ready(d, 'TaskWebhook', 'prod', 'report');
    expect((await send(d, tw.status.endpointPath, { secret: 'preview-report-key', body: '{"a":1}', eventId: 't-1' })).status).to.equal(401);
    const run = await send(d, tw.status.endpointPath, { secret: 'prod-report-key', body: '{"a":2}', eventId: 't-2' });
    expect(run.status, run.text).to.equal(202);
    expect((await get(d, 'Task', 'prod', run.body.task as string))!.spec.input).to.include({ webhook_event_id: 't-2' });
    expect(await get(d, 'Task', 'pre', run.body.task as string)).to.equal(undefined);

    // The bearer webhook: production generated an ingest key of its own.
    const sales = await ready(d, 'InboundWebhook', 'prod', 'sales');
    const preSales = await ready(d, 'InboundWebhook', 'pre', 'sales');
    expect(sales.status.secretRef).to.be.a('string');
    const prodKey = Object.values(await secretValues(d, 'prod', sales.status.secretRef as string))[0]!;
    const preKey = Object.values(await secretValues(d, 'pre', preSales.status.secretRef as string))[0]!;
    expect(prodKey).to.match(/^ik_/).and.not.equal(preKey);
    const bearer = (key: string) => ({ 'content-type': 'application/json', authorization: `Bearer ${key}`, 'X-Event-Id': `b-${key.slice(-6)}` });
    expect((await post(d, sales.status.endpointPath, bearer(preKey), '{"id":"s1"}')).status).to.equal(401);
    expect((await post(d, sales.status.endpointPath, bearer(prodKey), '{"id":"s1"}')).status).to.equal(202);
  });

  it('a change in preview: --dry-run shows the update with its diff and writes nothing; promote applies it and keeps the generated Secret', async () => {
    await put(d, manifest('Trigger', 'pre', 'notify-p1', { collection: 'incidents', events: ['create'], url: `${dest.url}/p1` }));
    const before = await snapshot(d, 'prod');
    const signing = await secretValues(d, 'prod', 'notify-p1-signing');
    const dry = await promote(d, ['--from', 'pre', '--to', 'prod', '--dry-run']);
    expect(dry.code, dry.stderr).to.equal(0);
    const a = actions(dry.stdout);
    expect(a['trigger/notify-p1'], dry.stdout).to.equal('update');
    expect(Object.entries(a).filter(([k, v]) => v !== 'unchanged' && k !== 'trigger/notify-p1'), dry.stdout).to.deep.equal([]);
    // The diff is indented below its line, and shows the field that changes.
    const lines = dry.stdout.split('\n');
    const at = lines.findIndex((l) => l.startsWith('trigger/notify-p1 update'));
    const diff: string[] = [];
    for (let i = at + 1; i < lines.length && /^\s+\S/.test(lines[i]!); i++) diff.push(lines[i]!);
    expect(diff, dry.stdout).not.to.deep.equal([]);
    expect(diff.join('\n'), dry.stdout).to.include('update');
    expect(await snapshot(d, 'prod')).to.deep.equal(before);

    const r = await promote(d, ['--from', 'pre', '--to', 'prod']);
    expect(r.code, r.stderr).to.equal(0);
    expect(actions(r.stdout)['trigger/notify-p1']).to.equal('update');
    const t = (await get(d, 'Trigger', 'prod', 'notify-p1'))!;
    expect(t.spec.events).to.deep.equal(['create']);
    expect(t.spec.secret_ref).to.equal('notify-p1-signing');
    expect(t.metadata.uid).to.equal((before['Trigger/notify-p1'] as { uid: string }).uid);
    expect(await secretValues(d, 'prod', 'notify-p1-signing')).to.deep.equal(signing);
    const again = await promote(d, ['--from', 'pre', '--to', 'prod']);
    expect(Object.values(actions(again.stdout)).every((v) => v === 'unchanged'), again.stdout).to.equal(true);
  });

  it('--only KIND/NAME promotes those (kubectl spellings) with what they reference, and nothing else', async () => {
    const r = await promote(d, ['--from', 'pre', '--to', 'prod2', '--only', 'trigger/notify-p1']);
    expect(r.code, r.stderr).to.equal(0);
    expect(actions(r.stdout)).to.deep.equal({ 'collection/incidents': 'create', 'trigger/notify-p1': 'create', 'secret/notify-p1-signing': 'create' });
    expect((await list(d, 'Trigger', 'prod2')).map((o) => o.metadata.name)).to.deep.equal(['notify-p1']);
    expect(await list(d, 'InboundWebhook', 'prod2')).to.deep.equal([]);
    // A receiver whose Secrets production lacks: every missing one named, nothing written, exit 1.
    const before = await snapshot(d, 'prod2');
    const missing = await promote(d, ['--from', 'pre', '--to', 'prod2', '--only', 'iw/pd-incidents,task-webhook/report']);
    expect(missing.code).to.equal(1);
    expect(missing.stderr).to.match(/^error: inbound-webhook\/pd-incidents: .*secret "pd-key" not found in namespace "prod2"/m);
    expect(missing.stderr).to.match(/^error: task-webhook\/report: .*secret "report-key" not found in namespace "prod2"/m);
    expect(await snapshot(d, 'prod2')).to.deep.equal(before);
    await put(d, secret('prod2', 'pd-key', { key: 'prod2-pd-key' }));
    await put(d, secret('prod2', 'report-key', { value: 'prod2-report-key' }));
    const both = await promote(d, ['--from', 'pre', '--to', 'prod2', '--only', 'iw/pd-incidents', '--only', 'task-webhook/report']);
    expect(both.code, both.stderr).to.equal(0);
    expect(actions(both.stdout)).to.deep.equal({
      'collection/incidents': 'unchanged',
      'task/report-tpl': 'create',
      'inbound-webhook/pd-incidents': 'create',
      'task-webhook/report': 'create',
    });
    expect((await list(d, 'Trigger', 'prod2')).map((o) => o.metadata.name)).to.deep.equal(['notify-p1']);
    expect(await list(d, 'InboundWebhook', 'prod2')).to.have.length(1);
  });

  it('--prune deletes a production trigger removed from preview, with its signing Secret; without it, it stays; a collection with documents is kept', async () => {
    await put(d, manifest('Collection', 'prod', 'manual', {}));
    await del(d, 'Trigger', 'pre', 'notify-p1');
    await del(d, 'InboundWebhook', 'pre', 'sales');
    const kept = await promote(d, ['--from', 'pre', '--to', 'prod']);
    expect(kept.code, kept.stderr).to.equal(0);
    expect(actions(kept.stdout)).not.to.have.any.keys('trigger/notify-p1', 'inbound-webhook/sales', 'collection/sales');
    expect(await get(d, 'Trigger', 'prod', 'notify-p1')).not.to.equal(undefined);
    expect(await get(d, 'InboundWebhook', 'prod', 'sales')).not.to.equal(undefined);

    const before = await snapshot(d, 'prod');
    const dry = await promote(d, ['--from', 'pre', '--to', 'prod', '--prune', '--dry-run']);
    expect(dry.code, dry.stderr).to.equal(0);
    expect(only(actions(dry.stdout), ['trigger/notify-p1', 'inbound-webhook/sales', 'collection/sales'])).to.deep.equal({
      'trigger/notify-p1': 'delete',
      'inbound-webhook/sales': 'delete',
      'collection/sales': 'keep',
    });
    expect(await snapshot(d, 'prod')).to.deep.equal(before);

    const r = await promote(d, ['--from', 'pre', '--to', 'prod', '--prune']);
    expect(r.code, r.stderr).to.equal(0);
    const a = actions(r.stdout);
    expect(only(a, ['trigger/notify-p1', 'inbound-webhook/sales', 'collection/sales'])).to.deep.equal({
      'trigger/notify-p1': 'delete',
      'inbound-webhook/sales': 'delete',
      'collection/sales': 'keep',
    });
    // The kept collection says why (it holds the document delivered above).
    expect(r.stdout).to.match(/^collection\/sales keep \(.+\)$/m);
    expect(a).not.to.have.any.keys('collection/manual');
    expect(a['inbound-webhook/pd-incidents']).to.equal('unchanged');
    // Run tasks production's TaskWebhook made are production's own, not promoted objects.
    expect(Object.entries(a).filter(([k, v]) => k.startsWith('task/') && k !== 'task/report-tpl' && v === 'delete'), r.stdout).to.deep.equal([]);
    expect(await get(d, 'Trigger', 'prod', 'notify-p1')).to.equal(undefined);
    expect(await get(d, 'InboundWebhook', 'prod', 'sales')).to.equal(undefined);
    await eventually(async () => (await get(d, 'Secret', 'prod', 'notify-p1-signing')) === undefined);
    expect(await get(d, 'Collection', 'prod', 'sales')).not.to.equal(undefined);
    // Objects promotion did not make, and those preview still has, stay.
    expect(await get(d, 'Collection', 'prod', 'manual')).not.to.equal(undefined);
    expect(await get(d, 'InboundWebhook', 'prod', 'pd-incidents')).not.to.equal(undefined);
    expect(await get(d, 'Secret', 'prod', 'pd-key')).not.to.equal(undefined);
    // Another production namespace promoted from the same preview is its own: untouched.
    expect(await get(d, 'Trigger', 'prod2', 'notify-p1')).not.to.equal(undefined);
  });
});
