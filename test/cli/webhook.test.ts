import { expect } from 'chai';
import { execFileSync, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { distRoot, eventually, Orlojd } from '../helpers/orlojd.js';
import { ctl, tree, webhookStack } from './ctl.js';

const examples = join(distRoot, '..', 'examples');

interface Hook {
  status: { endpointPath: string; acceptedCount?: number; conditions?: Array<{ type: string; status: string }> };
}

/** The seed walkthrough, step by step, with the shipped examples. */
describe('orlojctl webhook send, rotate-endpoint, get deliveries (walkthrough)', function () {
  this.timeout(60_000);
  let d: Orlojd;
  before(async () => {
    d = await Orlojd.start();
  });
  after(async () => d?.destroy());

  it('apply -f examples/ makes every webhook Ready with an endpoint', async () => {
    const r = await ctl(d, ['apply', '-f', examples]);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout).to.include('task-webhook/report-generic-webhook created').and.include('task-webhook/report-github-push created');
    const table = await eventually(async () => {
      const g = await ctl(d, ['get', 'task-webhooks']);
      const rows = g.stdout.trim().split('\n').slice(1);
      return rows.length === 2 && rows.every((l) => /\/v1\/webhook-deliveries\/\S+\s+True\s/.test(l)) ? g.stdout : undefined;
    });
    expect(table.split('\n')[0]).to.match(/^NAME\s+PROFILE\s+TASK\s+ENDPOINT_PATH\s+READY\s+AGE/);
  });

  it('curl + openssl exactly as the seed does (generic), then a replay is a duplicate (skipped where curl, openssl or xxd is not installed)', async function () {
    const hook = (await d.api<Hook>('GET', '/v1/task-webhooks/report-generic-webhook?namespace=default')).body;
    const script = `
BODY='{"event":"report.trigger","topic":"AI startups"}'
TS="$(date +%s)"
SECRET='replace-me'
SIG_HEX="$(printf '%s' "\${TS}.\${BODY}" | openssl dgst -sha256 -hmac "$SECRET" -binary | xxd -p -c 256)"
curl -s -X POST "${d.url}${hook.status.endpointPath}" -H "Content-Type: application/json" -H "X-Timestamp: \${TS}" -H "X-Event-Id: evt-001" -H "X-Signature: sha256=\${SIG_HEX}" --data "$BODY"`;
    const missing = ['curl', 'openssl', 'xxd'].filter((t) => spawnSync('sh', ['-c', `command -v ${t}`]).status !== 0);
    if (missing.length) this.skip();
    const out = execFileSync('bash', ['-c', `${script}; echo; ${script.split('\n').pop()}`], { encoding: 'utf8' });
    const [first, second] = out.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(first).to.include({ accepted: true, duplicate: false, event_id: 'evt-001' });
    expect(second).to.include({ accepted: true, duplicate: true, task: first!.task });
  });

  it('webhook send signs with the webhook secret and profile; a replay is a duplicate', async () => {
    const body = join(tree({}), 'body.json');
    writeFileSync(body, '{"ref":"refs/heads/main","repository":{"full_name":"acme/repo"}}');
    const r = await ctl(d, ['webhook', 'send', 'report-github-push', '-d', `@${body}`, '--event-id', 'gh-evt-001', '--event-type', 'push']);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout).to.match(/^HTTP 202 Accepted\n/);
    const answer = JSON.parse(r.stdout.split('\n')[1]!) as { task: string; duplicate: boolean };
    expect(answer.duplicate).to.equal(false);
    const again = await ctl(d, ['webhook', 'send', 'report-github-push', '-d', `@${body}`, '--event-id', 'gh-evt-001']);
    expect(again.stdout).to.include('"duplicate":true');
    const task = (await d.api('GET', `/v1/tasks/${answer.task}`)).body;
    expect(task.spec.input).to.include({ webhook_event_id: 'gh-evt-001', webhook_source: 'github', webhook_event_type: 'push' });
    expect(task.spec.input.webhook_payload).to.deep.equal({ ref: 'refs/heads/main', repository: { full_name: 'acme/repo' } });
    const tasks = await ctl(d, ['get', 'tasks']);
    expect(tasks.stdout).to.include(answer.task);
  });

  it('webhook send reports a refused delivery with exit 1', async () => {
    await ctl(d, ['apply', '-f', '-'], { input: 'kind: TaskWebhook\nmetadata: {name: paused}\nspec: {task_ref: weekly-report-template, suspend: true, auth: {secret_ref: webhook-shared-secret}}\n' });
    await eventually(async () => (await d.api<Hook>('GET', '/v1/task-webhooks/paused')).body.status?.endpointPath);
    const r = await ctl(d, ['webhook', 'send', 'paused', '-d', '{}']);
    expect(r.code).to.equal(1);
    expect(r.stdout).to.match(/^HTTP 409/);
  });

  it('get deliveries lists records newest first, filtered with --for and --outcome', async () => {
    // Its own webhook in its own namespace: no other test's records can show here.
    expect((await ctl(d, ['apply', '-f', tree({ 's.yaml': webhookStack('deliv', 'listed') })])).code).to.equal(0);
    const ready = await ctl(d, ['wait', 'tw', 'listed', '-n', 'deliv', '--for=condition=Ready', '--timeout=10s']);
    expect(ready.code, ready.stderr).to.equal(0);
    const sent = await ctl(d, ['webhook', 'send', 'listed', '-n', 'deliv', '-d', '{"n":1}', '--event-id', 'ls-1']);
    expect(sent.stdout).to.match(/^HTTP 202/);
    const task = (JSON.parse(sent.stdout.split('\n')[1]!) as { task: string }).task;
    expect((await ctl(d, ['webhook', 'send', 'listed', '-n', 'deliv', '-d', '{"n":1}', '--event-id', 'ls-1'])).stdout).to.include('"duplicate":true');
    const hook = (await d.api<Hook>('GET', '/v1/task-webhooks/listed?namespace=deliv')).body;
    expect((await fetch(d.url + hook.status.endpointPath, { method: 'POST', body: '{}' })).status).to.equal(401);
    // The replay's and the rejection's records are written with the next status flush.
    const r = await eventually(async () => {
      const g = await ctl(d, ['get', 'deliveries', '-n', 'deliv', '--for', 'tw/listed']);
      return g.stdout.trim().split('\n').length === 4 ? g : undefined;
    });
    const [header, newest, middle, oldest] = r.stdout.trim().split('\n');
    expect(header).to.match(/^AGE\s+OWNER\s+EVENT\s+OUTCOME\s+HTTP\s+RESULT/);
    expect(newest).to.match(/TaskWebhook\/deliv\/listed\s+<none>\s+rejected\s+401\s+<none>$/);
    expect(middle).to.match(new RegExp(`TaskWebhook/deliv/listed\\s+ls-1\\s+duplicate\\s+202\\s+${task}$`));
    expect(oldest).to.match(new RegExp(`TaskWebhook/deliv/listed\\s+ls-1\\s+accepted\\s+202\\s+${task}$`));
    const json = JSON.parse((await ctl(d, ['get', 'deliveries', '-n', 'deliv', '--outcome', 'rejected', '-o', 'json'])).stdout) as {
      items: Array<{ owner: string; httpStatus: number }>;
    };
    expect(json.items.map((i) => [i.owner, i.httpStatus])).to.deep.equal([['TaskWebhook/deliv/listed', 401]]);
  });

  it('webhook rotate-endpoint issues a new endpoint; the old one answers 404', async () => {
    const before = (await d.api<Hook>('GET', '/v1/task-webhooks/report-generic-webhook')).body.status.endpointPath;
    const r = await ctl(d, ['webhook', 'rotate-endpoint', 'report-generic-webhook']);
    expect(r.code, r.stderr).to.equal(0);
    const after = (await d.api<Hook>('GET', '/v1/task-webhooks/report-generic-webhook')).body.status.endpointPath;
    expect(after).not.to.equal(before);
    expect(r.stdout).to.include(after);
    expect((await fetch(d.url + before, { method: 'POST', body: '{}' })).status).to.equal(404);
    const sent = await ctl(d, ['webhook', 'send', 'report-generic-webhook', '-d', '{"x":1}']);
    expect(sent.stdout).to.match(/^HTTP 202/);
  });
});
