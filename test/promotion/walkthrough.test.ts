// examples/promotion.md step by step, with the shipped manifests: what it shows is what
// orlojctl prints.
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { distRoot, eventually, Orlojd } from '../helpers/orlojd.js';
import { post } from '../helpers/deliveries.js';
import { ctl } from '../cli/ctl.js';
import { get, namespaceEvents, ready } from './helpers.js';

const dir = join(distRoot, '..', 'examples', 'promotion');
const file = (name: string) => join(dir, name);
const FROM = ['--from', 'shop-preview', '--to', 'shop-production'];

describe('examples/promotion.md (walkthrough)', function () {
  this.timeout(90_000);
  let d: Orlojd;
  before(async () => {
    d = await Orlojd.start();
  });
  after(async () => d?.destroy());

  it('1-2: the two namespaces, then the preview objects', async () => {
    const ns = await ctl(d, ['apply', '-f', file('namespaces.yaml')]);
    expect(ns.code, ns.stderr).to.equal(0);
    const listed = await ctl(d, ['get', 'namespaces']);
    expect(listed.stdout).to.match(/^shop-preview\s+preview\s/m).and.match(/^shop-production\s+production\s/m);
    const pre = await ctl(d, ['apply', '-f', file('preview.yaml')]);
    expect(pre.code, pre.stderr).to.equal(0);
    expect(pre.stdout).to.equal('secret/pagerduty-account-key created\ncollection/incidents created\ninbound-webhook/pagerduty-incidents created\ntrigger/notify-p1 created\n');
    await ready(d, 'InboundWebhook', 'shop-preview', 'pagerduty-incidents');
    await ready(d, 'Trigger', 'shop-preview', 'notify-p1');
  });

  it('3: production refuses a trigger created there', async () => {
    const r = await ctl(d, ['create', 'trigger', 'notify-p1', '-n', 'shop-production', '--collection', 'incidents', '--url', 'https://hooks.example.com/p1']);
    expect(r.code).to.equal(1);
    expect(r.stderr).to.equal(
      'Error from server (PromotionRequired): Trigger "notify-p1" cannot be created in production namespace "shop-production": create it in a preview namespace and promote it (orlojctl promote --from PREVIEW --to shop-production)\n',
    );
  });

  it('4-5: the dry run lists the plan and the missing Secret (exit 1); with the Secret applied it passes', async () => {
    const plan = 'collection/incidents create\ninbound-webhook/pagerduty-incidents create\nsecret/notify-p1-signing create\ntrigger/notify-p1 create\n';
    const dry = await ctl(d, ['promote', ...FROM, '--dry-run']);
    expect(dry.code).to.equal(1);
    expect(dry.stdout).to.equal(plan);
    expect(dry.stderr).to.equal('error: inbound-webhook/pagerduty-incidents: secret "pagerduty-account-key" not found in namespace "shop-production": create it there first (a promotion never copies Secrets)\n');
    expect((await ctl(d, ['apply', '-f', file('production-secrets.yaml')])).code).to.equal(0);
    const again = await ctl(d, ['promote', ...FROM, '--dry-run']);
    expect(again.code, again.stderr).to.equal(0);
    expect(again.stdout).to.equal(plan);
  });

  it("6: promote; production's endpoint is its own and takes production's key only", async () => {
    const r = await ctl(d, ['promote', ...FROM]);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout).to.equal('collection/incidents create\ninbound-webhook/pagerduty-incidents create\nsecret/notify-p1-signing create\ntrigger/notify-p1 create\n');
    const prod = await ready(d, 'InboundWebhook', 'shop-production', 'pagerduty-incidents');
    const pre = await ready(d, 'InboundWebhook', 'shop-preview', 'pagerduty-incidents');
    expect(prod.status.endpointPath).not.to.equal(pre.status.endpointPath);
    const body = JSON.stringify({ id: 'inc-1', title: 'db down', severity: 'p1', state: 'open' });
    const headers = (key: string, id: string) => ({ 'content-type': 'application/json', 'X-Account-Key': key, 'X-Event-Id': id });
    expect((await post(d, prod.status.endpointPath, headers('preview-account-key', 'e1'), body)).status).to.equal(401);
    expect((await post(d, prod.status.endpointPath, headers('production-account-key', 'e2'), body)).status).to.equal(202);
    const ev = await eventually(async () => (await namespaceEvents(d, 'shop-production')).find((e) => e.reason === 'Promoted'));
    expect(ev.message).to.match(/^promoted from "shop-preview" by the admin token [0-9a-f]{12}: 4 create$/);
    const described = await ctl(d, ['describe', 'namespace', 'shop-production']);
    expect(described.stdout).to.match(/EnvironmentChanged\s.*environment: unset -> production/).and.include('Promoted');
  });

  it('7: a re-run is unchanged; a change in preview shows as an update with its diff', async () => {
    const same = await ctl(d, ['promote', ...FROM]);
    expect(same.stdout).to.equal('collection/incidents unchanged\ninbound-webhook/pagerduty-incidents unchanged\ntrigger/notify-p1 unchanged\n');
    const edited = readFileSync(file('preview.yaml'), 'utf8').replace('events: [create, update]', 'events: [create]');
    expect(edited).not.to.equal(readFileSync(file('preview.yaml'), 'utf8'));
    expect((await ctl(d, ['apply', '-f', '-'], { input: edited })).code).to.equal(0);
    const dry = await ctl(d, ['promote', ...FROM, '--dry-run']);
    expect(dry.code, dry.stderr).to.equal(0);
    expect(dry.stdout).to.match(/^trigger\/notify-p1 update\n {4}--- Trigger\/notify-p1 \(production\)\n {4}\+\+\+ Trigger\/notify-p1 \(promoted\)\n/m);
    expect(dry.stdout).to.include('\n    -    - update\n');
    const r = await ctl(d, ['promote', ...FROM]);
    expect(r.stdout).to.include('trigger/notify-p1 update\n').and.not.include('---');
  });

  it('8-9: suspend in production through get -o yaml | apply; --prune deletes the trigger preview dropped', async () => {
    // Step 6's deliveries reach the webhook's status a moment later; that write between the get
    // and the apply would make the apply a conflict, as it would with kubectl.
    await eventually(async () => {
      const s = (await get(d, 'InboundWebhook', 'shop-production', 'pagerduty-incidents'))!.status;
      return s.acceptedCount === 1 && s.rejectedCount === 1;
    });
    const yaml = (await ctl(d, ['get', 'inbound-webhook', 'pagerduty-incidents', '-n', 'shop-production', '-o', 'yaml'])).stdout;
    const suspended = await ctl(d, ['apply', '-f', '-'], { input: yaml.replace('suspend: false', 'suspend: true') });
    expect(suspended.code, suspended.stderr).to.equal(0);
    expect((await get(d, 'InboundWebhook', 'shop-production', 'pagerduty-incidents'))!.spec.suspend).to.equal(true);
    expect((await ctl(d, ['delete', 'trigger', 'notify-p1', '-n', 'shop-preview'])).code).to.equal(0);
    const kept = await ctl(d, ['promote', ...FROM, '--dry-run']);
    expect(kept.stdout).not.to.include('trigger/notify-p1');
    const r = await ctl(d, ['promote', ...FROM, '--prune']);
    expect(r.code, r.stderr).to.equal(0);
    // The operator's stop stands: a promotion never resumes what production suspended.
    expect(r.stdout).to.equal('collection/incidents unchanged\ninbound-webhook/pagerduty-incidents unchanged\ntrigger/notify-p1 delete\n');
    expect((await get(d, 'InboundWebhook', 'shop-production', 'pagerduty-incidents'))!.spec.suspend).to.equal(true);
    expect(await get(d, 'Trigger', 'shop-production', 'notify-p1')).to.equal(undefined);
    await eventually(async () => (await get(d, 'Secret', 'shop-production', 'notify-p1-signing')) === undefined);
    expect(await get(d, 'Secret', 'shop-production', 'pagerduty-account-key')).not.to.equal(undefined);
  });
});
