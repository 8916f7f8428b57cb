// The delivery writer thread: commits batches of verified deliveries (dedup row, run task,
// labels, record, counts) on its own connection while the main thread keeps serving.
import Database from 'better-sqlite3';
import { parentPort, workerData } from 'node:worker_threads';
import type { WireDelivery, WireRequest, WireResponse, WireResult } from './delivery-wire.js';
import { SQL, nameForSeq } from './statements.js';

const db = new Database((workerData as { path: string }).path);
db.pragma('busy_timeout = 5000');
db.pragma('synchronous = NORMAL');
db.pragma('cache_size = -32768'); // 32 MiB: the index pages new deliveries land on stay in memory
db.pragma('wal_autocheckpoint = 16384');

const q = {
  upsert: db.prepare(SQL.upsertResource),
  addLabel: db.prepare(SQL.addLabel),
  live: db.prepare(SQL.liveByKey).pluck(),
  getDedup: db.prepare(SQL.getDedup),
  putDedup: db.prepare(SQL.putDedup),
  addRecord: db.prepare(SQL.addRecord),
  addCounts: db.prepare(SQL.addCounts),
  setMeta: db.prepare(SQL.setMeta),
};

function commitOne(d: WireDelivery, nextRev: () => number): WireResult {
  const seen = q.getDedup.get(d.ownerUid, d.eventId) as { expires_at: number; seq: number; task: string } | undefined;
  const r = d.record;
  if (seen && seen.expires_at > d.nowMs) {
    q.addRecord.run(r.ts, r.owner, r.namespace, d.eventId, 'duplicate', null, r.httpStatus, r.durationMs, seen.task);
    return { outcome: 'duplicate', task: seen.task };
  }
  const t = d.task;
  if (!t) return { outcome: 'untasked' };
  let seq = (seen?.seq ?? 0) + 1;
  while (q.live.get(t.kind, t.namespace, nameForSeq(t.name, seq))) seq++;
  const name = nameForSeq(t.name, seq);
  const rv = nextRev();
  q.upsert.run({
    kind: t.kind, namespace: t.namespace, name, uid: t.uid, rv, create_rv: rv, generation: t.generation, created: t.created,
    labels: t.labelsJson, annotations: t.annotationsJson, spec: t.specJson, status: t.statusJson, endpoint_id: null, deleted_at: null,
  });
  for (const [k, v] of t.labels) q.addLabel.run(t.kind, k, v, rv);
  q.putDedup.run(d.ownerUid, d.eventId, d.expiresAt, seq, name);
  q.addRecord.run(r.ts, r.owner, r.namespace, d.eventId, 'accepted', null, r.httpStatus, r.durationMs, name);
  return { outcome: 'accepted', task: name, rv };
}

const commitBatch = db.transaction((req: WireRequest): { rev: number; results: WireResult[] } => {
  let rev = req.baseRev;
  const tally = new Map<string, [number, number]>();
  const results = req.items.map((d) => {
    const res = commitOne(d, () => ++rev);
    if (res.outcome !== 'untasked') {
      const t = tally.get(d.ownerUid) ?? [0, 0];
      t[res.outcome === 'duplicate' ? 1 : 0]++;
      tally.set(d.ownerUid, t);
    }
    return res;
  });
  for (const [uid, [acc, dup]] of tally) q.addCounts.run(uid, acc, dup, 0);
  if (rev !== req.baseRev) q.setMeta.run('revision', String(rev));
  return { rev, results };
});

parentPort!.on('message', (req: WireRequest | 'stop') => {
  if (req === 'stop') {
    db.close();
    process.exit(0);
  }
  let res: WireResponse;
  try {
    res = { id: req.id, ...commitBatch.immediate(req) };
  } catch (e) {
    res = { id: req.id, error: (e as Error).message };
  }
  parentPort!.postMessage(res);
});
