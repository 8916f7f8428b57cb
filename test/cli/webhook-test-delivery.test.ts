// `orlojctl webhook send` with a token that cannot read the Secret (a writer's): orlojd signs
// a test delivery itself; an admin's still signs here. The record says which it was.
import { expect } from 'chai';
import { put, readyWebhook, secret, taskWebhook } from '../helpers/fixtures.js';
import { eventually, Orlojd } from '../helpers/orlojd.js';
import { collection, documents, readyInbound } from '../receiver/inbound/helpers.js';
import { ctl, type CtlResult } from './ctl.js';

const TOKENS = { admin: 'ctl-td-admin', writer: 'ctl-td-writer', reader: 'ctl-td-reader' };
const NOTE = "(a server-signed test delivery: orlojd signed it with the task-webhook's own secret and profile, and its record is marked test)";

interface Rec {
  id: number;
  eventId?: string;
  outcome: string;
  test?: boolean;
}

describe('orlojctl webhook send without the secret (a server-signed test delivery)', function () {
  this.timeout(60_000);
  let d: Orlojd;
  const as = (role: keyof typeof TOKENS): NodeJS.ProcessEnv => ({ ORLOJ_SERVER: d.url, ORLOJ_TOKEN: TOKENS[role] });
  const sendAs = (role: keyof typeof TOKENS, ...args: string[]): Promise<CtlResult> => ctl(d, ['webhook', 'send', ...args], { env: as(role) });
  before(async () => {
    d = await Orlojd.start({ args: ['--api-tokens', Object.entries(TOKENS).map(([role, t]) => `${t}:${role}`).join(',')] });
    d.token = TOKENS.admin;
    await readyWebhook(d, 'hook', 'cli-td-secret');
  });
  after(async () => d?.destroy());

  /** The records of one event as `get deliveries -o json` lists them. */
  const recordsOf = async (owner: string, eventId: string): Promise<Rec[]> => {
    const r = await ctl(d, ['get', 'deliveries', '--for', owner, '-o', 'json'], { env: as('writer') });
    return (JSON.parse(r.stdout) as { items: Rec[] }).items.filter((x) => x.eventId === eventId);
  };

  it('a writer token: orlojd signs it, a run task is made, and get deliveries and describe delivery mark it a test', async () => {
    const r = await sendAs('writer', 'hook', '-d', '{"n":1}', '--event-id', 'cli-td-1');
    expect(r.code, r.stderr).to.equal(0);
    const [status, body, note] = r.stdout.split('\n');
    expect(status).to.equal('HTTP 202 Accepted');
    const answer = JSON.parse(body!) as { task: string; event_id: string; duplicate: boolean };
    expect(answer).to.include({ event_id: 'cli-td-1', duplicate: false });
    expect(note).to.equal(NOTE);
    expect((await ctl(d, ['get', 'tasks'], { env: as('writer') })).stdout).to.include(answer.task);
    const [rec] = await recordsOf('tw/hook', 'cli-td-1');
    expect(rec).to.include({ outcome: 'accepted', test: true });
    const table = await ctl(d, ['get', 'deliveries', '--for', 'tw/hook'], { env: as('writer') });
    expect(table.stdout).to.match(new RegExp(`cli-td-1\\s+accepted \\(test\\)\\s+202\\s+${answer.task}`));
    const described = await ctl(d, ['describe', 'delivery', String(rec!.id)], { env: as('writer') });
    expect(described.code, described.stderr).to.equal(0);
    expect(described.stdout).to.match(/Outcome:\s+accepted\nTest:\s+yes /).and.match(new RegExp(`\\*${rec!.id}\\s.*accepted \\(test\\)`));
  });

  it('a writer token to an InboundWebhook: a document is written, and the record is a test', async () => {
    await collection(d, 'cli-td-docs');
    await put(d, secret('cli-td-ingest', { key: 'ingest-key' }));
    await readyInbound(d, 'cli-td-in', { collection: 'cli-td-docs', secret_ref: 'cli-td-ingest', ingest_auth: { type: 'static_header', header: 'X-Account-Key' } });
    const r = await sendAs('writer', 'inbound-webhook/cli-td-in', '-d', '{"id":"cli-doc","title":"hello"}', '--event-id', 'cli-td-in-1');
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout).to.match(/^HTTP 202 Accepted\n.*"itemId":"cli-doc"/).and.include("signed it with the inbound-webhook's own secret");
    expect((await documents(d, 'cli-td-docs')).map((x) => [x.id, x.data?.title])).to.deep.equal([['cli-doc', 'hello']]);
    expect(await recordsOf('iw/cli-td-in', 'cli-td-in-1')).to.have.length(1).and.satisfy((rs: Rec[]) => rs[0]!.test === true);
  });

  it('an admin token still signs here (a real delivery, no test mark); --server-sign has orlojd sign', async () => {
    const local = await sendAs('admin', 'hook', '-d', '{"n":2}', '--event-id', 'cli-admin-1');
    expect(local.code, local.stderr).to.equal(0);
    expect(local.stdout).to.match(/^HTTP 202 Accepted\n/).and.not.include('server-signed');
    const [real] = await recordsOf('tw/hook', 'cli-admin-1');
    expect(real).to.include({ outcome: 'accepted' });
    expect(real).not.to.have.property('test');
    const server = await sendAs('admin', 'hook', '-d', '{"n":3}', '--event-id', 'cli-admin-2', '--server-sign');
    expect(server.code, server.stderr).to.equal(0);
    expect(server.stdout).to.include(NOTE);
    expect((await recordsOf('tw/hook', 'cli-admin-2'))[0]).to.include({ test: true });
  });

  it('the receiver refusing a server-signed delivery exits 1 with its answer', async () => {
    await put(d, taskWebhook('json-hook', { task_ref: 'hook-tpl', auth: { secret_ref: 'hook-secret' }, payload: { mode: 'json' } }));
    await eventually(async () => (await d.api('GET', '/v1/task-webhooks/json-hook')).body.status?.endpointPath);
    const r = await sendAs('writer', 'json-hook', '-d', 'not json');
    expect(r.code).to.equal(1);
    expect(r.stdout).to.match(/^HTTP 400 Bad Request\n.*invalid JSON payload/).and.include(NOTE);
  });

  it('refusals: a reader (403), an unknown webhook, a suspended one, --local without an admin token, --server-sign with --local', async () => {
    const reader = await sendAs('reader', 'hook', '-d', '{}');
    expect(reader.code).to.equal(1);
    expect(reader.stderr).to.equal('Error from server (Forbidden): this operation needs the writer role; the token has reader\n');
    const unknown = await sendAs('writer', 'no-such-hook', '-d', '{}');
    expect(unknown.code).to.equal(1);
    expect(unknown.stderr).to.include('no task-webhook or inbound-webhook named "no-such-hook" in namespace "default"');
    await put(d, taskWebhook('paused-hook', { task_ref: 'hook-tpl', suspend: true, auth: { secret_ref: 'hook-secret' } }));
    await eventually(async () => (await d.api('GET', '/v1/task-webhooks/paused-hook')).body.status?.endpointPath);
    const paused = await sendAs('writer', 'paused-hook', '-d', '{}');
    expect(paused.code).to.equal(1);
    expect(paused.stderr).to.include('Error from server (Conflict): webhook is suspended');
    const local = await sendAs('writer', 'hook', '-d', '{}', '--local');
    expect(local.code).to.equal(1);
    expect(local.stderr).to.include('reading the signing secret needs an admin token; without --local, orlojd signs it as a test delivery');
    const both = await sendAs('writer', 'hook', '-d', '{}', '--local', '--server-sign');
    expect(both.code).to.equal(2);
    expect(both.stderr).to.include('--server-sign and --local exclude each other');
  });
});
