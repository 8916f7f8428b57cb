// Issue 14, acceptance 1: in a production namespace receivers and triggers are created,
// changed and deleted only by promotion; an operator may still suspend, label, annotate and
// rotate them. Other kinds stay unrestricted. A namespace's environment is the admin's.
import { expect } from 'chai';
import { stringify } from 'yaml';
import { eventually, Orlojd } from '../helpers/orlojd.js';
import { post } from '../helpers/deliveries.js';
import { ctl, deadServer } from '../cli/ctl.js';
import { get, manifest, namespace, namespaceEvents, promotion, put, ready, secret, snapshot, type Obj } from './helpers.js';

const INCIDENTS_SCHEMA = {
  type: 'object',
  required: ['title', 'severity'],
  properties: { id: { type: 'string' }, title: { type: 'string' }, severity: { enum: ['p1', 'p2', 'p3'] }, status: { type: 'string' } },
};

/** What a preview namespace holds: a collection, an InboundWebhook, a TaskWebhook with its template, a Trigger. */
async function previewSet(d: Orlojd, ns: string): Promise<void> {
  await put(d, manifest('Collection', ns, 'incidents', { id_field: 'id', schema: INCIDENTS_SCHEMA }));
  await put(d, secret(ns, 'pd-key', { key: `${ns}-pd-key` }));
  await put(d, manifest('InboundWebhook', ns, 'pd-incidents', {
    collection: 'incidents',
    secret_ref: 'pd-key',
    ingest_auth: { type: 'static_header', header: 'X-Account-Key' },
    field_mapping: { to_external: { status: 'state' } },
  }));
  await put(d, manifest('Task', ns, 'report-tpl', { mode: 'template', input: { topic: 'weekly' } }));
  await put(d, secret(ns, 'report-key', { value: `${ns}-report-key` }));
  await put(d, manifest('TaskWebhook', ns, 'report', { task_ref: 'report-tpl', auth: { secret_ref: 'report-key' } }));
  await put(d, manifest('Trigger', ns, 'notify', { collection: 'incidents', events: ['create', 'update'], url: 'https://hooks.example.com/notify' }));
}

/** An object as `orlojctl apply` would take it back: metadata it may set, and `spec`. */
function reapply(o: Obj, kind: string, spec: Record<string, unknown> = o.spec, labels = o.metadata.labels, annotations = o.metadata.annotations): string {
  return stringify({ apiVersion: 'orloj.dev/v1', kind, metadata: { name: o.metadata.name, namespace: o.metadata.namespace, labels, annotations }, spec });
}

describe('promotion: what a production namespace refuses and allows', function () {
  this.timeout(90_000);
  let d: Orlojd;
  before(async () => {
    d = await Orlojd.start();
    await namespace(d, 'pre', 'preview');
    await namespace(d, 'prod', 'production');
    await previewSet(d, 'pre');
    // The Secrets production needs exist there beforehand, with values of its own.
    await put(d, secret('prod', 'pd-key', { key: 'prod-pd-key' }));
    await put(d, secret('prod', 'report-key', { value: 'prod-report-key' }));
    const res = await promotion(d, { from: 'pre', to: 'prod' });
    expect(res.status, res.text).to.equal(200);
    expect(res.body.problems, res.text).to.deep.equal([]);
    await ready(d, 'InboundWebhook', 'prod', 'pd-incidents');
    await ready(d, 'TaskWebhook', 'prod', 'report');
    await ready(d, 'Trigger', 'prod', 'notify');
  });
  after(async () => d?.destroy());

  const newInbound = stringify(manifest('InboundWebhook', 'prod', 'new-in', { collection: 'incidents', secret_ref: 'pd-key', ingest_auth: { type: 'static_header', header: 'X-Account-Key' } }));
  const newTrigger = stringify(manifest('Trigger', 'prod', 'new-trigger', { collection: 'incidents', url: 'https://hooks.example.com/new' }));
  const newTaskWebhook = stringify(manifest('TaskWebhook', 'prod', 'new-tw', { task_ref: 'report-tpl', auth: { secret_ref: 'report-key' } }));

  it('apply of a new InboundWebhook, Trigger or TaskWebhook exits 1 with a message naming promotion; nothing is created', async () => {
    const before = await snapshot(d, 'prod');
    for (const [kind, yaml, name] of [['InboundWebhook', newInbound, 'new-in'], ['Trigger', newTrigger, 'new-trigger'], ['TaskWebhook', newTaskWebhook, 'new-tw']] as const) {
      const r = await ctl(d, ['apply', '-f', '-'], { input: yaml });
      expect(r.code, `${kind}: ${r.stdout}${r.stderr}`).to.equal(1);
      expect(r.stderr, kind).to.include('PromotionRequired');
      expect(r.stderr, kind).to.include(`${kind} "${name}" cannot be created in production namespace "prod"`);
      expect(r.stderr, kind).to.include('orlojctl promote --from PREVIEW --to prod');
      expect(await get(d, kind, 'prod', name), kind).to.equal(undefined);
    }
    // Without a namespace in the manifest, -n names it; POST (create) is refused the same way.
    const viaFlag = await ctl(d, ['apply', '-n', 'prod', '-f', '-'], { input: stringify({ kind: 'Trigger', metadata: { name: 'flagged' }, spec: { collection: 'incidents', url: 'https://hooks.example.com/x' } }) });
    expect(viaFlag.code).to.equal(1);
    expect(viaFlag.stderr).to.include('cannot be created in production namespace "prod"');
    const created = await ctl(d, ['create', 'trigger', 'made-here', '-n', 'prod', '--collection', 'incidents', '--url', 'https://hooks.example.com/made']);
    expect(created.code).to.equal(1);
    expect(created.stderr).to.include('PromotionRequired').and.include('promote');
    expect(await snapshot(d, 'prod')).to.deep.equal(before);
    // The same manifests go into the preview namespace as ever.
    const preview = await ctl(d, ['apply', '-f', '-'], { input: newTrigger.replace('namespace: prod', 'namespace: pre') });
    expect(preview.code, preview.stderr).to.equal(0);
  });

  it('delete of a promoted receiver or trigger exits 1 with a message naming promotion; the object is unchanged', async () => {
    const before = await snapshot(d, 'prod');
    for (const [kind, name] of [['trigger', 'notify'], ['inbound-webhook', 'pd-incidents'], ['task-webhook', 'report']]) {
      const r = await ctl(d, ['delete', kind!, name!, '-n', 'prod']);
      expect(r.code, `${kind}: ${r.stdout}${r.stderr}`).to.equal(1);
      expect(r.stderr).to.include('PromotionRequired').and.include('cannot be deleted in production namespace "prod"').and.include('--prune');
      expect(r.stdout).to.equal('');
    }
    expect(await snapshot(d, 'prod')).to.deep.equal(before);
    // A trigger it kept still fires from production: Ready, with the signing Secret promotion made.
    const t = await ready(d, 'Trigger', 'prod', 'notify');
    expect(t.spec.secret_ref).to.equal('notify-signing');
  });

  it('a spec change of a promoted object is refused; an identical apply is unchanged', async () => {
    const t = (await get(d, 'Trigger', 'prod', 'notify'))!;
    const before = await snapshot(d, 'prod');
    const changed = await ctl(d, ['apply', '-f', '-'], { input: reapply(t, 'Trigger', { ...t.spec, url: 'https://elsewhere.example.com/' }) });
    expect(changed.code).to.equal(1);
    expect(changed.stderr).to.include('PromotionRequired').and.include('Trigger "notify" cannot be changed in production namespace "prod"');
    const w = (await get(d, 'InboundWebhook', 'prod', 'pd-incidents'))!;
    const mapping = await ctl(d, ['apply', '-f', '-'], { input: reapply(w, 'InboundWebhook', { ...w.spec, field_mapping: { to_external: { status: 'phase' } } }) });
    expect(mapping.code).to.equal(1);
    expect(mapping.stderr).to.include('cannot be changed in production namespace "prod"');
    // suspend together with another change is still a change.
    const both = await ctl(d, ['apply', '-f', '-'], { input: reapply(t, 'Trigger', { ...t.spec, suspend: true, timeout_seconds: 3 }) });
    expect(both.code).to.equal(1);
    expect(await snapshot(d, 'prod')).to.deep.equal(before);
    const same = await ctl(d, ['apply', '-f', '-'], { input: reapply(t, 'Trigger') });
    expect(same.code, same.stderr).to.equal(0);
    // Promotion made it: the first apply adds only its record (as kubectl's does), the next changes nothing.
    expect(same.stdout).to.equal('trigger/notify configured\n');
    expect((await get(d, 'Trigger', 'prod', 'notify'))!.spec).to.deep.equal(t.spec);
    expect((await ctl(d, ['apply', '-f', '-'], { input: reapply(t, 'Trigger') })).stdout).to.equal('trigger/notify unchanged\n');
  });

  it('suspend: true on a promoted receiver or trigger is allowed and takes effect; so is resuming', async () => {
    const w = (await get(d, 'InboundWebhook', 'prod', 'pd-incidents'))!;
    const path = w.status.endpointPath as string;
    const deliver = async (id: string) => {
      const body = JSON.stringify({ id, title: 'disk full', severity: 'p2' });
      return (await post(d, path, { 'content-type': 'application/json', 'X-Account-Key': 'prod-pd-key', 'X-Event-Id': id }, body)).status;
    };
    expect(await deliver('before-suspend')).to.equal(202);
    const suspended = await ctl(d, ['apply', '-f', '-'], { input: reapply(w, 'InboundWebhook', { ...w.spec, suspend: true }) });
    expect(suspended.code, suspended.stderr).to.equal(0);
    expect(suspended.stdout).to.equal('inbound-webhook/pd-incidents configured\n');
    expect((await get(d, 'InboundWebhook', 'prod', 'pd-incidents'))!.spec.suspend).to.equal(true);
    let n = 0;
    await eventually(async () => (await deliver(`while-suspended-${n++}`)) === 409);
    const resumed = await ctl(d, ['apply', '-f', '-'], { input: reapply(w, 'InboundWebhook', { ...w.spec, suspend: false }) });
    expect(resumed.code, resumed.stderr).to.equal(0);
    await eventually(async () => (await deliver(`resumed-${n++}`)) === 202);

    const t = (await get(d, 'Trigger', 'prod', 'notify'))!;
    const stopped = await ctl(d, ['apply', '-f', '-'], { input: reapply(t, 'Trigger', { ...t.spec, suspend: true }) });
    expect(stopped.code, stopped.stderr).to.equal(0);
    const st = await eventually(async () => {
      const o = (await get(d, 'Trigger', 'prod', 'notify'))!;
      return o.status?.observedGeneration === o.metadata.generation ? o : undefined;
    });
    expect(st.spec.suspend).to.equal(true);
    expect(st.status.conditions.find((c: { type: string }) => c.type === 'Ready')).to.include({ status: 'False', reason: 'Suspended' });
  });

  it('labels, annotations and rotate-endpoint stay allowed on promoted objects', async () => {
    const w = (await get(d, 'InboundWebhook', 'prod', 'pd-incidents'))!;
    const labelled = await ctl(d, ['apply', '-f', '-'], {
      input: reapply(w, 'InboundWebhook', w.spec, { ...w.metadata.labels, team: 'ops' }, { ...w.metadata.annotations, 'ops.example.com/pager': 'on-call' }),
    });
    expect(labelled.code, labelled.stderr).to.equal(0);
    const after = (await get(d, 'InboundWebhook', 'prod', 'pd-incidents'))!;
    expect(after.metadata.labels).to.include({ team: 'ops' });
    expect(after.metadata.annotations).to.include({ 'ops.example.com/pager': 'on-call' });
    expect(after.spec).to.deep.equal(w.spec);
    const rotated = await ctl(d, ['webhook', 'rotate-endpoint', 'inbound-webhook/pd-incidents', '-n', 'prod']);
    expect(rotated.code, rotated.stderr).to.equal(0);
    const id = await eventually(async () => {
      const o = (await get(d, 'InboundWebhook', 'prod', 'pd-incidents'))!;
      return o.status.endpointID !== w.status.endpointID ? (o.status.endpointID as string) : undefined;
    });
    expect(id).to.be.a('string').and.not.equal(w.status.endpointID);
  });

  it('Secrets, Collections, Sources, Tasks and documents are not restricted in production', async () => {
    const steps: string[][] = [
      ['apply', '-f', '-'],
      ['delete', 'secret', 'scratch', '-n', 'prod'],
      ['delete', 'task', 'scratch-task', '-n', 'prod'],
      ['delete', 'source', 'scratch-src', '-n', 'prod'],
    ];
    const applied = await ctl(d, steps[0]!, {
      input: [
        secret('prod', 'scratch', { k: 'v' }),
        manifest('Collection', 'prod', 'notes', { schema: { type: 'object' } }),
        manifest('Task', 'prod', 'scratch-task', { mode: 'template', input: {} }),
        manifest('Source', 'prod', 'scratch-src', { collection: 'notes', read: { url: 'https://notes.example.com/{id}' } }),
      ].map((m) => stringify(m)).join('---\n'),
    });
    expect(applied.code, applied.stderr).to.equal(0);
    expect(applied.stdout).to.include('secret/scratch created').and.include('collection/notes created').and.include('task/scratch-task created').and.include('source/scratch-src created');
    const changed = await ctl(d, ['apply', '-f', '-'], { input: stringify(secret('prod', 'scratch', { k: 'v2' })) });
    expect(changed.code, changed.stderr).to.equal(0);
    expect(changed.stdout).to.equal('secret/scratch configured\n');
    const doc = await d.api('POST', '/v1/collections/notes/documents?namespace=prod', { id: 'n1', text: 'hello' });
    expect(doc.status, doc.text).to.equal(201);
    expect((await d.api('PATCH', '/v1/collections/notes/documents/n1?namespace=prod', { text: 'bye' }, { 'content-type': 'application/merge-patch+json' })).status).to.equal(200);
    expect((await d.api('DELETE', '/v1/collections/notes/documents/n1?namespace=prod')).status).to.equal(200);
    for (const s of steps.slice(1)) {
      const r = await ctl(d, s);
      expect(r.code, `${s.join(' ')}: ${r.stderr}`).to.equal(0);
    }
  });

  it('a namespace without an environment takes receivers and triggers as ever', async () => {
    await namespace(d, 'plain');
    const yaml = [stringify(manifest('Collection', 'plain', 'incidents', {})), newTrigger.replace('namespace: prod', 'namespace: plain')].join('---\n');
    const r = await ctl(d, ['apply', '-f', '-'], { input: yaml });
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout).to.include('trigger/new-trigger created');
    const del = await ctl(d, ['delete', 'trigger', 'new-trigger', '-n', 'plain']);
    expect(del.code, del.stderr).to.equal(0);
  });
});

describe('promotion: a namespace environment and promotions are the admin\'s', function () {
  this.timeout(60_000);
  let d: Orlojd;
  const TOKENS = { admin: 'admin-token-promo', writer: 'writer-token-promo', reader: 'reader-token-promo' };
  const as = (role: keyof typeof TOKENS): NodeJS.ProcessEnv => ({ ORLOJ_SERVER: d.url, ORLOJ_TOKEN: TOKENS[role] });
  const putNs = (token: string, name: string, spec: Record<string, unknown>) =>
    d.api('PUT', `/v1/namespaces/${name}`, { apiVersion: 'orloj.dev/v1', kind: 'Namespace', metadata: { name }, spec }, { authorization: `Bearer ${token}` });
  before(async () => {
    d = await Orlojd.start({ args: ['--api-tokens', `${TOKENS.admin}:admin,${TOKENS.writer}:writer,${TOKENS.reader}:reader`] });
    d.token = TOKENS.admin;
  });
  after(async () => d?.destroy());

  it('a writer creates a namespace without an environment, but cannot set, change or unset one (403); nothing changes', async () => {
    expect((await putNs(TOKENS.writer, 'team', {})).status).to.equal(201);
    const set = await putNs(TOKENS.writer, 'team', { environment: 'production' });
    expect(set.status, set.text).to.equal(403);
    expect(set.body).to.include({ kind: 'Status', reason: 'Forbidden' });
    expect((await get(d, 'Namespace', '', 'team'))!.spec.environment).to.equal(undefined);
    const fresh = await putNs(TOKENS.writer, 'fresh', { environment: 'preview' });
    expect(fresh.status).to.equal(403);
    expect(await get(d, 'Namespace', '', 'fresh')).to.equal(undefined);
    const posted = await d.api('POST', '/v1/namespaces', { kind: 'Namespace', metadata: { name: 'posted' }, spec: { environment: 'preview' } }, { authorization: `Bearer ${TOKENS.writer}` });
    expect(posted.status).to.equal(403);
    // orlojctl apply as a writer: exit 1, the server's refusal printed.
    const cli = await ctl(d, ['apply', '-f', '-'], { input: stringify({ kind: 'Namespace', metadata: { name: 'team' }, spec: { environment: 'preview' } }), env: as('writer') });
    expect(cli.code).to.equal(1);
    expect(cli.stderr).to.include('Forbidden');
    expect((await putNs(TOKENS.admin, 'team', { environment: 'production' })).status).to.equal(200);
    const unset = await putNs(TOKENS.writer, 'team', {});
    expect(unset.status).to.equal(403);
    const change = await putNs(TOKENS.writer, 'team', { environment: 'preview' });
    expect(change.status).to.equal(403);
    expect((await get(d, 'Namespace', '', 'team'))!.spec.environment).to.equal('production');
  });

  it('an admin sets, changes and unsets it; each change is an EnvironmentChanged event on the Namespace', async () => {
    expect((await putNs(TOKENS.admin, 'ops', {})).status).to.equal(201);
    expect((await putNs(TOKENS.admin, 'ops', { environment: 'preview' })).status).to.equal(200);
    expect((await putNs(TOKENS.admin, 'ops', { environment: 'production' })).status).to.equal(200);
    expect((await putNs(TOKENS.admin, 'ops', { environment: 'production' })).headers.get('x-orloj-result')).to.equal('unchanged');
    expect((await putNs(TOKENS.admin, 'ops', {})).status).to.equal(200);
    const messages = await eventually(async () => {
      const m = (await namespaceEvents(d, 'ops')).filter((e) => e.reason === 'EnvironmentChanged').map((e) => e.message);
      return m.length >= 3 ? m : undefined;
    });
    expect([...messages].sort()).to.deep.equal(['environment: preview -> production', 'environment: production -> unset', 'environment: unset -> preview']);
    const described = await ctl(d, ['describe', 'namespace', 'ops'], { env: as('admin') });
    expect(described.stdout).to.include('EnvironmentChanged');
  });

  it('POST /v1/promotions is for admins: a writer or reader gets 403, and orlojctl promote exits 1 with the message', async () => {
    expect((await putNs(TOKENS.admin, 'p-pre', { environment: 'preview' })).status).to.equal(201);
    expect((await putNs(TOKENS.admin, 'p-prod', { environment: 'production' })).status).to.equal(201);
    await put(d, manifest('Collection', 'p-pre', 'c', {}));
    await put(d, manifest('Trigger', 'p-pre', 't', { collection: 'c', url: 'https://hooks.example.com/t' }));
    for (const role of ['writer', 'reader'] as const) {
      const res = await promotion(d, { from: 'p-pre', to: 'p-prod' }, TOKENS[role]);
      expect(res.status, role).to.equal(403);
      expect(res.body, role).to.include({ kind: 'Status', reason: 'Forbidden' });
      const r = await ctl(d, ['promote', '--from', 'p-pre', '--to', 'p-prod'], { env: as(role) });
      expect(r.code, role).to.equal(1);
      expect(r.stderr, role).to.match(/^Error from server \(Forbidden\): /);
      expect(r.stdout, role).to.equal('');
    }
    expect(await get(d, 'Trigger', 'p-prod', 't')).to.equal(undefined);
    const ok = await ctl(d, ['promote', '--from', 'p-pre', '--to', 'p-prod'], { env: as('admin') });
    expect(ok.code, ok.stderr).to.equal(0);
    expect(ok.stdout).to.include('trigger/t create');
    expect(await get(d, 'Trigger', 'p-prod', 't')).not.to.equal(undefined);
  });

  it('--from must be a preview namespace and --to a production one (400, exit 1)', async () => {
    expect((await putNs(TOKENS.admin, 'p-none', {})).status).to.equal(201);
    for (const [from, to, names] of [['p-prod', 'p-prod2', 'p-prod'], ['p-pre', 'p-none', 'p-none'], ['p-none', 'p-prod', 'p-none'], ['p-pre', 'absent', 'absent']]) {
      const res = await promotion(d, { from, to, dryRun: true });
      expect(res.status, `${from} -> ${to}: ${res.text}`).to.equal(400);
      expect(res.body.reason).to.equal('BadRequest');
      expect(res.text, `${from} -> ${to}`).to.include(names);
      const r = await ctl(d, ['promote', '--from', from!, '--to', to!], { env: as('admin') });
      expect(r.code, `${from} -> ${to}`).to.equal(1);
      expect(r.stderr).to.match(/^Error from server \(BadRequest\): /).and.include(names!);
    }
  });
});

describe('orlojctl promote: usage errors exit 2 and send nothing', function () {
  this.timeout(30_000);
  let d: Orlojd;
  let down: string;
  before(async () => {
    d = await Orlojd.start();
    down = await deadServer();
  });
  after(async () => d?.destroy());

  it('needs --from and --to, takes no arguments, and --only takes KIND/NAME of a known kind', async () => {
    const cases: Array<[string[], string]> = [
      [['--to', 'prod'], '--from'],
      [['--from', 'pre'], '--to'],
      [['--from', 'pre', '--to', 'pre'], 'same namespace'],
      [['--from', 'pre', '--to', 'prod', 'extra'], 'unexpected argument "extra"'],
      [['--from', 'pre', '--to', 'prod', '--only', 'notify'], 'KIND/NAME'],
      [['--from', 'pre', '--to', 'prod', '--only', 'trigger/a,/b'], 'KIND/NAME'],
      [['--from', 'pre', '--to', 'prod', '--only', 'gadget/x'], 'unknown resource type "gadget"'],
      [['--from', 'pre', '--to', 'prod', '--bogus'], 'unknown flag: --bogus'],
    ];
    for (const [args, message] of cases) {
      const r = await ctl(d, ['promote', ...args, '--server', down]);
      expect(r.code, args.join(' ')).to.equal(2);
      expect(r.stderr, args.join(' ')).to.include(message).and.include("See 'orlojctl promote --help' for usage.");
      expect(r.stdout).to.equal('');
    }
    const help = await ctl(d, ['promote', '--help']);
    expect(help.code).to.equal(0);
    expect(help.stdout).to.include('orlojctl promote --from PREVIEW_NS --to PRODUCTION_NS [--dry-run] [--prune] [--only KIND/NAME,...]');
    const top = await ctl(d, ['--help']);
    expect(top.stdout).to.match(/^ {2}promote\s/m);
  });
});
