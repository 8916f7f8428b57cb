// A bounded, seeded fuzz run against one real orlojd: whatever a client sends, the answer is
// below 500, an error answer is a Status object, and the server stays up and healthy.
//
//   FUZZ_SEED=n        replay a run (the seed is printed at the start of every run)
//   FUZZ_SECONDS=s     how long to send (default 15; unbounded when only FUZZ_ITERATIONS is set)
//   FUZZ_ITERATIONS=n  how many cases at most
//   FUZZ_CASE=i        send only case i of the seed's run
import { expect } from 'chai';
import { randomInt } from 'node:crypto';
import { put, readyOf, resource, secret, taskWebhook, templateTask } from '../helpers/fixtures.js';
import { eventually, Orlojd } from '../helpers/orlojd.js';
import { namespaces } from '../cli/ctl.js';
import { kinds } from '../../pkg/api/registry.js';
import { makeCase, type Case, type Hook, type Target } from './cases.js';
import { send, type Answer } from './http.js';
import { caseSeed, Rng } from './prng.js';
import { kindFields, validObject, wrongValues } from './schema.js';
import { setPath, toJson } from './values.js';

const env = process.env;
const seed = env.FUZZ_SEED ? Number(env.FUZZ_SEED) >>> 0 : randomInt(2 ** 32);
const seconds = env.FUZZ_SECONDS ? Number(env.FUZZ_SECONDS) : env.FUZZ_ITERATIONS || env.FUZZ_CASE ? Infinity : 15;
const first = env.FUZZ_CASE ? Number(env.FUZZ_CASE) : 0;
const end = env.FUZZ_CASE ? first + 1 : env.FUZZ_ITERATIONS ? Number(env.FUZZ_ITERATIONS) : Infinity;
/** Requests in flight at once: enough to interleave writes, few enough for a shared 2-core machine. */
const CONCURRENCY = 4;
/** A small request limit keeps bodies around it cheap to send. */
const MAX_REQUEST_BYTES = 65_536;
/** A request unanswered this long is reported as a hang (not a timing assertion: it only ends the wait). */
const HANG_MS = 30_000;

const TOKENS = { admin: 'fuzz-admin-token', writer: 'fuzz-writer-token', reader: 'fuzz-reader-token' };
const SIGNING_KEY = 'whsec_ZnV6eiBzaWduaW5nIGtleQ==';

interface Failure {
  replay: string;
  what: string;
  problem: string;
  count: number;
}

/** Why an answer breaks the contract, or undefined. */
function problemOf(c: Case, a: Answer): string | undefined {
  if ('error' in a) return a.error;
  if (a.status >= 500) return `answered ${a.status}: ${a.body.toString('utf8', 0, 300)}`;
  if (a.status < 400 || c.req.method === 'HEAD') return undefined;
  let s: { kind?: unknown; code?: unknown; reason?: unknown; message?: unknown } | undefined;
  try {
    s = JSON.parse(a.body.toString('utf8')) as typeof s;
  } catch {
    s = undefined;
  }
  const ok = s?.kind === 'Status' && s.code === a.status && typeof s.reason === 'string' && typeof s.message === 'string';
  return ok ? undefined : `answered ${a.status} without a Status body: ${JSON.stringify(a.body.toString('latin1', 0, 200))}`;
}

const describeCase = (c: Case): string => `${c.category}: ${c.req.method} ${c.req.path.length > 160 ? `${c.req.path.slice(0, 160)}…` : c.req.path}`;

/** Answers by status per kind of case, and the contract's breaches, one example of each. */
class Tally {
  readonly failures = new Map<string, Failure>();
  readonly statuses: { [category: string]: { [status: string]: number } } = {};

  add(c: Case, a: Answer, replay: string): void {
    const byStatus = (this.statuses[c.category.replace('+headers', '')] ??= {});
    const key = 'error' in a ? 'none' : String(a.status);
    byStatus[key] = (byStatus[key] ?? 0) + 1;
    const problem = problemOf(c, a);
    if (!problem) return;
    const sig = `${c.category} ${c.req.method} ${problem.slice(0, 60)}`;
    const f = this.failures.get(sig) ?? { replay, what: describeCase(c), problem, count: 0 };
    this.failures.set(sig, { ...f, count: f.count + 1 });
  }

  /** What the cases reached, to judge the generators by. */
  summary(): string {
    return Object.entries(this.statuses).sort().map(([category, byStatus]) => `        ${category.padEnd(9)} ${Object.entries(byStatus).map(([st, n]) => `${st}×${n}`).join(' ')}`).join('\n');
  }

  report(): string[] {
    return [...this.failures.values()].map((f) => `${f.what} (×${f.count})\n    ${f.problem}\n    replay: ${f.replay}`);
  }
}

/** Runs `cases` with a few in flight until they run out or `stop` says so; `after` runs after each answer. */
async function drive(cases: Iterator<{ c: Case; replay: string }>, port: number, rec: Tally, stop: () => boolean, after = (): void => {}): Promise<number> {
  let sent = 0;
  const worker = async (): Promise<void> => {
    for (let n = cases.next(); !n.done && !stop(); n = cases.next()) {
      rec.add(n.value.c, await send(port, n.value.c.req, HANG_MS), n.value.replay);
      sent++;
      after();
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  return sent;
}

/** A wrong value in every field of every kind, each written on its own: the schemas, not chance, decide the coverage. */
function* sweep(): Generator<{ c: Case; replay: string }> {
  for (const def of kinds) {
    for (const field of kindFields(def)) {
      for (const v of wrongValues(field.schema)) {
        const obj = validObject(def, 'sweep');
        setPath(obj, field.path, v);
        const req = { method: 'PUT', path: `/v1/${def.plural}/sweep?namespace=fuzz`, headers: [['Authorization', `Bearer ${TOKENS.admin}`], ['Content-Type', 'application/json']] as Array<[string, string]>, body: Buffer.from(toJson(obj)) };
        yield { c: { category: 'sweep', req }, replay: `the sweep: ${def.kind} ${field.path.join('.')} = ${toJson(v).slice(0, 80)}` };
      }
    }
  }
}

/** The seeded cases, from `first` on. */
function* seeded(t: Target): Generator<{ c: Case; replay: string }> {
  for (let i = first; i < end; i++) {
    const replay = `FUZZ_SEED=${seed} FUZZ_CASE=${i}`;
    let c: Case;
    try {
      c = makeCase(new Rng(caseSeed(seed, i)), t);
    } catch (e) {
      throw new Error(`the fuzzer itself failed to make a case (${replay}): ${(e as Error).message}`);
    }
    yield { c, replay };
  }
}

/** The fixture webhooks deliveries are aimed at (in a namespace the cases never write to). */
async function fixtureHooks(d: Orlojd): Promise<Hook[]> {
  await namespaces(d, 'fixture');
  const inNs = <T extends { metadata: Record<string, unknown> }>(o: T): T => ({ ...o, metadata: { ...o.metadata, namespace: 'fixture' } });
  await put(d, inNs(secret('key', { k: SIGNING_KEY })));
  await put(d, inNs(templateTask('tpl')));
  const specs: Array<[string, Record<string, unknown>]> = [
    ['generic', { auth: { secret_ref: 'key' }, max_body_bytes: 1024 }],
    ['stripe', { auth: { secret_ref: 'key', profile: 'stripe' }, max_body_bytes: 2048 }],
    ['standard', { auth: { secret_ref: 'key', profile: 'standard-webhooks' }, payload: { mode: 'json' }, max_body_bytes: 4096 }],
    ['suspended', { auth: { secret_ref: 'key', profile: 'gitlab' }, suspend: true, max_body_bytes: 512 }],
  ];
  const hooks: Hook[] = [];
  for (const [name, spec] of specs) {
    await put(d, inNs(taskWebhook(name, { task_ref: 'tpl', ...spec })));
    const w = await eventually(async () => {
      const o = (await d.api('GET', `/v1/task-webhooks/${name}?namespace=fixture`)).body;
      return o.status?.endpointID && (readyOf(o)?.status === 'True' || name === 'suspended') ? o : undefined;
    }, 10_000);
    hooks.push({ endpointId: w.status.endpointID, profile: w.spec.auth.profile, maxBodyBytes: w.spec.max_body_bytes, key: Buffer.from(SIGNING_KEY) });
  }
  await put(d, inNs(resource('Collection', 'docs', { schema: { type: 'object', required: ['type'], properties: { type: { type: 'string' }, n: { type: 'integer' } } } })));
  const inbound: Array<[string, Record<string, unknown>]> = [
    ['iw-json', { secret_ref: 'key', field_mapping: { to_external: { kind: 'type' }, dates: { at: { external: 'unix' } } }, flatten: true, max_body_bytes: 2048 }],
    ['iw-raw', { ingest_auth: { type: 'path_token' }, payload: { mode: 'raw' }, max_body_bytes: 1024 }],
    ['iw-bearer', { secret_ref: 'key', ingest_auth: { type: 'bearer', signing_secret_ref: 'key' }, max_body_bytes: 1024 }],
  ];
  for (const [name, spec] of inbound) {
    await put(d, inNs(resource('InboundWebhook', name, { collection: 'docs', ...spec })));
    const w = await eventually(async () => {
      const o = (await d.api('GET', `/v1/inbound-webhooks/${name}?namespace=fixture`)).body;
      return o.status?.endpointID && readyOf(o)?.status === 'True' ? o : undefined;
    }, 10_000);
    hooks.push({ endpointId: w.status.endpointID, profile: 'generic', maxBodyBytes: w.spec.max_body_bytes, key: Buffer.from(SIGNING_KEY), inbound: name });
  }
  return hooks;
}

/** Error and fatal log lines, taken out of the log kept in memory (a long run logs every request). */
function takeErrorLogs(d: Orlojd): string[] {
  const cut = d.logs.lastIndexOf('\n') + 1; // a line still being written stays for the next time
  const lines = d.logs.slice(0, cut).split('\n').filter((l) => /"level":(50|60)/.test(l));
  d.logs = d.logs.slice(cut);
  return lines;
}

describe('fuzz: the resource API and the delivery endpoint', function () {
  this.timeout(Number.isFinite(seconds) ? (seconds + 120) * 1000 : 0);
  let d: Orlojd;
  let target: Target;
  const errorLogs: string[] = [];
  before(async () => {
    d = await Orlojd.start({ args: ['--api-tokens', `${TOKENS.admin}:admin,${TOKENS.writer}:writer,${TOKENS.reader}:reader`, '--max-request-bytes', String(MAX_REQUEST_BYTES)] });
    d.token = TOKENS.admin;
    await namespaces(d, 'fuzz', 'fuzz-ns');
    target = { tokens: TOKENS, maxRequestBytes: MAX_REQUEST_BYTES, hooks: await fixtureHooks(d) };
  });
  after(async () => d?.destroy());

  it('takes a wrong value in every field of every kind with an answer below 500', async () => {
    const rec = new Tally();
    const sent = await drive(sweep(), d.port, rec, () => false);
    console.log(`      ${sent} writes\n${rec.summary()}`);
    expect(rec.report(), rec.report().join('\n')).to.deep.equal([]);
    expect(rec.statuses.sweep?.['422'], rec.summary()).to.be.above(0);
  });

  it('answers every seeded case below 500, and every error with a Status object', async () => {
    console.log(`      fuzz seed ${seed} (FUZZ_SEED=${seed} replays this run)`);
    const rec = new Tally();
    const deadline = Date.now() + seconds * 1000;
    let answered = 0;
    // The log kept in memory is searched for errors and emptied now and then: a long run logs every request.
    const drain = (): void => {
      if (++answered % 1000 === 0) errorLogs.push(...takeErrorLogs(d));
    };
    const sent = await drive(seeded(target), d.port, rec, () => Date.now() >= deadline, drain);
    console.log(`      ${sent} cases\n${rec.summary()}`);
    expect(rec.report(), rec.report().join('\n')).to.deep.equal([]);
  });

  it('is still running, healthy, serving, and logged no error', async () => {
    expect(d.proc.exitCode, d.logs).to.equal(null);
    const health = await d.api('GET', '/healthz');
    expect(health.status).to.equal(200);
    expect(health.body).to.deep.equal({ status: 'ok' });
    const created = await d.api('PUT', '/v1/tasks/after-fuzz?namespace=fuzz', { kind: 'Task', metadata: { name: 'after-fuzz' }, spec: {} });
    expect(created.status, created.text).to.be.oneOf([200, 201]);
    errorLogs.push(...takeErrorLogs(d));
    expect(errorLogs.slice(0, 5), errorLogs.slice(0, 5).join('\n')).to.deep.equal([]);
  });
});
