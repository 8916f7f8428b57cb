import Database from 'better-sqlite3';
import { expect } from 'chai';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { send } from '../helpers/deliveries.js';
import { filesContaining } from '../helpers/files.js';
import { distRoot, eventually, Orlojd } from '../helpers/orlojd.js';

const FIXTURE = resolve(distRoot, '..', 'test', 'fixtures', 'data-v0.1', 'orloj.db');

describe('store: a data dir from before the change log', function () {
  let d: Orlojd;
  let dir: string;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'orloj-migrate-'));
    mkdirSync(join(dir, 'data'));
    copyFileSync(FIXTURE, join(dir, 'data', 'orloj.db'));
    // The fixture's claim expired on its own date; in the copy it is live, as a data dir upgraded
    // within a dedup window has it (the old schema, only the time moved).
    const db = new Database(join(dir, 'data', 'orloj.db'));
    db.prepare('UPDATE dedup SET expires_at = ?').run(Date.now() + 86_400_000);
    db.close();
    d = await Orlojd.start({ dataDir: join(dir, 'data'), args: ['--api-tokens', 'migration-token:admin'] });
    d.token = 'migration-token';
  });
  after(async () => {
    await d.destroy();
    rmSync(dir, { recursive: true, force: true });
  });

  it('seals the Secret it stored in plain text, leaving no copy of its value in any file', async () => {
    expect(d.logs).to.include('"count":1,');
    expect(d.logs).to.include('sealed Secrets with the primary encryption key');
    const s = (await d.api('GET', '/v1/secrets/s?reveal=true')).body;
    expect(Buffer.from(s.spec.data.v, 'base64').toString()).to.equal('sek');
    // The fixture holds the base64 form, as Secrets store values ("sek" itself never was).
    const stored = [Buffer.from('sek').toString('base64')];
    expect(filesContaining(join(dir, 'data'), stored)).to.deep.equal([]);
    await d.kill9();
    expect(filesContaining(join(dir, 'data'), stored)).to.deep.equal([]);
    const mark = d.logs.length;
    await d.restart({ args: ['--api-tokens', 'migration-token:admin'] });
    expect(d.logs.slice(mark)).not.to.include('sealed Secrets');
  });

  it('keeps objects, endpoints, counters, claims and records; drops tombstones; old watches get 410', async () => {
    const before = await eventually(async () => {
      const w = (await d.api('GET', '/v1/task-webhooks/wh')).body;
      return w.status?.conditions?.some((c: { type: string; status: string }) => c.type === 'Ready' && c.status === 'True') && w;
    });
    expect(before.status.acceptedCount).to.equal(1);
    const again = await send(d, before.status.endpointPath, { secret: 'sek', body: '{"a":1}', eventId: 'e1' });
    expect(again.status).to.equal(202);
    expect(again.body).to.include({ duplicate: true, task: 'wh-8b5cc4df7eec7d32' });
    expect((await d.api('GET', '/v1/tasks/wh-8b5cc4df7eec7d32')).status).to.equal(200);
    expect((await d.api('GET', '/v1/tasks/gone')).status).to.equal(404);
    const records = (await d.api('GET', '/v1/deliveries?owner=task-webhook/wh')).body.items as Array<{ outcome: string; task?: string }>;
    expect(records.find((r) => r.outcome === 'accepted')).to.include({ task: 'wh-8b5cc4df7eec7d32' });
    const gone = await d.api('GET', '/v1/tasks?watch=true&resourceVersion=1');
    expect(gone.status).to.equal(410);
    const rv = Number((await d.api('GET', '/v1/tasks')).body.metadata.resourceVersion);
    const created = await d.api('PUT', '/v1/tasks/fresh', { kind: 'Task', metadata: { name: 'fresh' }, spec: {} });
    expect(Number(created.body.metadata.resourceVersion)).to.be.above(rv);
  });
});
