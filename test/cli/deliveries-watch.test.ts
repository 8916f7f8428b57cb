// orlojctl get deliveries -w: the records there are, then each new one as it is recorded, read
// through GET /v1/deliveries?after=ID (records after a known one, oldest first).
import { expect } from 'chai';
import { send } from '../helpers/deliveries.js';
import { readyWebhook } from '../helpers/fixtures.js';
import { Orlojd, eventually } from '../helpers/orlojd.js';
import { Follower, ctl } from './ctl.js';

interface Rec {
  id: number;
  eventId?: string;
  outcome: string;
}

/** Where each column of a table line starts (columns are separated by at least three spaces). */
const starts = (line: string): number[] => [...line.matchAll(/(?:^|\s{3})(\S)/g)].map((m) => m.index! + m[0].length - 1);

describe('orlojctl get deliveries -w', function () {
  this.timeout(60_000);
  let d: Orlojd;
  const paths: Record<string, string> = {};
  before(async () => {
    d = await Orlojd.start();
    for (const name of ['dw', 'quiet', 'api']) paths[name] = await readyWebhook(d, name, `${name}-secret`);
  });
  after(async () => d?.destroy());

  const deliver = async (hook: string, eventId: string): Promise<void> => {
    expect((await send(d, paths[hook]!, { secret: `${hook}-secret`, body: JSON.stringify({ eventId, at: Math.random() }), eventId })).status).to.equal(202);
  };
  const records = async (query: string): Promise<Rec[]> => {
    const r = await d.api<{ items: Rec[] }>('GET', `/v1/deliveries?${query}`);
    expect(r.status, r.text).to.equal(200);
    return r.body.items;
  };

  it('prints the records listed, then each new one in the same columns, under the one header', async () => {
    await deliver('dw', 'evt-a');
    await eventually(async () => (await records('owner=task-webhook/dw')).length === 1);
    const w = new Follower(d, ['get', 'deliveries', '-w', '--for', 'task-webhook/dw']);
    try {
      const header = await w.line(/^AGE\s+OWNER\s+EVENT\s+OUTCOME\s+HTTP\s+RESULT$/);
      const first = await w.line(/\sevt-a\s+accepted\s/);
      await deliver('dw', 'evt-a');
      const duplicate = await w.line(/\sevt-a\s+duplicate\s/);
      await deliver('dw', 'evt-b');
      const next = await w.line(/\sevt-b\s+accepted\s/);
      expect(w.lines.map((l) => l.text.split(/\s+/)[2])).to.deep.equal(['EVENT', 'evt-a', 'evt-a', 'evt-b']);
      for (const row of [first, duplicate, next]) expect(starts(row.text).slice(0, 4)).to.deep.equal(starts(header.text).slice(0, 4));
      expect(w.lines.filter((l) => l.text.includes('TaskWebhook/default/dw'))).to.have.length(3);
    } finally {
      w.stop();
    }
    const bare = await ctl(d, ['get', 'deliveries', '--for', 'task-webhook/dw', '--no-headers']);
    expect(bare.stdout.trimEnd().split('\n').map((l) => l.split(/\s+/)[2])).to.deep.equal(['evt-b', 'evt-a', 'evt-a']);
  });

  it('from no records: says so, then prints the header with the first one; -o json prints each record as it comes', async () => {
    const table = new Follower(d, ['get', 'deliveries', '-w', '--for', 'task-webhook/quiet']);
    const json = new Follower(d, ['get', 'deliveries', '-w', '--for', 'task-webhook/quiet', '-o', 'json']);
    try {
      await eventually(async () => table.stderr.includes('No deliveries found.'));
      await deliver('quiet', 'evt-q');
      await table.line(/^AGE\s+OWNER\s/);
      await table.line(/\sevt-q\s+accepted\s/);
      await json.line(/"eventId": "evt-q"/);
      await eventually(async () => json.lines.at(-1)?.text === '}');
      const rec = JSON.parse(json.lines.map((l) => l.text).join('\n')) as Rec;
      expect(rec).to.include({ eventId: 'evt-q', outcome: 'accepted' });
    } finally {
      table.stop();
      json.stop();
    }
  });

  it('GET /v1/deliveries?after=ID: the records after it, oldest first, with the other filters; a bad id is a 400', async () => {
    for (const e of ['api-1', 'api-2', 'api-3']) await deliver('api', e);
    const newest = await eventually(async () => {
      const rs = await records('owner=task-webhook/api');
      return rs.length === 3 ? rs : undefined;
    });
    expect(newest.map((r) => r.eventId)).to.deep.equal(['api-3', 'api-2', 'api-1']);
    const oldest = newest.at(-1)!;
    expect((await records(`owner=task-webhook/api&after=${oldest.id}`)).map((r) => r.eventId)).to.deep.equal(['api-2', 'api-3']);
    expect((await records('owner=task-webhook/api&after=0&limit=2')).map((r) => r.eventId)).to.deep.equal(['api-1', 'api-2']);
    expect(await records(`owner=task-webhook/api&after=${newest[0]!.id}`)).to.deep.equal([]);
    for (const bad of ['-1', 'x', '1.5']) {
      const r = await d.api('GET', `/v1/deliveries?after=${bad}`);
      expect(r.status, bad).to.equal(400);
      expect(r.text).to.contain('after must be a record id');
    }
  });

  it('refuses an output deliveries do not print, also with -w (exit 2)', async () => {
    const r = await ctl(d, ['get', 'deliveries', '-w', '-o', 'name']);
    expect(r.code).to.equal(2);
    expect(r.stderr).to.contain('deliveries print as table, wide, json or yaml, not "name"');
  });
});
