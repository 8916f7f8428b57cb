// The writer thread: the only connection that writes, as one continuous group commit.
// Each transaction takes every request that queued up while the previous one committed,
// so batches grow with the load. Revisions are assigned here, inside the transaction, so
// commit order is revision order; every resource mutation appends to the change log.
// It knows storage, not product rules: units arrive as ops, already decided.
import Database from 'better-sqlite3';
import { parentPort, receiveMessageOnPort, workerData } from 'node:worker_threads';
import { RESOURCE_COLUMNS, type ResourceRow } from './rows.js';
import type {
  WireCommit, WireError, WireKey, WireMaintenance, WireOp, WireOpResult, WireRecord, WireReply, WireRequest, WireRow, WireUnit, WireUnitResult,
} from './wire.js';

const { path, unindexedLabels } = workerData as { path: string; unindexedLabels: Record<string, string[]> };
const db = new Database(path);
const unindexed = new Map(Object.entries(unindexedLabels).map(([kind, keys]) => [kind, new Set(keys)]));
db.pragma('busy_timeout = 5000');
db.pragma('synchronous = NORMAL');
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
  insert: db.prepare(`INSERT INTO resources (create_rv, kind, namespace, name, uid, rv, generation, created, labels, annotations, spec, status, endpoint_id)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
  update: db.prepare('UPDATE resources SET rv = ?, generation = ?, labels = ?, annotations = ?, spec = ?, status = ?, endpoint_id = ? WHERE create_rv = ?'),
  status: db.prepare(`UPDATE resources SET rv = ?, status = ?, endpoint_id = ? WHERE create_rv = ? RETURNING ${RESOURCE_COLUMNS}`),
  statusKeepEndpoint: db.prepare(`UPDATE resources SET rv = ?, status = ? WHERE create_rv = ? RETURNING ${RESOURCE_COLUMNS}`),
  merged: db.prepare('SELECT json_patch(?, ?)').pluck(),
  remove: db.prepare(`DELETE FROM resources WHERE create_rv = ? RETURNING ${RESOURCE_COLUMNS}`),
  addLabel: db.prepare('INSERT INTO labels (kind, key, value, create_rv) VALUES (?, ?, ?, ?)'),
  delLabel: db.prepare('DELETE FROM labels WHERE kind = ? AND key = ? AND value = ? AND create_rv = ?'),
  change: db.prepare('INSERT INTO changes (revision, kind, namespace, name, uid, type, origin, labels) VALUES (?, ?, ?, ?, ?, ?, ?, ?)'),
  inNamespace: db.prepare('SELECT COUNT(*) FROM resources WHERE kind = ? AND namespace = ?').pluck(),
  getClaim: db.prepare('SELECT expires_at, result FROM claims WHERE scope = ? AND key = ?'),
  putClaim: db.prepare('INSERT OR REPLACE INTO claims (scope, key, expires_at, result) VALUES (?, ?, ?, ?)'),
  count: db.prepare(`INSERT INTO counters (scope, name, value) VALUES (?, ?, ?)
    ON CONFLICT (scope, name) DO UPDATE SET value = value + excluded.value`),
  record: db.prepare(`INSERT INTO deliveries (ts, owner, namespace, event_id, outcome, reason, http_status, duration_ms, result)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`),
  event: db.prepare(`INSERT INTO events (kind, namespace, name, type, reason, message, count, first_ts, last_ts, seq)
    VALUES (?, ?, ?, ?, ?, ?, 1, ?, ?, ?)
    ON CONFLICT (kind, namespace, name, reason, message) DO UPDATE SET count = count + 1, last_ts = excluded.last_ts, seq = excluded.seq, type = excluded.type`),
  lastEventSeq: db.prepare('SELECT MAX(seq) FROM events').pluck(),
  compact: db.prepare('DELETE FROM changes WHERE revision <= MIN(?, (SELECT MIN(revision) FROM changes) + ?)'),
  pruneClaims: db.prepare(`DELETE FROM claims WHERE (scope, key) IN
    (SELECT scope, key FROM claims WHERE expires_at <= ? ORDER BY expires_at LIMIT ?)`),
  pruneRecords: db.prepare(`DELETE FROM deliveries WHERE id IN
    (SELECT id FROM deliveries WHERE id <= (SELECT MAX(id) FROM deliveries) - ? ORDER BY id LIMIT ?)`),
};

/** A unit that cannot be committed as asked (conflict, not found, ...): it alone is refused. */
class UnitFailure extends Error {
  constructor(readonly wire: WireError) {
    super(wire.message);
  }
}

const fail = (reason: string, message: string, k?: WireKey): never => {
  throw new UnitFailure({ reason, message, details: k && { kind: k.kind, name: k.name } });
};
const notFound = (k: WireKey): never => fail('NotFound', `${k.kind} "${k.namespace ? `${k.namespace}/` : ''}${k.name}" not found`, k);
const conflict = (k: WireKey): never =>
  fail('Conflict', `Operation cannot be fulfilled on ${k.kind} "${k.name}": the object has been modified; please apply your changes to the latest version and try again`, k);

/** The store's revision, kept here: this is the only writer. */
let rev = Number(q.revision.get() ?? 0);
let eventSeq = Number(q.lastEventSeq.get() ?? 0);
/** Counter deltas of the current transaction, summed per counter and written once at its end. */
let counts = new Map<string, number>();

interface Current {
  create_rv: number;
  rv: number;
  uid: string;
  labels: string | null;
  status: string;
}

const current = (k: WireKey): Current | undefined => q.current.get(k.kind, k.namespace, k.name) as Current | undefined;

function mustBeAt(k: WireKey, expect: number): Current {
  const cur = current(k) ?? notFound(k);
  if (expect && cur.rv !== expect) conflict(k);
  return cur;
}

function logChange(k: WireKey, uid: string, type: string, origin: string, labels: string | null = null): number {
  q.change.run(++rev, k.kind, k.namespace, k.name, uid, type, origin, labels);
  return rev;
}

/** Label keys and values, alternating, as the label index holds them. */
function pairsOf(kind: string, labels: Record<string, string> | null): string[] {
  if (!labels) return [];
  const skip = unindexed.get(kind);
  const out: string[] = [];
  for (const k in labels) if (!skip?.has(k)) out.push(k, labels[k]!);
  return out;
}

const storedPairs = (kind: string, labels: string | null): string[] => pairsOf(kind, labels ? (JSON.parse(labels) as Record<string, string>) : null);
const jsonOrNull = (o: object | null): string | null => (o ? JSON.stringify(o) : null);

function writeLabels(kind: string, createRv: number, add: string[], drop: string[]): void {
  for (let i = 0; i < drop.length; i += 2) q.delLabel.run(kind, drop[i], drop[i + 1], createRv);
  for (let i = 0; i < add.length; i += 2) q.addLabel.run(kind, add[i], add[i + 1], createRv);
}

/** Unique constraints map to what the caller can act on. */
function uniqueFailure(e: unknown, r: WireRow): never {
  const m = String((e as Error).message);
  if (m.includes('resources.endpoint_id')) fail('Conflict', `endpoint ID of ${r.kind} "${r.name}" is already in use`, r);
  if (m.includes('UNIQUE')) fail('AlreadyExists', `${r.kind} "${r.name}" already exists`, r);
  throw e;
}

function create(r: WireRow, unique: boolean, origin: string): WireOpResult {
  let name = r.name;
  if (unique) for (let n = 2; q.live.get(r.kind, r.namespace, name); n++) name = `${r.name}-${n}`;
  else if (q.live.get(r.kind, r.namespace, name)) fail('AlreadyExists', `${r.kind} "${name}" already exists`, r);
  const v = logChange({ kind: r.kind, namespace: r.namespace, name }, r.uid, 'ADDED', origin);
  try {
    q.insert.run(v, r.kind, r.namespace, name, r.uid, v, r.generation, r.created, jsonOrNull(r.labels), jsonOrNull(r.annotations), JSON.stringify(r.spec), JSON.stringify(r.status), r.endpoint);
  } catch (e) {
    uniqueFailure(e, r);
  }
  writeLabels(r.kind, v, pairsOf(r.kind, r.labels), []);
  return { rv: v, name };
}

function update(r: WireRow, expect: number, origin: string): WireOpResult {
  const cur = mustBeAt(r, expect);
  const v = logChange(r, cur.uid, 'MODIFIED', origin);
  const labels = jsonOrNull(r.labels);
  try {
    q.update.run(v, r.generation, labels, jsonOrNull(r.annotations), JSON.stringify(r.spec), JSON.stringify(r.status), r.endpoint, cur.create_rv);
  } catch (e) {
    uniqueFailure(e, r);
  }
  if (cur.labels !== labels) writeLabels(r.kind, cur.create_rv, pairsOf(r.kind, r.labels), storedPairs(r.kind, cur.labels));
  return { rv: v };
}

function status(op: Extract<WireOp, { o: 'status' }>, origin: string): WireOpResult {
  const cur = op.uid ? current(op.key) : mustBeAt(op.key, op.expect);
  if (!cur || (op.uid && cur.uid !== op.uid)) return null;
  const given = JSON.stringify(op.status);
  const next = op.merge ? (q.merged.get(cur.status, given) as string) : given;
  if (next === cur.status) return null;
  const v = logChange(op.key, cur.uid, 'MODIFIED', origin);
  try {
    const row = (op.merge ? q.statusKeepEndpoint.get(v, next, cur.create_rv) : q.status.get(v, next, endpointOf(next), cur.create_rv)) as ResourceRow;
    return { rv: v, row };
  } catch (e) {
    return uniqueFailure(e, { kind: op.key.kind, name: op.key.name } as WireRow);
  }
}

/** The endpoint index follows status.endpointID, whatever the kind. */
function endpointOf(status: string): string | null {
  if (!status.includes('"endpointID"')) return null;
  const id = (JSON.parse(status) as { endpointID?: unknown }).endpointID;
  return typeof id === 'string' && id ? id : null;
}

function remove(k: WireKey, expect: number, origin: string): WireOpResult {
  const cur = mustBeAt(k, expect);
  const row = q.remove.get(cur.create_rv) as ResourceRow;
  writeLabels(k.kind, cur.create_rv, [], storedPairs(k.kind, cur.labels));
  return { rv: logChange(k, cur.uid, 'DELETED', origin, cur.labels), row };
}

function requireEmpty(namespace: string, kinds: string[]): void {
  let n = 0;
  for (const kind of kinds) n += Number(q.inNamespace.get(kind, namespace));
  if (n > 0) fail('Conflict', `namespace "${namespace}" is not empty: delete its ${n} object(s) first`, { kind: 'Namespace', namespace: '', name: namespace });
}

function addRecord(r: WireRecord): void {
  q.record.run(r.ts, r.owner, r.namespace, r.eventId, r.outcome, r.reason, r.httpStatus, r.durationMs, r.result);
}

function addCounts(scope: string, names: string[], deltas: number[]): void {
  for (let i = 0; i < names.length; i++) {
    const k = `${scope}\n${names[i]}`;
    counts.set(k, (counts.get(k) ?? 0) + deltas[i]!);
  }
}

function writeCounts(): void {
  for (const [k, d] of counts) {
    const i = k.indexOf('\n');
    q.count.run(k.slice(0, i), k.slice(i + 1), d);
  }
}

function recordEvent(op: Extract<WireOp, { o: 'event' }>): void {
  const now = new Date().toISOString();
  const k = op.key;
  q.event.run(k.kind, k.namespace, k.name, op.type, op.reason, op.message, now, now, ++eventSeq);
}

function apply(op: WireOp, origin: string): WireOpResult {
  switch (op.o) {
    case 'create': return create(op.row, op.unique, origin);
    case 'update': return update(op.row, op.expect, origin);
    case 'status': return status(op, origin);
    case 'delete': return remove(op.key, op.expect, origin);
    case 'exists': return void (q.live.get(op.key.kind, op.key.namespace, op.key.name) || notFound(op.key)), null;
    case 'empty': return requireEmpty(op.namespace, op.kinds), null;
    case 'count': return addCounts(op.scope, op.names, op.deltas), null;
    case 'record': return addRecord(op.r), null;
    case 'event': return recordEvent(op), null;
    case 'claim': throw new Error('a claim must be the first op of its unit');
  }
}

function commitUnit(u: WireUnit): WireUnitResult {
  let first = 0;
  let claim: Extract<WireOp, { o: 'claim' }> | undefined;
  if (u.ops[0]?.o === 'claim') {
    claim = u.ops[0];
    const held = q.getClaim.get(claim.scope, claim.key) as { expires_at: number; result: string } | undefined;
    if (held && held.expires_at > claim.nowMs) return { ok: false, held: { result: held.result, expiresAt: held.expires_at } };
    first = 1;
  }
  const ops: WireOpResult[] = first ? [null] : [];
  // What the unit created: its claim remembers it, and its records name it.
  let created: string | undefined;
  for (let i = first; i < u.ops.length; i++) {
    const op = u.ops[i]!;
    if (op.o === 'record' && op.r.result === null && created !== undefined) op.r.result = created;
    const r = apply(op, u.origin);
    if (created === undefined && r?.name !== undefined) created = r.name;
    ops.push(r);
  }
  if (claim) q.putClaim.run(claim.scope, claim.key, claim.expiresAt, claim.result ?? created ?? '');
  return { ok: true, ops };
}

/** Ops whose preconditions can fail after an earlier op of the unit wrote. */
const checked = (op: WireOp): boolean =>
  (op.o === 'create' && !op.unique) || op.o === 'update' || op.o === 'delete' || op.o === 'exists' || op.o === 'empty' || (op.o === 'status' && op.expect > 0);

/** In a savepoint of its own (nested in the batch's transaction). */
const commitUnitAlone = db.transaction(commitUnit);

function runUnit(u: WireUnit, isolated: boolean): WireUnitResult {
  // A unit that may fail halfway needs a savepoint; one that fails before writing does not.
  if (!isolated && !(u.ops.length > 1 && u.ops.some(checked))) {
    try {
      return commitUnit(u);
    } catch (e) {
      if (e instanceof UnitFailure) return { ok: false, error: e.wire };
      throw e;
    }
  }
  const mark = rev;
  const marked = new Map(counts);
  try {
    return commitUnitAlone(u);
  } catch (e) {
    rev = mark;
    counts = marked;
    if (e instanceof UnitFailure) return { ok: false, error: e.wire };
    if (isolated) return { ok: false, error: { reason: 'InternalError', message: (e as Error).message } };
    throw e;
  }
}

function maintain(m: WireMaintenance): number {
  let n = 0;
  if (m.compactTo > 0) {
    n += q.compact.run(m.compactTo, m.chunk).changes;
    q.setMeta.run('compacted_revision', String(Math.max(m.compactTo, compactedRevision())));
  }
  if (m.claimsBefore > 0) n += q.pruneClaims.run(m.claimsBefore, m.chunk).changes;
  if (m.keepRecords > 0) n += q.pruneRecords.run(m.keepRecords, m.chunk).changes;
  return n;
}

const compactedStmt = db.prepare("SELECT value FROM meta WHERE key = 'compacted_revision'").pluck();
/** What the change log still covers: only revisions above the first row left after a chunked compaction. */
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
  try {
    const replies = commitAll.immediate(reqs, isolated);
    return { rev, replies };
  } catch (e) {
    rev = start;
    if (!isolated) return commit(reqs, true);
    return { ids: reqs.map((r) => r.id), error: (e as Error).message };
  }
}

const port = parentPort!;
port.on('message', (first: string) => {
  const reqs: WireRequest[] = [];
  let stop = false;
  for (let m: unknown = first; m !== undefined; m = receiveMessageOnPort(port)?.message) {
    if (m === 'stop') stop = true;
    else reqs.push(JSON.parse(m as string) as WireRequest);
  }
  if (reqs.length) port.postMessage(commit(reqs));
  if (stop) {
    db.close();
    process.exit(0);
  }
});
