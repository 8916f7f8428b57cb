import { expect } from 'chai';
import { Agent, request } from 'node:http';
import { getProfile, resolveOptions } from '../../pkg/receiver/profiles/index.js';
import { eventually, Orlojd } from '../helpers/orlojd.js';
import { readyWebhook } from '../helpers/fixtures.js';

const SECRET = 'sigterm-secret';
const generic = getProfile('generic')!;
const opts = resolveOptions(generic, {});

interface Answer {
  eventId: string;
  status?: number;
  body?: string;
  /** The connection failed before any answer (reset, refused, ...). */
  error?: string;
  /** The answer's Connection header. */
  connection?: string;
}

function signedHeaders(body: string, eventId: string): Record<string, string> {
  return { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)), ...generic.sign(Buffer.from(body), Buffer.from(SECRET), opts, Date.now(), eventId) };
}

/**
 * A delivery whose headers go out with `Expect: 100-continue` and whose body waits: the
 * server's `100 Continue` proves it has parsed the request and handed it to the delivery
 * handler, which is then reading the body.
 */
function startedDelivery(d: Orlojd, path: string, agent: Agent, eventId: string) {
  const body = JSON.stringify({ eventId, pad: 'x'.repeat(200) });
  const req = request({ host: '127.0.0.1', port: d.port, path, method: 'POST', agent, headers: { ...signedHeaders(body, eventId), expect: '100-continue' } });
  const continued = new Promise<void>((r) => req.once('continue', () => r()));
  const answer = new Promise<Answer>((resolve) => {
    req.once('response', (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString()));
      res.once('end', () => resolve({ eventId, status: res.statusCode, body: text, connection: res.headers.connection }));
      res.once('error', (e) => resolve({ eventId, error: `response: ${e.message}` }));
    });
    req.once('error', (e) => resolve({ eventId, error: (e as NodeJS.ErrnoException).code ?? e.message }));
  });
  req.flushHeaders();
  return { continued, finish: () => req.end(body), answer };
}

describe('SIGTERM with deliveries in flight', function () {
  this.timeout(60_000);
  let d: Orlojd;
  before(async () => {
    d = await Orlojd.start();
  });
  after(async () => d?.destroy());

  it('answers every delivery it had started reading, and every 202 has its run task after a restart', async () => {
    const ep = await readyWebhook(d, 'term', SECRET);
    const agent = new Agent({ keepAlive: false, maxSockets: Infinity });
    // 40 deliveries the server is in the middle of: headers read, body still to come.
    const started = Array.from({ length: 40 }, (_, i) => startedDelivery(d, ep, agent, `started-${i}`));
    await Promise.all(started.map((s) => s.continued));
    // And a stream of complete deliveries racing the shutdown; whether the server got to
    // read these is not known, so a failed connection is allowed for them, not a wrong answer.
    let racing = true;
    const raced: Promise<Answer>[] = [];
    const racer = (async () => {
      for (let i = 0; racing && i < 2000; i++) {
        const eventId = `raced-${i}`;
        const body = JSON.stringify({ eventId });
        raced.push(
          fetch(d.url + ep, { method: 'POST', headers: signedHeaders(body, eventId), body })
            .then(async (r) => ({ eventId, status: r.status, body: await r.text() }))
            .catch((e: Error & { cause?: { code?: string } }) => ({ eventId, error: e.cause?.code ?? e.message })),
        );
        await new Promise((r) => setImmediate(r));
      }
    })();
    const exited = new Promise<number | null>((r) => d.proc.once('exit', (code) => r(code)));
    d.proc.kill('SIGTERM');
    // The bodies follow the signal: the server must still read them and answer.
    for (const s of started) s.finish();
    const answers = await Promise.all(started.map((s) => s.answer));
    racing = false;
    await racer;
    const racedAnswers = await Promise.all(raced);
    expect(await exited, d.logs.slice(-2000)).to.equal(0);

    const bad = answers.filter((a) => a.status !== 202 && a.status !== 503);
    expect(bad, 'started deliveries without a real answer').to.deep.equal([]);
    for (const a of answers) expect(JSON.parse(a.body!), a.eventId).to.include({ accepted: a.status === 202 });
    const wrong = racedAnswers.filter((a) => a.status !== undefined && a.status !== 202 && a.status !== 503);
    expect(wrong, 'raced deliveries with an answer other than 202 or 503').to.deep.equal([]);

    await d.restart();
    const acked = [...answers, ...racedAnswers].filter((a) => a.status === 202).map((a) => a.eventId);
    expect(acked.length).to.be.above(0);
    const perEvent = await eventually(async () => {
      const items = (await d.api('GET', `/v1/tasks?labelSelector=${encodeURIComponent('orloj.dev/task-webhook=term')}&limit=5000`)).body.items as Array<{
        spec: { input: { webhook_event_id: string } };
      }>;
      const counts = new Map<string, number>();
      for (const t of items) counts.set(t.spec.input.webhook_event_id, (counts.get(t.spec.input.webhook_event_id) ?? 0) + 1);
      return counts;
    });
    expect(acked.filter((id) => !perEvent.has(id)), '202 without a run task').to.deep.equal([]);
    expect([...perEvent].filter(([, n]) => n > 1), 'events with two run tasks').to.deep.equal([]);
  });

  it('answers a keep-alive connection busy at SIGTERM with Connection: close, and serves nothing new on it', async () => {
    const ep = await readyWebhook(d, 'kept', SECRET);
    // One pooled connection: a second request reuses it if the server leaves it open.
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const warm = startedDelivery(d, ep, agent, 'kept-0');
      await warm.continued;
      warm.finish();
      expect((await warm.answer).status).to.equal(202);
      const busy = startedDelivery(d, ep, agent, 'kept-1');
      await busy.continued;
      const exited = new Promise<number | null>((r) => d.proc.once('exit', (code) => r(code)));
      const mark = d.logs.length;
      d.proc.kill('SIGTERM');
      // The body follows the server's own word that it is stopping: sent as the signal is, it
      // could be read and answered before the signal is handled.
      await eventually(async () => d.logs.slice(mark).includes('orlojd stopping'), 10_000);
      busy.finish();
      const answer = await busy.answer;
      expect(answer.status, answer.error).to.equal(202);
      // Kept alive, the connection would carry new requests until shutdown cuts it, in the
      // middle of whichever one it is reading then.
      expect(answer.connection).to.equal('close');
      const next = startedDelivery(d, ep, agent, 'kept-2');
      next.finish();
      const after = await next.answer;
      expect(after.status, 'a request sent after SIGTERM was served').to.equal(undefined);
      expect(await exited).to.equal(0);
    } finally {
      agent.destroy();
    }
  });
});
