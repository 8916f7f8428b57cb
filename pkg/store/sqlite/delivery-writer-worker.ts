// The delivery writer thread: a continuous group commit. Each transaction takes every request
// that queued up while the previous one committed, so batches grow with the load and the
// thread never idles while work waits. It owns the delivery tables (dedup, records, counts)
// and writes run tasks and receiver counters through the store's revision.
import Database from 'better-sqlite3';
import { parentPort, receiveMessageOnPort, workerData } from 'node:worker_threads';
import type { WireDelivery, WireNote, WireOutcome, WireRecord, WireReply, WireRequest, WireResult } from './delivery-wire.js';
import { ReceiverStatus } from './receiver-status.js';
import { SQL, nameForSeq } from './statements.js';

const db = new Database((workerData as { path: string }).path);
db.pragma('busy_timeout = 5000');
db.pragma('synchronous = NORMAL');
db.pragma('cache_size = -16384'); // 16 MiB: the index pages new deliveries land on stay in memory
// The checkpointer thread copies pages as the WAL grows; this connection's own checkpoint at
// 128 MiB then finds little left to copy and sync, and lets the WAL restart from the start.
db.pragma('wal_autocheckpoint = 32768');

const q = {
  revision: db.prepare("SELECT value FROM meta WHERE key = 'revision'").pluck(),
  setMeta: db.prepare(SQL.setMeta),
  insertTask: db.prepare(SQL.insertTask),
  addLabel: db.prepare(SQL.addLabel),
  live: db.prepare(SQL.liveByKey).pluck(),
  getDedup: db.prepare(SQL.getDedup),
  putDedup: db.prepare(SQL.putDedup),
  addRecord: db.prepare(SQL.addRecord),
  pruneDedup: db.prepare(`DELETE FROM dedup WHERE (owner_uid, event_id) IN
    (SELECT owner_uid, event_id FROM dedup WHERE expires_at <= ? ORDER BY expires_at LIMIT ?)`),
  pruneRecords: db.prepare(`DELETE FROM deliveries WHERE id IN
    (SELECT id FROM deliveries WHERE id <= (SELECT MAX(id) FROM deliveries) - ? ORDER BY id LIMIT ?)`),
};
const receivers = new ReceiverStatus(db);

/** Revisions handed out in commit order, starting from the store's current one. */
class Revisions {
  last: number;
  constructor(readonly first: number) {
    this.last = first;
  }
  next(): number {
    return ++this.last;
  }
}

function addRecord(r: WireRecord, outcome: string, task: string | null): void {
  q.addRecord.run(r.ts, r.owner, r.owner.split('/')[1] ?? '', r.eventId, outcome, r.reason, r.httpStatus, r.durationMs, task);
}

function commitDelivery(d: WireDelivery, rev: Revisions): WireResult {
  const seen = q.getDedup.get(d.ownerUid, d.eventId) as { expires_at: number; seq: number; task: string } | undefined;
  if (seen && seen.expires_at > d.nowMs) {
    addRecord(d.record, 'duplicate', seen.task);
    return { outcome: 'duplicate', task: seen.task, expiresAt: seen.expires_at };
  }
  const t = d.task;
  if (!t) return { outcome: 'untasked' };
  // A replay after an expired window is the n-th acceptance of its event; skip names in use.
  let seq = (seen?.seq ?? 0) + 1;
  while (q.live.get(t.kind, t.namespace, nameForSeq(t.name, seq))) seq++;
  const name = nameForSeq(t.name, seq);
  const rv = rev.next();
  q.insertTask.run(t.kind, t.namespace, name, t.uid, rv, rv, t.generation, t.created, t.labelsJson, t.annotationsJson, t.specJson, t.statusJson);
  for (let i = 0; i < t.labels.length; i += 2) q.addLabel.run(t.kind, t.labels[i], t.labels[i + 1], rv);
  q.putDedup.run(d.ownerUid, d.eventId, d.expiresAt, seq, name);
  addRecord(d.record, 'accepted', name);
  return { outcome: 'accepted', task: name, rv };
}

/** A savepoint of its own (a transaction nested in commitAll's), for `isolated` batches. */
const commitDeliveryAlone = db.transaction(commitDelivery);

/** With `isolated`, a delivery that fails is rolled back alone and answered 'failed'. */
function deliver(d: WireDelivery, rev: Revisions, isolated: boolean): WireResult {
  let r: WireResult;
  if (!isolated) r = commitDelivery(d, rev);
  else {
    const mark = rev.last;
    try {
      r = commitDeliveryAlone(d, rev);
    } catch (e) {
      rev.last = mark;
      return { outcome: 'failed', error: (e as Error).message };
    }
  }
  if (r.outcome === 'accepted') receivers.saw(d.ownerUid, d.record.owner, 'accepted', d.record, r.task);
  else if (r.outcome === 'duplicate') receivers.saw(d.ownerUid, d.record.owner, 'duplicate', d.record);
  return r;
}

function commitNote(n: WireNote): void {
  if (n.keep) addRecord(n.record, n.outcome, n.record.task);
  receivers.saw(n.ownerUid, n.record.owner, n.outcome, n.record, undefined, n.count);
}

const commitAll = db.transaction((reqs: WireRequest[], isolated: boolean): WireOutcome => {
  const rev = new Revisions(Number(q.revision.get() ?? 0));
  const replies: WireReply[] = reqs.map((req) => {
    const results = req.deliveries.map((d) => deliver(d, rev, isolated));
    for (const n of req.notes) commitNote(n);
    const p = req.prune;
    const pruned = p ? q.pruneDedup.run(p.nowMs, p.chunk).changes + q.pruneRecords.run(p.keepRecords, p.chunk).changes : 0;
    return { id: req.id, results, pruned };
  });
  receivers.writeCounts();
  const modified = receivers.writeStatuses(rev, Date.now(), reqs.some((r) => r.flushStatus));
  if (rev.last !== rev.first) q.setMeta.run('revision', String(rev.last));
  return { from: rev.first, rev: rev.last, replies, modified };
});

/**
 * One transaction for everything queued. If it fails, it is tried once more with each
 * delivery in a savepoint of its own, so that one bad delivery is refused alone instead of
 * taking every sender's delivery in the batch down with it, again on each retry.
 */
function commit(reqs: WireRequest[], isolated = false): WireOutcome {
  try {
    const out = commitAll.immediate(reqs, isolated);
    receivers.committed(Date.now());
    return out;
  } catch (e) {
    receivers.rolledBack();
    if (!isolated && reqs.some((r) => r.deliveries.length)) return commit(reqs, true);
    return { ids: reqs.map((r) => r.id), error: (e as Error).message };
  }
}

receivers.catchUp();
const port = parentPort!;
port.on('message', (first: WireRequest | 'stop') => {
  const reqs: WireRequest[] = [];
  let stop = false;
  for (let m: unknown = first; m !== undefined; m = receiveMessageOnPort(port)?.message) {
    if (m === 'stop') stop = true;
    else reqs.push(m as WireRequest);
  }
  if (reqs.length) port.postMessage({ ...commit(reqs), statusPending: receivers.hasPending });
  if (stop) {
    db.close();
    process.exit(0);
  }
});
