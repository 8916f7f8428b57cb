// Issue 14, acceptance 6: a promotion is one atomic store unit. orlojd is killed (-9) at
// moments spread over a promotion of many objects; after each restart production holds
// none of them or all of them, never some. Runs on SQLite, and on PostgreSQL with
// ORLOJ_TEST_STORAGE=postgres (the restart reuses the server's database).
import { expect } from 'chai';
import { request } from 'node:http';
import { eventually, Orlojd, TEST_STORAGE } from '../helpers/orlojd.js';
import { list, manifest, namespace, namespaceEvents, promotion, put } from './helpers.js';

const TRIGGERS = 60;
const names = Array.from({ length: TRIGGERS }, (_, i) => `t-${String(i).padStart(2, '0')}`);

interface InFlight {
  /** Resolves once the whole request is handed to the socket. */
  written: Promise<void>;
  /** The answer, or the error a killed server leaves the request with. */
  answer: Promise<{ status: number; text: string } | Error>;
}

/** POST /v1/promotions over a connection of its own, so the moment it is sent is known. */
function startPromotion(d: Orlojd, to: string): InFlight {
  const payload = JSON.stringify({ from: 'pre', to });
  const req = request({
    host: '127.0.0.1',
    port: d.port,
    method: 'POST',
    path: '/v1/promotions',
    agent: false,
    headers: { authorization: `Bearer ${d.token}`, 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) },
  });
  const answer = new Promise<{ status: number; text: string } | Error>((resolve) => {
    req.on('response', (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
      res.on('error', resolve);
    });
    req.on('error', resolve);
  });
  const written = new Promise<void>((resolve) => req.end(payload, () => resolve()));
  return { written, answer };
}

/** Resolves when a watch of `ns`'s triggers shows the first one added (the promotion's commit is visible). */
async function firstTriggerAdded(d: Orlojd, ns: string): Promise<{ seen: Promise<void>; stop: () => void }> {
  const rv = (await d.api('GET', `/v1/triggers?namespace=${ns}`)).body.metadata.resourceVersion as string;
  const ctrl = new AbortController();
  const res = await fetch(`${d.url}/v1/triggers?namespace=${ns}&watch=true&resourceVersion=${rv}`, { headers: { authorization: `Bearer ${d.token}` }, signal: ctrl.signal });
  const seen = (async () => {
    const reader = res.body!.getReader();
    let buf = '';
    for (;;) {
      const { done, value } = await reader.read();
      if (done) throw new Error('the watch ended before a trigger was added');
      buf += Buffer.from(value).toString();
      if (buf.includes('"ADDED"')) return;
    }
  })();
  seen.catch(() => undefined);
  return { seen, stop: () => ctrl.abort() };
}

interface Outcome {
  triggers: number;
  signingSecrets: number;
  collection: boolean;
  promotedEvents: number;
}

/** What a promotion into `ns` left there. */
async function outcome(d: Orlojd, ns: string): Promise<Outcome> {
  const triggers = await list(d, 'Trigger', ns);
  const secrets = new Set((await list(d, 'Secret', ns)).map((s) => s.metadata.name));
  // Each promoted trigger points at the signing Secret made in the same step.
  const signingSecrets = triggers.filter((t) => t.spec.secret_ref === `${t.metadata.name}-signing` && secrets.has(`${t.metadata.name}-signing`)).length;
  const collection = (await list(d, 'Collection', ns)).some((c) => c.metadata.name === 'c');
  const promotedEvents = (await namespaceEvents(d, ns)).filter((e) => e.reason === 'Promoted').length;
  return { triggers: triggers.length, signingSecrets, collection, promotedEvents };
}

const NONE: Outcome = { triggers: 0, signingSecrets: 0, collection: false, promotedEvents: 0 };
const ALL: Outcome = { triggers: TRIGGERS, signingSecrets: TRIGGERS, collection: true, promotedEvents: 1 };

describe(`promotion: kill -9 during a promotion (${TEST_STORAGE})`, function () {
  this.timeout(300_000);
  let d: Orlojd;
  before(async () => {
    d = await Orlojd.start();
    await namespace(d, 'pre', 'preview');
    await put(d, manifest('Collection', 'pre', 'c', { schema: { type: 'object' } }));
    for (const n of names) await put(d, manifest('Trigger', 'pre', n, { collection: 'c', url: `https://hooks.example.com/${n}` }));
  });
  after(async () => d?.destroy());

  it(`leaves production with none or all of ${TRIGGERS} triggers (and their signing Secrets), wherever the kill lands`, async () => {
    // How long one promotion of this set takes on a server just started (as every round's
    // is), measured on a namespace of its own: the first kill moments are derived from it.
    await d.restart();
    await namespace(d, 'prod-measure', 'production');
    const t0 = performance.now();
    const measured = await promotion(d, { from: 'pre', to: 'prod-measure' });
    const took = performance.now() - t0;
    expect(measured.status, measured.text).to.equal(200);
    expect(measured.body.problems).to.deep.equal([]);
    expect(await outcome(d, 'prod-measure')).to.deep.equal(ALL);

    // Kill delays after the request was sent: 0, then doubling from the measured time until a
    // kill lands after the commit, then halving the interval between the latest kill that
    // found nothing and the earliest that found everything, so later kills close in on the commit.
    const TIMED = 9;
    let before = 0;
    let after: number | undefined;
    const results: Array<{ label: string; outcome: Outcome; answered: boolean }> = [];
    for (let i = 0; i <= TIMED; i++) {
      const watched = i === TIMED;
      const delay = i === 0 ? 0 : after === undefined ? took * 2 ** (i - 1) : (before + after) / 2;
      const label = watched ? 'the moment a watch shows the first promoted trigger' : `${delay.toFixed(1)} ms after the request was sent`;
      const ns = `prod-${i}`;
      await namespace(d, ns, 'production');
      const watch = watched ? await firstTriggerAdded(d, ns) : undefined;
      const f = startPromotion(d, ns);
      await f.written;
      if (watch) await watch.seen;
      else if (delay > 0) await new Promise((r) => setTimeout(r, delay));
      await d.kill9();
      watch?.stop();
      const answer = await f.answer;
      const answered = !(answer instanceof Error) && answer.status === 200 && (JSON.parse(answer.text) as { problems: unknown[] }).problems.length === 0;
      await d.restart();
      const got = await outcome(d, ns);
      results.push({ label, outcome: got, answered });
      console.log(`      kill ${i + 1} at ${label}: ${got.triggers === TRIGGERS ? 'all' : got.triggers === 0 ? 'none' : `${got.triggers} of ${TRIGGERS}`} promoted${answered ? ' (answered before the kill)' : ''}`);
      expect([NONE, ALL], `${label}: ${JSON.stringify(got)}`).to.deep.include(got);
      // An answered promotion is durable.
      if (answered) expect(got, label).to.deep.equal(ALL);
      if (!watched) {
        if (got.triggers === 0) before = Math.max(before, delay);
        else after = Math.min(after ?? delay, delay);
      }
    }
    // The kills landed on both sides of the commit.
    expect(results.some((r) => r.outcome.triggers === 0), 'no kill landed before the commit').to.equal(true);
    expect(results.filter((r) => r.outcome.triggers === TRIGGERS).length, 'no timed kill landed after the commit').to.be.above(1);
    // The watch saw a commit: that kill came after it, so everything must be there.
    expect(results.at(-1)!.outcome).to.deep.equal(ALL);

    // A promotion the kill cut off runs again from the start and completes.
    for (const [i, r] of results.entries()) {
      if (r.outcome.triggers) continue;
      const again = await promotion(d, { from: 'pre', to: `prod-${i}` });
      expect(again.status, again.text).to.equal(200);
      expect(again.body.problems).to.deep.equal([]);
      expect(await outcome(d, `prod-${i}`)).to.deep.equal(ALL);
    }
    // And each trigger promoted across the kills is Ready in production.
    for (const i of [0, TIMED]) {
      await eventually(async () => {
        const ts = await list(d, 'Trigger', `prod-${i}`);
        return ts.length === TRIGGERS && ts.every((t) => t.status?.conditions?.some((c: { type: string; status: string }) => c.type === 'Ready' && c.status === 'True'));
      }, 20_000);
    }
  });
});
