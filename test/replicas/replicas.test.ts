// Two orlojd replicas on one PostgreSQL database: everything a client sees is shared, and
// what must run once runs on the leader, whichever replica that is.
import { expect } from 'chai';
import postgres from 'postgres';
import { send } from '../helpers/deliveries.js';
import { put, readyOf, readyWebhook, secret, taskWebhook, templateTask } from '../helpers/fixtures.js';
import { eventually, Orlojd } from '../helpers/orlojd.js';
import { dropDatabase, freshDatabase } from '../helpers/postgres.js';
import { openWatch } from '../helpers/watch.js';

const SECRET = 'replica-secret';
const BODY = '{"topic":"replicas"}';

const leaderGauge = async (d: Orlojd): Promise<number> => {
  const text = await (await fetch(`${d.url}/metrics`)).text();
  return Number(/^orloj_leader (\d)/m.exec(text)?.[1]);
};

describe('replicas on PostgreSQL', function () {
  this.timeout(120_000);
  let url: string;
  let a: Orlojd;
  let b: Orlojd;

  beforeEach(async () => {
    url = await freshDatabase('replicas');
    a = await Orlojd.start({ postgresUrl: url });
    b = await Orlojd.start({ postgresUrl: url });
  });
  afterEach(async () => {
    await Promise.all([a.destroy(), b.destroy()]);
    await dropDatabase(url);
  });

  it('share the generated admin token: the second replica accepts the first one\'s', async () => {
    expect(a.token).to.match(/^orloj_/);
    expect(b.token).to.equal('');
    b.token = a.token;
    expect((await b.api('GET', '/v1/tasks')).status).to.equal(200);
    b.token = 'orloj_not-the-token';
    expect((await b.api('GET', '/v1/tasks')).status).to.equal(401);
  });

  it('one leads, shown by orloj_leader; both are ready', async () => {
    b.token = a.token;
    const gauges = await eventually(async () => {
      const g = [await leaderGauge(a), await leaderGauge(b)];
      return g[0]! + g[1]! === 1 ? g : undefined;
    });
    expect(gauges.sort()).to.deep.equal([0, 1]);
    for (const d of [a, b]) expect((await fetch(`${d.url}/readyz`)).status).to.equal(200);
  });

  it('a webhook applied through one replica takes deliveries on the other, whose watch shows the task; a rotation there makes the old endpoint 404', async () => {
    b.token = a.token;
    const ep = await readyWebhook(a, 'shared', SECRET);
    const watch = await openWatch(b, 'labelSelector=orloj.dev%2Ftask-webhook%3Dshared');
    try {
      const res = await eventually(async () => {
        const r = await send(b, ep, { secret: SECRET, body: BODY });
        return r.status === 202 ? r : undefined;
      });
      expect(res.body.duplicate).to.equal(false);
      const events = await watch.waitFor(1, 5000);
      expect(events[0]!.object.metadata.name).to.equal(res.body.task);
      // Created through B; A's watch (through the notifications) shows it too.
      const onA = await openWatch(a, 'labelSelector=orloj.dev%2Ftask-webhook%3Dshared&resourceVersion=0');
      try {
        await onA.waitFor(1, 5000);
      } finally {
        onA.close();
      }
    } finally {
      watch.close();
    }
    expect((await a.api('POST', '/v1/task-webhooks/shared/rotate-endpoint?namespace=default')).status).to.equal(200);
    await eventually(async () => (await send(b, ep, { secret: SECRET, body: BODY })).status === 404);
  });

  it('100 concurrent copies of one delivery over both replicas make one task, one of them not a duplicate', async () => {
    b.token = a.token;
    const ep = await readyWebhook(a, 'race', SECRET);
    // B knows the endpoint once it answers a wrong signature 401 rather than 404 (a signed warm-up would hold the signature).
    await eventually(async () => (await send(b, ep, { secret: 'not-the-secret', body: BODY })).status === 401);
    const copies = await Promise.all(Array.from({ length: 100 }, (_, i) => send(i % 2 ? a : b, ep, { secret: SECRET, body: BODY, eventId: 'same-event' })));
    expect(copies.every((r) => r.status === 202)).to.equal(true);
    expect(copies.filter((r) => r.body.duplicate === false)).to.have.length(1);
    expect(new Set(copies.map((r) => r.body.task)).size).to.equal(1);
    const tasks = (await a.api('GET', '/v1/tasks?labelSelector=orloj.dev%2Ftask-webhook%3Drace')).body.items as Array<{ spec: { input: Record<string, unknown> } }>;
    expect(tasks.filter((t) => t.spec.input.webhook_event_id === 'same-event')).to.have.length(1);
  });

  it('a replica whose listening session is killed keeps seeing what the other replica commits', async () => {
    b.token = a.token;
    const watch = await openWatch(b, 'labelSelector=app%3Dmissed');
    try {
      const admin = postgres(url, { max: 1, onnotice: () => undefined });
      try {
        // Every listening session ends; each replica listens again, and reads from where it was.
        await admin`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND query ILIKE 'listen%'`;
      } finally {
        await admin.end();
      }
      await put(a, { ...templateTask('missed-1'), metadata: { name: 'missed-1', labels: { app: 'missed' } } });
      const events = await watch.waitFor(1, 15_000);
      expect(events[0]!.object.metadata.name).to.equal('missed-1');
    } finally {
      watch.close();
    }
  });

  it('a leader whose session the server ends steps down, and one replica leads again', async () => {
    b.token = a.token;
    await eventually(async () => (await leaderGauge(a)) + (await leaderGauge(b)) === 1);
    const steppedDown = () => [a, b].map((r) => r.logs.split('following: another replica leads').length);
    const admin = postgres(url, { max: 1, onnotice: () => undefined });
    try {
      const before = steppedDown();
      // On a busy machine a leader may just have stepped down by itself (a slow check), with
      // no lock held for a moment: end the session of whichever replica holds it once one does.
      const ended = await eventually(async () => {
        const rows = await admin`SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' AND granted AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`;
        return rows.length ? rows : undefined;
      }, 10_000);
      expect(ended.length, 'one session holds the leader lock').to.equal(1);
      await eventually(async () => steppedDown().some((n, i) => n > before[i]!), 10_000);
      await eventually(async () => (await leaderGauge(a)) + (await leaderGauge(b)) === 1, 10_000);
      const [row] = await admin<Array<{ n: number }>>`SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND granted`;
      expect(row!.n).to.equal(1);
    } finally {
      await admin.end();
    }
  });

  it('when the leader is killed, the other replica leads and reconciles a new webhook to Ready', async () => {
    b.token = a.token;
    const leader = await eventually(async () => ((await leaderGauge(a)) === 1 ? a : (await leaderGauge(b)) === 1 ? b : undefined));
    const other = leader === a ? b : a;
    await put(other, secret('after-secret', { value: SECRET }));
    await put(other, templateTask('after-tpl'));
    await leader.kill9();
    await eventually(async () => (await leaderGauge(other)) === 1, 10_000);
    await put(other, taskWebhook('after', { task_ref: 'after-tpl', auth: { secret_ref: 'after-secret' } }));
    const w = await eventually(async () => {
      const got = (await other.api('GET', '/v1/task-webhooks/after')).body;
      return readyOf(got)?.status === 'True' ? got : undefined;
    }, 10_000);
    expect((await send(other, w.status.endpointPath as string, { secret: SECRET, body: BODY })).status).to.equal(202);
  });
});

describe('replicas on PostgreSQL: starting together', function () {
  this.timeout(60_000);
  it('two replicas starting at once on an empty database migrate it once, and both serve', async () => {
    const url = await freshDatabase('together');
    const [a, b] = await Promise.all([Orlojd.start({ postgresUrl: url }), Orlojd.start({ postgresUrl: url })]);
    try {
      const sql = postgres(url, { max: 1, onnotice: () => undefined });
      try {
        const rows = await sql<Array<{ version: number }>>`SELECT version FROM schema_migrations ORDER BY version`;
        expect(rows.map((r) => r.version)).to.deep.equal(rows.map((_, i) => i + 1));
      } finally {
        await sql.end();
      }
      const token = a.token || b.token;
      for (const d of [a, b]) {
        d.token = token;
        expect((await d.api('GET', '/v1/tasks')).status).to.equal(200);
      }
    } finally {
      await Promise.all([a.destroy(), b.destroy()]);
      await dropDatabase(url);
    }
  });
});
