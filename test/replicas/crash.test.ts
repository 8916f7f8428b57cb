// A retrying sender spread over two replicas while one of them is killed and restarted:
// nothing acknowledged is lost or doubled, every change a trigger matches is delivered, and
// while both replicas run, no change is sent twice (only the leader dispatches).
import { expect } from 'chai';
import { getProfile, resolveOptions } from '../../pkg/receiver/profiles/index.js';
import { put, readyOf, resource, secret } from '../helpers/fixtures.js';
import { eventually, Orlojd } from '../helpers/orlojd.js';
import { dropDatabase, freshDatabase } from '../helpers/postgres.js';
import { ALLOW_LOOPBACK, Destination, readyTrigger } from '../trigger/helpers.js';

const SECRET = 'crash-secret';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Document id → how many times the trigger's destination received it. */
function receivedPerDocument(dest: Destination): Map<string, number> {
  const seen = new Map<string, number>();
  for (const r of dest.received) {
    const id = (JSON.parse(r.body.toString()) as { document: { id: string } }).document.id;
    seen.set(id, (seen.get(id) ?? 0) + 1);
  }
  return seen;
}

describe('replicas on PostgreSQL: kill -9 under a retrying sender', function () {
  this.timeout(180_000);
  let url: string;
  let replicas: Orlojd[] = [];
  let dest: Destination;

  beforeEach(async () => {
    url = await freshDatabase('replica_crash');
    dest = await Destination.start();
    replicas = [await Orlojd.start({ postgresUrl: url, args: ALLOW_LOOPBACK })];
    replicas.push(await Orlojd.start({ postgresUrl: url, args: ALLOW_LOOPBACK }));
    replicas[1]!.token = replicas[0]!.token;
  });
  afterEach(async () => {
    await Promise.all(replicas.map((d) => d.destroy()));
    await dest.close();
    await dropDatabase(url);
  });

  it('every acknowledged event is one document written once, each delivered to the trigger; with both up, each exactly once', async () => {
    const [a, b] = replicas as [Orlojd, Orlojd];
    await put(a, secret('crash-secret', { value: SECRET }));
    await put(a, resource('Collection', 'crash', { schema: { type: 'object', required: ['id'] } }));
    await put(a, resource('InboundWebhook', 'crash', { collection: 'crash', secret_ref: 'crash-secret' }));
    const ep = await eventually(async () => {
      const w = (await a.api('GET', '/v1/inbound-webhooks/crash')).body;
      return readyOf(w)?.status === 'True' ? (w.status.endpointPath as string) : undefined;
    });
    await readyTrigger(a, 'out', { collection: 'crash', url: `${dest.url}/out`, skip_inbound_webhook_writes: false, retry: { max_attempts: 20, backoff_seconds: [0] } });

    const profile = getProfile('generic')!;
    const opts = resolveOptions(profile, {});
    const acked = new Set<string>();
    let next = 0;
    let retries = 0;
    const sendOnce = async (to: Orlojd, eventId: string): Promise<boolean> => {
      const body = JSON.stringify({ id: eventId, n: Math.random() });
      const headers = { 'content-type': 'application/json', ...profile.sign(Buffer.from(body), Buffer.from(SECRET), opts, Date.now(), eventId) };
      try {
        const res = await fetch(to.url + ep, { method: 'POST', headers, body, signal: AbortSignal.timeout(5000) });
        await res.arrayBuffer();
        return res.status === 202;
      } catch {
        return false;
      }
    };
    // A sender that moves to the other replica when one does not answer, as behind a load balancer.
    const sender = (limit: number) => async (): Promise<void> => {
      for (let turn = 0; next < limit; ) {
        const eventId = `evt-${next++}`;
        while (!(await sendOnce(replicas[turn++ % 2]!, eventId))) {
          retries++;
          await sleep(10);
        }
        acked.add(eventId);
      }
    };
    const killer = async (): Promise<void> => {
      for (let kill = 1; kill <= 3; kill++) {
        await eventually(async () => acked.size >= kill * 60, 60_000);
        await a.kill9();
        await a.restart({ args: ALLOW_LOOPBACK });
      }
    };
    await Promise.all([killer(), ...Array.from({ length: 4 }, sender(300))]);
    expect(acked.size).to.equal(300);

    // Normal operation from here: both replicas up, one dispatcher.
    const steady = acked.size;
    await Promise.all(Array.from({ length: 4 }, sender(steady + 60)));

    const docs = new Map<string, number>();
    for (let cont: string | undefined, first = true; first || cont; first = false) {
      const page = (await b.api('GET', `/v1/collections/crash/documents?limit=1000${cont ? `&continue=${cont}` : ''}`)).body;
      for (const d of page.items as Array<{ id: string; meta: { version: number } }>) docs.set(d.id, d.meta.version);
      cont = page.metadata.continue;
    }
    expect([...acked].filter((id) => !docs.has(id)), 'acknowledged without a document').to.deep.equal([]);
    expect([...docs].filter(([, v]) => v > 1).map(([id]) => id), 'written more than once').to.deep.equal([]);

    const all = await eventually(async () => {
      const seen = receivedPerDocument(dest);
      return [...acked].every((id) => seen.has(id)) ? seen : undefined;
    }, 60_000);
    const afterKills = [...acked].slice(steady);
    expect(afterKills.filter((id) => all.get(id) !== 1), 'sent more than once while both replicas ran').to.deep.equal([]);
    expect(retries).to.be.greaterThan(0);
  });
});
