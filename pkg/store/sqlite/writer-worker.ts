// The writer thread: the only connection that writes, as one continuous group commit.
// Each transaction takes every request that queued up while the previous one committed,
// so batches grow with the load. Revisions are assigned here, inside the transaction, so
// commit order is revision order; every resource mutation appends to the change log.
// It knows storage, not product rules: units arrive as ops, already decided.
import Database from 'better-sqlite3';
import { parentPort, receiveMessageOnPort, workerData } from 'node:worker_threads';
import { alreadyExists, ApiError, conflict, notFound } from '../../api/errors.js';
import type { ObjectKey, StoredResource } from '../../api/types.js';
import { BodyCodec, KeySet } from '../sealing.js';
import { BriefClaims, type Held } from './brief-claims.js';
import {
  DOCUMENT_KIND, type ClaimOp, type CreateOp, type DeleteManyOp, type DeleteOp, type DeliveryRecord, type EnqueueOp, type EventOp, type JournalOp, type Maintenance, type Op, type SettleOp, type StatusOp, type TrimOp, type Unit, type UpdateOp,
} from '../types.js';
import { expectedResult, mayFailHalfway } from '../units.js';
import { documentWriter } from './documents-writer.js';
import { jobsWriter } from './jobs-writer.js';
import { ownersOf, RESOURCE_COLUMNS, rowToResource, type ResourceRow } from '../rows.js';
import type { DeletedRow } from '../results.js';
import type { WireCommit, WireError, WireOpResult, WireReply, WireRequest, WireUnitResult } from './wire.js';
import type { WriterData } from './writer.js';

const { path, unindexedLabels, namespacedKinds, sealedKinds, sealingKey } = workerData as WriterData;
/** Specs are sealed here, as they become rows: the plain values never reach the database. */
const codec = new BodyCodec(new KeySet([sealingKey]), sealedKinds);
const db = new Database(path);
const unindexed = new Map(Object.entries(unindexedLabels).map(([kind, keys]) => [kind, new Set(keys)]));
db.pragma('busy_timeout = 5000');
db.pragma('synchronous = NORMAL');
// Deleted rows (a deleted Secret's values) are zeroed on the pages a write touches anyway.
db.pragma('secure_delete = FAST');
db.pragma('cache_size = -16384'); // 16 MiB: the index pages new rows land on stay in memory
// The checkpointer thread copies pages as the WAL grows; this connection's own checkpoint at
// 128 MiB then finds little left to copy and sync, and lets the WAL restart from the start.
db.pragma('wal_autocheckpoint = 32768');

const KEY = 'kind = ? AND namespace = ? AND name = ?';
const q = {
  revision: db.prepare("SELECT value FROM meta WHERE key = 'revision'").pluck(),
  setMeta: db.prepare('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value'),
  current: db.prepare(`SELECT create_rv, rv, uid, labels, status FROM resources WHERE ${KEY}`),
  live: db.prepare(`SELECT 1 FROM resources WHERE ${KEY}`).pluck(),
  insert: db.prepare(`INSERT INTO resources (create_rv, kind, namespace, name, uid, rv, generation, created, labels, annotations, spec, status, endpoint_id, owners)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
  update: db.prepare('UPDATE resources SET rv = ?, generation = ?, labels = ?, annotations = ?, spec = ?, status = ?, endpoint_id = ?, owners = ? WHERE create_rv = ?'),
  status: db.prepare(`UPDATE resources SET rv = ?, status = ?, endpoint_id = ? WHERE create_rv = ? RETURNING ${RESOURCE_COLUMNS}`),
  statusKeepEndpoint: db.prepare(`UPDATE resources SET rv = ?, status = ? WHERE create_rv = ? RETURNING ${RESOURCE_COLUMNS}`),
  merged: db.prepare('SELECT json_patch(?, ?)').pluck(),
  remove: db.prepare(`DELETE FROM resources WHERE create_rv = ? RETURNING ${RESOURCE_COLUMNS}`),
  removeNamed: db.prepare(`DELETE FROM resources WHERE ${KEY} AND uid = ? RETURNING create_rv, labels`),
  addLabel: db.prepare('INSERT INTO labels (kind, key, value, create_rv) VALUES (?, ?, ?, ?)'),
  delLabel: db.prepare('DELETE FROM labels WHERE kind = ? AND key = ? AND value = ? AND create_rv = ?'),
  change: db.prepare('INSERT INTO changes (revision, kind, namespace, name, uid, type, origin, labels, item) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)'),
  imaged: db.prepare(`INSERT INTO changes (revision, kind, namespace, name, uid, type, origin, labels, item, image_after, image_before)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
  setImages: db.prepare('UPDATE changes SET image_after = ?, image_before = ? WHERE revision = ?'),
  keepAfter: db.prepare('UPDATE changes SET image_after = ? WHERE revision = ? AND image_after IS NULL'),
  fullRow: db.prepare(`SELECT ${RESOURCE_COLUMNS} FROM resources WHERE ${KEY}`),
  enqueue: db.prepare('INSERT INTO queue (owner, owner_uid, message_id, body, meta, due_at) VALUES (?, ?, ?, ?, ?, ?)'),
  settle: db.prepare('UPDATE queue SET attempt = coalesce(?, attempt), due_at = CASE WHEN ? THEN ? ELSE due_at END WHERE id = ?'),
  unqueue: db.prepare('DELETE FROM queue WHERE id = ?'),
  finishRecord: db.prepare('UPDATE deliveries SET outcome = ?, reason = ?, http_status = ?, duration_ms = ?, response = ? WHERE id = ?'),
  lowestCursor: db.prepare("SELECT MIN(CAST(value AS INTEGER)) FROM meta WHERE key LIKE 'cursor:%'").pluck(),
  inNamespace: db.prepare('SELECT COUNT(*) FROM resources WHERE kind = ? AND namespace = ?').pluck(),
  getClaim: db.prepare('SELECT expires_at, result FROM claims WHERE scope = ? AND key = ?'),
  // One step per claim: taken when absent or expired; 0 changes means an earlier unit holds it.
  takeClaim: db.prepare(`INSERT INTO claims (scope, key, expires_at, result) VALUES (?, ?, ?, ?)
    ON CONFLICT (scope, key) DO UPDATE SET expires_at = excluded.expires_at, result = excluded.result WHERE claims.expires_at <= ?`),
  claimResult: db.prepare('UPDATE claims SET result = ? WHERE scope = ? AND key = ?'),
  dropClaim: db.prepare('DELETE FROM claims WHERE scope = ? AND key = ?'),
  count: db.prepare(`INSERT INTO counters (scope, name, value) VALUES (?, ?, ?)
    ON CONFLICT (scope, name) DO UPDATE SET value = value + excluded.value`),
  record: db.prepare(`INSERT INTO deliveries (ts, owner, namespace, event_id, outcome, reason, http_status, duration_ms, result, attempt, response, test)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
  event: db.prepare(`INSERT INTO events (kind, namespace, name, type, reason, message, count, first_ts, last_ts, seq)
    VALUES (?, ?, ?, ?, ?, ?, 1, ?, ?, ?)
    ON CONFLICT (kind, namespace, name, reason, message) DO UPDATE SET count = count + 1, last_ts = excluded.last_ts, seq = excluded.seq, type = excluded.type`),
  lastEventSeq: db.prepare('SELECT MAX(seq) FROM events').pluck(),
  compact: db.prepare('DELETE FROM changes WHERE revision <= MIN(?, (SELECT MIN(revision) FROM changes) + ?)'),
  pruneClaims: db.prepare(`DELETE FROM claims WHERE (scope, key) IN
    (SELECT scope, key FROM claims WHERE expires_at <= ? ORDER BY expires_at LIMIT ?)`),
  pruneRecords: db.prepare('DELETE FROM deliveries WHERE id IN (SELECT id FROM deliveries ORDER BY id LIMIT ?)'),
  countRecords: db.prepare('SELECT COUNT(*) FROM deliveries').pluck(),
  // Both steps walk the partial index of rejected records: no other record is read.
  trimRejected: db.prepare(`DELETE FROM deliveries WHERE owner = ? AND outcome = 'rejected' AND id <=
    (SELECT id FROM deliveries WHERE owner = ? AND outcome = 'rejected' ORDER BY id DESC LIMIT 1 OFFSET ?)`),
};

/** A unit that cannot be committed as asked (conflict, not found, ...) throws an ApiError: it alone is refused. */
const fail = (e: ApiError): never => {
  throw e;
};
const wireError = (e: ApiError): WireError => ({ reason: e.reason, message: e.message, details: e.details });

/** The store's revision, kept here: this is the only writer. */
let rev = Number(q.revision.get() ?? 0);
const briefs = new BriefClaims(db, Date.now());
let eventSeq = Number(q.lastEventSeq.get() ?? 0);
/** Delivery records stored, kept here: trimming leaves gaps in their ids, so retention counts rows. */
let records = Number(q.countRecords.get());
/** Counter deltas of the current transaction, summed per counter and written once at its end. */
let counts = new Map<string, number>();

interface Current {
  create_rv: number;
  rv: number;
  uid: string;
  labels: string | null;
  status: string;
}

const current = (k: ObjectKey): Current | undefined => q.current.get(k.kind, k.namespace, k.name) as Current | undefined;

function mustBeAt(k: ObjectKey, expect: number): Current {
  const cur = current(k) ?? fail(notFound(k.kind, k.name, k.namespace));
  if (expect && cur.rv !== expect) fail(conflict(k.kind, k.name));
  return cur;
}

function logChange(k: ObjectKey, uid: string, type: string, origin: string, labels: string | null = null, item: string | null = null): number {
  q.change.run(++rev, k.kind, k.namespace, k.name, uid, type, origin, labels, item);
  return rev;
}

/** Label keys and values, alternating, as the label index holds them. */
function pairsOf(kind: string, labels: Record<string, string> | undefined): string[] {
  if (!labels) return [];
  const skip = unindexed.get(kind);
  const out: string[] = [];
  for (const k in labels) if (!skip?.has(k)) out.push(k, labels[k]!);
  return out;
}

const storedPairs = (kind: string, labels: string | null): string[] => pairsOf(kind, labels ? (JSON.parse(labels) as Record<string, string>) : undefined);
const jsonOrNull = (o: Record<string, string> | undefined): string | null => (o && Object.keys(o).length ? JSON.stringify(o) : null);

/** The endpoint index follows status.endpointID, whatever the kind. */
function endpointIn(status: Record<string, unknown> | undefined): string | null {
  const id = status?.endpointID;
  return typeof id === 'string' && id ? id : null;
}

function writeLabels(kind: string, createRv: number, add: string[], drop: string[]): void {
  for (let i = 0; i < drop.length; i += 2) q.delLabel.run(kind, drop[i], drop[i + 1], createRv);
  for (let i = 0; i < add.length; i += 2) q.addLabel.run(kind, add[i], add[i + 1], createRv);
}

/** Unique constraints map to what the caller can act on. */
function uniqueFailure(e: unknown, k: ObjectKey): never {
  const m = String((e as Error).message);
  if (m.includes('resources.endpoint_id')) fail(new ApiError('Conflict', `endpoint ID of ${k.kind} "${k.name}" is already in use`, { kind: k.kind, name: k.name }));
  if (m.includes('UNIQUE')) fail(alreadyExists(k.kind, k.name));
  throw e;
}

const keyOf = (o: StoredResource): ObjectKey => ({ kind: o.kind, namespace: o.metadata.namespace, name: o.metadata.name });

function create(o: StoredResource, unique: boolean, origin: string): WireOpResult {
  const m = o.metadata;
  let name = m.name;
  if (unique) for (let n = 2; q.live.get(o.kind, m.namespace, name); n++) name = `${m.name}-${n}`;
  else if (q.live.get(o.kind, m.namespace, name)) fail(alreadyExists(o.kind, name));
  const v = logChange({ kind: o.kind, namespace: m.namespace, name }, m.uid, 'ADDED', origin);
  try {
    q.insert.run(v, o.kind, m.namespace, name, m.uid, v, m.generation, m.creationTimestamp, jsonOrNull(m.labels), jsonOrNull(m.annotations),
      codec.encode(o.kind, m.namespace, name, o.spec), JSON.stringify(o.status ?? {}), endpointIn(o.status), ownersOf(m));
  } catch (e) {
    uniqueFailure(e, keyOf(o));
  }
  writeLabels(o.kind, v, pairsOf(o.kind, m.labels), []);
  return { rv: v, name };
}

function update(o: StoredResource, expect: number, origin: string): WireOpResult {
  const k = keyOf(o);
  const m = o.metadata;
  const cur = mustBeAt(k, expect);
  const v = logChange(k, cur.uid, 'MODIFIED', origin);
  const labels = jsonOrNull(m.labels);
  try {
    const spec = codec.encode(o.kind, m.namespace, m.name, o.spec);
    q.update.run(v, m.generation, labels, jsonOrNull(m.annotations), spec, JSON.stringify(o.status ?? {}), endpointIn(o.status), ownersOf(m), cur.create_rv);
  } catch (e) {
    uniqueFailure(e, k);
  }
  if (cur.labels !== labels) writeLabels(o.kind, cur.create_rv, pairsOf(o.kind, m.labels), storedPairs(o.kind, cur.labels));
  return { rv: v };
}

function status(op: StatusOp, origin: string): WireOpResult {
  const cur = op.uid ? current(op.key) : mustBeAt(op.key, Number(op.expect ?? 0));
  if (!cur || (op.uid && cur.uid !== op.uid)) return null;
  const given = JSON.stringify(op.status);
  const next = op.merge ? (q.merged.get(cur.status, given) as string) : given;
  if (next === cur.status) return null;
  const v = logChange(op.key, cur.uid, 'MODIFIED', origin);
  try {
    const row = (op.merge ? q.statusKeepEndpoint.get(v, next, cur.create_rv) : q.status.get(v, next, endpointIn(op.status), cur.create_rv)) as ResourceRow;
    return { rv: v, row };
  } catch (e) {
    return uniqueFailure(e, op.key);
  }
}

function remove(k: ObjectKey, expect: number, origin: string): WireOpResult {
  const cur = mustBeAt(k, expect);
  const row = q.remove.get(cur.create_rv) as ResourceRow;
  writeLabels(k.kind, cur.create_rv, [], storedPairs(k.kind, cur.labels));
  return { rv: logChange(k, cur.uid, 'DELETED', origin, cur.labels), row };
}

/** Each named object that is still there with its uid: its row, its labels' index rows and a change-log row, nothing read first. */
function removeMany(op: DeleteManyOp, origin: string): WireOpResult {
  const deleted: DeletedRow[] = [];
  for (const { name, uid } of op.objects) {
    const row = q.removeNamed.get(op.kind, op.namespace, name, uid) as { create_rv: number; labels: string | null } | undefined;
    if (!row) continue;
    writeLabels(op.kind, row.create_rv, [], storedPairs(op.kind, row.labels));
    deleted.push({ rv: logChange({ kind: op.kind, namespace: op.namespace, name }, uid, 'DELETED', origin, row.labels), name, uid, labels: row.labels });
  }
  return { deleted };
}

function requireEmpty(namespace: string): void {
  let n = 0;
  for (const kind of namespacedKinds) n += Number(q.inNamespace.get(kind, namespace));
  if (n > 0) fail(new ApiError('Conflict', `namespace "${namespace}" is not empty: delete its ${n} object(s) first`, { kind: 'Namespace', name: namespace }));
}

function addRecord(r: DeliveryRecord): WireOpResult {
  const namespace = r.owner.split('/')[1] ?? '';
  const id = q.record.run(r.ts, r.owner, namespace, r.eventId ?? null, r.outcome, r.reason ?? null, r.httpStatus ?? null, r.durationMs ?? null, r.result ?? null,
    r.attempt ?? null, r.response ?? null, r.test ? 1 : null).lastInsertRowid;
  records++;
  return { record: Number(id) };
}

function trim(op: TrimOp): void {
  records -= q.trimRejected.run(op.owner, op.owner, op.keep).changes;
}

function addCounts(scope: string, deltas: Record<string, number>): void {
  for (const name in deltas) {
    const k = `${scope}\n${name}`;
    counts.set(k, (counts.get(k) ?? 0) + deltas[name]!);
  }
}

function writeCounts(): void {
  for (const [k, d] of counts) {
    const i = k.indexOf('\n');
    q.count.run(k.slice(0, i), k.slice(i + 1), d);
  }
}

function recordEvent(op: EventOp): void {
  const now = new Date().toISOString();
  const k = op.key;
  q.event.run(k.kind, k.namespace, k.name, op.type, op.reason, op.message, now, now, ++eventSeq);
}

const documents = documentWriter(db, {
  logChange: (c, id, type, origin, images) => {
    if (!images) return logChange({ kind: DOCUMENT_KIND, namespace: c.namespace, name: c.name }, c.uid, type, origin, null, id);
    q.imaged.run(++rev, DOCUMENT_KIND, c.namespace, c.name, c.uid, type, origin, null, id, images.after, images.before);
    return rev;
  },
  nextRevision: () => rev + 1,
  keepAfter: (revision, image) => void q.keepAfter.run(image, revision),
  addCounts,
});

const jobs = jobsWriter(db);

/** An object as a reader would get it (sealed kinds never: their images would hold their secrets in the clear). */
function resourceImage(k: ObjectKey): string | null {
  if (codec.sealedKinds.includes(k.kind)) return null;
  const row = q.fullRow.get(k.kind, k.namespace, k.name) as ResourceRow | undefined;
  return row ? JSON.stringify(rowToResource(row, codec)) : null;
}

/** An op that asked for images: the object before (updates, deletes) and after (creates, updates) in its change-log row. */
function withImages(op: CreateOp | UpdateOp | DeleteOp, origin: string): WireOpResult {
  const key = op.op === 'delete' ? op.key : keyOf(op.object);
  const before = op.op === 'create' || codec.sealedKinds.includes(key.kind) ? null : resourceImage(key);
  const r = op.op === 'create' ? create(op.object, !!op.uniqueName, origin) : op.op === 'update' ? update(op.object, Number(op.expect), origin) : remove(op.key, Number(op.expect ?? 0), origin);
  if (!r || !('rv' in r)) return r;
  const after = op.op === 'delete' ? null : resourceImage({ ...key, name: r.name ?? key.name });
  if (after !== null || before !== null) q.setImages.run(after, before, r.rv);
  return r;
}

function journal(op: JournalOp, origin: string): void {
  const k = op.key;
  q.imaged.run(++rev, k.kind, k.namespace, k.name, op.uid, op.type, origin, jsonOrNull(op.labels), null, op.after ?? null, op.before ?? null);
}

function enqueue(op: EnqueueOp): WireOpResult {
  const m = op.message;
  return { queued: Number(q.enqueue.run(m.owner, m.ownerUid, m.messageId, m.body, m.meta, m.dueAt).lastInsertRowid) };
}

function settle(op: SettleOp): void {
  if (op.done) q.unqueue.run(op.id);
  else q.settle.run(op.attempt ?? null, op.dueAt !== undefined ? 1 : 0, op.dueAt ?? null, op.id);
}

function apply(op: Op, origin: string): WireOpResult {
  if ((op.op === 'create' || op.op === 'update' || op.op === 'delete') && op.image) return withImages(op, origin);
  switch (op.op) {
    case 'create': return create(op.object, !!op.uniqueName, origin);
    case 'update': return update(op.object, Number(op.expect), origin);
    case 'status': return status(op, origin);
    case 'delete': return remove(op.key, Number(op.expect ?? 0), origin);
    case 'deleteMany': return removeMany(op, origin);
    case 'exists': return void (q.live.get(op.key.kind, op.key.namespace, op.key.name) || fail(notFound(op.key.kind, op.key.name, op.key.namespace))), null;
    case 'empty': return requireEmpty(op.namespace), null;
    case 'count': return addCounts(op.scope, op.deltas), null;
    case 'record': return addRecord(op.record);
    case 'trim': return trim(op), null;
    case 'event': return recordEvent(op), null;
    case 'putDocument': return documents.put(op);
    case 'deleteDocument': return documents.remove(op);
    case 'noDocuments': return documents.requireNone(op.collection), null;
    case 'enqueue': return enqueue(op);
    case 'settle': return settle(op), null;
    case 'recordUpdate': return void q.finishRecord.run(op.set.outcome, op.set.reason ?? null, op.set.httpStatus ?? null, op.set.durationMs ?? null, op.set.response ?? null, op.id), null;
    case 'cursor': return q.setMeta.run(`cursor:${op.name}`, String(op.value)), null;
    case 'journal': return journal(op, origin), null;
    case 'addJob': return jobs.add(op);
    case 'leaseJobs': return jobs.lease(op);
    case 'renewJobs': return jobs.renew(op), null;
    case 'settleJob': return jobs.settle(op), null;
    case 'claim': throw new Error('claims must be the first ops of their unit');
  }
}

/** An expired claim is as good as none: giving back the ones a unit took leaves nothing held. */
function giveBack(ops: Op[], n: number): void {
  for (let i = 0; i < n; i++) {
    const c = ops[i] as ClaimOp;
    if (c.brief) briefs.giveBack(c);
    else q.dropClaim.run(c.scope, c.key);
  }
}

function heldClaim(op: ClaimOp): Held {
  if (op.brief) return briefs.get(op)!;
  const held = q.getClaim.get(op.scope, op.key) as { expires_at: number; result: string };
  return { result: held.result, expiresAt: held.expires_at };
}

/** Takes the claims that lead the unit: their count, or the first of them that is held (the others given back). */
function takeClaims(ops: Op[], result: string): number | { result: string; expiresAt: number; op: number } {
  let n = 0;
  for (let op = ops[0]; op?.op === 'claim'; op = ops[++n]) {
    if (op.brief ? briefs.take(op, op.result ?? result) : q.takeClaim.run(op.scope, op.key, op.expiresAt, op.result ?? result, op.nowMs).changes) continue;
    giveBack(ops, n);
    return { ...heldClaim(op), op: n };
  }
  return n;
}

function commitUnit(u: Unit): WireUnitResult {
  const expected = expectedResult(u.ops);
  const first = takeClaims(u.ops, expected);
  if (typeof first !== 'number') return { ok: false, held: first };
  const ops: WireOpResult[] = first ? new Array<WireOpResult>(first).fill(null) : [];
  // What the unit created: its claims remember it, and its records name it.
  let created: string | undefined;
  try {
    for (let i = first; i < u.ops.length; i++) {
      const op = u.ops[i]!;
      if (op.op === 'record' && op.record.result === undefined && created !== undefined) op.record.result = created;
      const r = apply(op, u.origin);
      if (created === undefined && r && 'name' in r && r.name !== undefined) created = r.name;
      ops.push(r);
    }
  } catch (e) {
    giveBack(u.ops, first);
    throw e;
  }
  for (let i = 0; i < first; i++) {
    const claim = u.ops[i] as ClaimOp;
    const result = claim.result ?? created ?? '';
    if (result === (claim.result ?? expected)) continue;
    if (claim.brief) briefs.setResult(claim, result);
    else q.claimResult.run(result, claim.scope, claim.key);
  }
  return { ok: true, ops };
}

/** In a savepoint of its own (nested in the batch's transaction). */
const commitUnitAlone = db.transaction(commitUnit);

function runUnit(u: Unit, isolated: boolean): WireUnitResult {
  // A unit that may fail halfway needs a savepoint; one that fails before writing does not.
  if (!isolated && !mayFailHalfway(u.ops)) {
    try {
      return commitUnit(u);
    } catch (e) {
      if (e instanceof ApiError) return { ok: false, error: wireError(e) };
      throw e;
    }
  }
  const mark = rev;
  const markedRecords = records;
  const marked = new Map(counts);
  const markedBriefs = briefs.mark();
  try {
    return commitUnitAlone(u);
  } catch (e) {
    rev = mark;
    records = markedRecords;
    counts = marked;
    briefs.undo(markedBriefs);
    if (e instanceof ApiError) return { ok: false, error: wireError(e) };
    if (isolated) return { ok: false, error: { reason: 'InternalError', message: (e as Error).message } };
    throw e;
  }
}

function maintain(m: Maintenance): number {
  let n = 0;
  // History a reader with a cursor has not read yet is kept (e.g. changes not yet dispatched).
  const upTo = Math.min(m.compactTo ?? 0, Number(q.lowestCursor.get() ?? Infinity));
  if (upTo > 0) {
    n += q.compact.run(upTo, m.chunk).changes;
    q.setMeta.run('compacted_revision', String(Math.max(upTo, compactedRevision())));
  }
  if (m.claimsBefore) n += q.pruneClaims.run(m.claimsBefore, m.chunk).changes + briefs.prune(m.claimsBefore, m.chunk);
  if (m.keepRecords && records > m.keepRecords) {
    const pruned = q.pruneRecords.run(Math.min(m.chunk, records - m.keepRecords)).changes;
    records -= pruned;
    n += pruned;
  }
  if (m.dropDocuments) n += documents.dropAll(m.dropDocuments, m.chunk);
  return n;
}

const compactedStmt = db.prepare("SELECT value FROM meta WHERE key = 'compacted_revision'").pluck();
/**
 * Below this revision the log no longer answers. It moves to the target at once, even when
 * a chunked compaction leaves rows below it for the next pass: a watcher is told 410 early,
 * never shown a log with holes.
 */
function compactedRevision(): number {
  return Number(compactedStmt.get() ?? 0);
}

const commitAll = db.transaction((reqs: WireRequest[], isolated: boolean): WireReply[] => {
  const start = rev;
  counts = new Map();
  const replies = reqs.map((req) => ({
    id: req.id,
    results: req.units.map((u) => runUnit(u, isolated)),
    maintained: req.maintenance ? maintain(req.maintenance) : 0,
  }));
  writeCounts();
  if (rev !== start) q.setMeta.run('revision', String(rev));
  return replies;
});

/**
 * One transaction for everything queued. If it fails, it is tried once more with each
 * unit in a savepoint of its own, so that one bad unit is refused alone instead of taking
 * every unit in the batch down with it, again on each retry.
 */
function commit(reqs: WireRequest[], isolated = false): WireCommit {
  const start = rev;
  const startRecords = records;
  try {
    const replies = commitAll.immediate(reqs, isolated);
    briefs.settle();
    return { from: start, rev, replies };
  } catch (e) {
    rev = start;
    records = startRecords;
    briefs.undo();
    if (!isolated) return commit(reqs, true);
    return { ids: reqs.map((r) => r.id), error: (e as Error).message };
  }
}

/**
 * VACUUM rebuilds the file from live rows (secure_delete=FAST leaves free pages as they
 * were) and the checkpoint empties the WAL. Neither can run in a transaction: this follows
 * the batch's commit. A failure leaves the store as it was, copies included, until the next.
 */
function purge(): number {
  try {
    db.exec('VACUUM');
    db.pragma('wal_checkpoint(TRUNCATE)');
    return 1;
  } catch {
    return 0;
  }
}

function commitAndPurge(reqs: WireRequest[]): WireCommit {
  const c = commit(reqs);
  if (!('replies' in c)) return c;
  c.replies.forEach((r, i) => {
    if (reqs[i]!.maintenance?.purge) r.maintained += purge();
  });
  return c;
}

const port = parentPort!;
port.on('message', (first: string) => {
  const reqs: WireRequest[] = [];
  let stop = false;
  for (let m: unknown = first; m !== undefined; m = receiveMessageOnPort(port)?.message) {
    if (m === 'stop') stop = true;
    else reqs.push(JSON.parse(m as string) as WireRequest);
  }
  if (reqs.length) port.postMessage(commitAndPurge(reqs));
  if (stop) {
    db.close();
    process.exit(0);
  }
});
