import { expect } from 'chai';
import { parse } from 'yaml';
import { eventually, Orlojd } from '../helpers/orlojd.js';
import { ALLOW_LOOPBACK, Destination } from '../trigger/helpers.js';
import { ctl } from './ctl.js';

describe('orlojctl create trigger, trigger redeliver|resume, get deliveries --for trigger/NAME', function () {
  this.timeout(60_000);
  let d: Orlojd;
  let dest: Destination;
  before(async () => {
    d = await Orlojd.start({ args: ALLOW_LOOPBACK });
    // /down answers 503 until /down is fixed below; everything else 200.
    dest = await Destination.start((_n, r) => (r.url.startsWith('/down') && !fixed ? 503 : 200));
    const c = await ctl(d, ['apply', '-f', '-'], { input: 'kind: Collection\nmetadata: {name: incidents}\nspec: {}\n' });
    expect(c.code, c.stderr).to.equal(0);
  });
  after(async () => {
    await dest?.close();
    await d?.destroy();
  });
  let fixed = false;

  async function ready(name: string): Promise<void> {
    const r = await ctl(d, ['wait', 'trigger', name, '--for=condition=Ready', '--timeout=10s']);
    expect(r.code, r.stderr).to.equal(0);
    await eventually(async () => typeof (await d.api('GET', `/v1/triggers/${name}`)).body.status?.sinceRevision === 'number');
  }

  it('create trigger builds the manifest from flags; get, get trg -o yaml, describe and delete work on it', async () => {
    const r = await ctl(d, ['create', 'trigger', 'notify', '--collection', 'incidents', '--url', `${dest.url}/notify`, '--events', '["create","update"]', '--max-attempts', '3', '--timeout-seconds', '5']);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout).to.equal('trigger/notify created\n');
    const spec = (await d.api('GET', '/v1/triggers/notify')).body.spec;
    expect(spec).to.include({ collection: 'incidents', url: `${dest.url}/notify`, timeout_seconds: 5 });
    expect(spec.events).to.deep.equal(['create', 'update']);
    expect(spec.retry.max_attempts).to.equal(3);
    await ready('notify');

    const table = await ctl(d, ['get', 'triggers']);
    expect(table.code, table.stderr).to.equal(0);
    expect(table.stdout.split('\n')[0]).to.match(/^NAME\s+COLLECTION\s+EVENTS\s+DELIVERED\s+DEAD\s+READY\s+AGE/);
    expect(table.stdout).to.match(/\nnotify\s+incidents\s+/);

    const y = await ctl(d, ['get', 'trg', 'notify', '-o', 'yaml']);
    expect(y.code, y.stderr).to.equal(0);
    const obj = parse(y.stdout) as { kind: string; metadata: { name: string }; spec: { events: string[] } };
    expect(obj).to.deep.include({ kind: 'Trigger' });
    expect(obj.metadata.name).to.equal('notify');
    expect(obj.spec.events).to.deep.equal(['create', 'update']);

    const desc = await ctl(d, ['describe', 'trigger', 'notify']);
    expect(desc.code, desc.stderr).to.equal(0);
    expect(desc.stdout).to.include('notify').and.include('Trigger').and.include('incidents');

    const again = await ctl(d, ['create', 'trigger', 'notify', '--collection', 'incidents', '--url', `${dest.url}/other`]);
    expect(again.code).to.equal(1);
    expect(again.stderr).to.include('Error from server (AlreadyExists)');
    expect((await d.api('GET', '/v1/triggers/notify')).body.spec.url).to.equal(`${dest.url}/notify`);

    const del = await ctl(d, ['delete', 'trg', 'notify']);
    expect(del.code, del.stderr).to.equal(0);
    expect(del.stdout).to.equal('trigger/notify deleted\n');
    const gone = await eventually(async () => {
      const g = await ctl(d, ['get', 'trigger', 'notify']);
      return g.code !== 0 ? g : undefined;
    });
    expect(gone.stderr).to.include('NotFound');
  });

  it('--events also takes a comma list; --resource tasks with --selector; --source alone (dry run)', async () => {
    const r = await ctl(d, ['create', 'trigger', 'runs', '--resource', 'tasks', '--selector', 'orloj.dev/task-webhook=x', '--url', `${dest.url}/runs`, '--events', 'create, update', '--secret-ref', 'runs-key']);
    expect(r.code, r.stderr).to.equal(0);
    const spec = (await d.api('GET', '/v1/triggers/runs')).body.spec;
    expect(spec).to.include({ resource: 'tasks', label_selector: 'orloj.dev/task-webhook=x', secret_ref: 'runs-key' });
    expect(spec.events).to.deep.equal(['create', 'update']);
    expect((await ctl(d, ['delete', 'trigger', 'runs'])).code).to.equal(0);
    const ext = await ctl(d, ['create', 'trigger', 'ext', '--source', 'crm', '--events', 'update', '--dry-run']);
    expect(ext.code, ext.stderr).to.equal(0);
    expect(ext.stdout).to.equal('trigger/ext created (dry run)\n');
    expect((await d.api('GET', '/v1/triggers/ext')).status).to.equal(404);
  });

  it('refuses missing and conflicting flags with a usage error (exit 2), creating nothing', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['--url', 'http://127.0.0.1:1/'], /--collection C, or --resource tasks/],
      [['--collection', 'incidents'], /--url URL, or --source NAME/],
      [['--collection', 'incidents', '--source', 's'], /--source fires on the Source's collection/],
      [['--collection', 'incidents', '--resource', 'tasks', '--url', 'http://127.0.0.1:1/'], /--collection and --resource are mutually exclusive/],
      [['--collection', 'incidents', '--url', 'http://127.0.0.1:1/', '--source', 's'], /--url and --source are mutually exclusive/],
      [['--collection', 'incidents', '--selector', 'a=b', '--url', 'http://127.0.0.1:1/'], /--selector .* --resource tasks/],
      [['--resource', 'tasks', '--source', 's'], /leave --collection and --resource out/],
      [['--collection', 'incidents', '--url', 'http://127.0.0.1:1/', '--events', 'create,upsert'], /unknown event "upsert"/],
      [['--collection', 'incidents', '--url', 'http://127.0.0.1:1/', '--events', '["create"'], /not a JSON array/],
      [['--collection', 'incidents', '--url', 'http://127.0.0.1:1/', '--max-attempts', 'many'], /--max-attempts must be a whole number/],
      [['--collection', 'incidents', '--url', 'ftp://x/'], /http:\/\/ or https:\/\//],
      [['--collection', 'incidents', '--url', 'http://127.0.0.1:1/', '--secret', 'v'], /--secret: not a flag of create trigger/],
    ];
    for (const [flags, re] of cases) {
      const r = await ctl(d, ['create', 'trigger', 'bad', ...flags]);
      expect(r.code, `${flags.join(' ')}: ${r.stderr}`).to.equal(2);
      expect(r.stderr, flags.join(' ')).to.match(re).and.include("See 'orlojctl create --help'");
    }
    const noName = await ctl(d, ['create', 'trigger', '--collection', 'incidents', '--url', 'http://127.0.0.1:1/']);
    expect(noName.code).to.equal(2);
    expect(noName.stderr).to.include('usage: orlojctl create trigger NAME');
    expect((await d.api('GET', '/v1/triggers/bad')).status).to.equal(404);
  });

  it('a server-side refusal (a destination outside the allowed ranges) comes back as the server error naming spec.url', async () => {
    const r = await ctl(d, ['create', 'trigger', 'outside', '--collection', 'incidents', '--url', 'http://10.1.2.3/hook']);
    expect(r.code).to.equal(1);
    expect(r.stderr).to.match(/Error from server \(\w+\)/).and.include('spec.url');
  });

  it('trigger redeliver of a missing or malformed id, and trigger resume of a missing trigger, fail clearly', async () => {
    const missing = await ctl(d, ['trigger', 'redeliver', '987654321']);
    expect(missing.code).to.equal(1);
    expect(missing.stderr).to.equal('Error from server (NotFound): delivery 987654321 not found\n');
    const bad = await ctl(d, ['trigger', 'redeliver', 'abc']);
    expect(bad.code).to.equal(2);
    expect(bad.stderr).to.include('delivery ID must be a positive number');
    const resume = await ctl(d, ['trigger', 'resume', 'nope']);
    expect(resume.code).to.equal(1);
    expect(resume.stderr).to.match(/^Error from server \(NotFound\): .*nope/);
    const usage = await ctl(d, ['trigger', 'frobnicate', 'x']);
    expect(usage.code).to.equal(2);
    expect(usage.stderr).to.include('trigger redeliver DELIVERY_ID, or trigger resume NAME');
  });

  it('get deliveries --for trigger/NAME lists delivered and dead-lettered attempts; trigger redeliver sends a dead letter again', async () => {
    expect((await ctl(d, ['create', 'trigger', 'up', '--collection', 'incidents', '--url', `${dest.url}/up`, '--events', 'create'])).code).to.equal(0);
    expect((await ctl(d, ['create', 'trigger', 'down', '--collection', 'incidents', '--url', `${dest.url}/down`, '--events', 'create'])).code).to.equal(0);
    await ready('up');
    await ready('down');
    const w = await d.api('POST', '/v1/collections/incidents/documents', { title: 'disk full' });
    expect(w.status, w.text).to.be.below(300);

    const up = await eventually(async () => {
      const g = await ctl(d, ['get', 'deliveries', '--for', 'trigger/up']);
      return /\sdelivered\s/.test(g.stdout) ? g.stdout : undefined;
    }, 10_000);
    const [header, row] = up.trim().split('\n');
    expect(header).to.match(/^ID\s+AGE\s+OWNER\s+EVENT\s+OUTCOME\s+ATTEMPT\s+HTTP\s+REASON/);
    expect(row).to.match(/^\d+\s+\S+\s+Trigger\/default\/up\s+\S+\s+delivered\s+1\s+200\b/);

    const dead = await eventually(async () => {
      const g = await ctl(d, ['get', 'deliveries', '--for', 'trigger/down', '--outcome', 'dead_letter']);
      return g.stdout.includes('dead_letter') ? g.stdout : undefined;
    }, 10_000);
    const deadRow = dead.trim().split('\n')[1]!;
    expect(deadRow).to.match(/\sdead_letter\s+1\s+503\b/);
    const id = deadRow.split(/\s+/)[0]!;
    const json = JSON.parse((await ctl(d, ['get', 'deliveries', '--for', 'trigger/down', '--outcome', 'dead_letter', '-o', 'json'])).stdout) as { items: Array<{ id: number; eventId: string }> };
    const messageId = json.items[0]!.eventId;

    fixed = true;
    const re = await ctl(d, ['trigger', 'redeliver', id]);
    expect(re.code, re.stderr).to.equal(0);
    expect(re.stdout).to.match(new RegExp(`^delivery ${id} redelivered as \\d+ \\(webhook-id ${messageId.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\)\n$`));
    await eventually(async () => (await ctl(d, ['get', 'deliveries', '--for', 'trigger/down', '--outcome', 'delivered'])).stdout.includes('delivered'), 10_000);
    // A second redelivery of the same dead letter: its message was delivered, so nothing is left to send.
    const twice = await ctl(d, ['trigger', 'redeliver', id]);
    expect(twice.code).to.equal(1);
    expect(twice.stderr).to.include('Error from server (Conflict)');
  });
});
