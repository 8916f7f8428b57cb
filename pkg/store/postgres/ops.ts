// Resource and data ops inside one write transaction. The transaction holds the revision
// row's lock from its first statement, so it is the only writer while it runs, on any
// replica: reads here see everything committed before it and nothing else changes under it.
// Statements whose answer nothing waits for are sent without waiting (pipelined): the server
// runs them in order, so a later read sees them, and the batch waits once, before it commits.
// It knows storage, not product rules: units arrive as ops, already decided.
import type { PendingQuery, Row, TransactionSql } from 'postgres';
import { alreadyExists, ApiError, conflict, notFound } from '../../api/errors.js';
import type { ObjectKey, Status, StoredResource } from '../../api/types.js';
import { mergePatch } from '../../documents/merge-patch.js';
import type { Json } from '../../mapping/paths.js';
import type { OpResult } from '../results.js';
import { Appends } from './bulk.js';
import { DocumentRows } from './document-ops.js';
import { ownersOf, RESOURCE_COLUMNS, rowToResource, type ResourceRow } from '../rows.js';
import type { BodyCodec } from '../sealing.js';
import type { CreateOp, DeleteOp, DeliveryRecord, EnqueueOp, EventOp, SettleOp, StatusOp, TrimOp, UpdateOp } from '../types.js';

export interface OpsContext {
  namespacedKinds: readonly string[];
  codec: BodyCodec;
}

interface Current {
  create_rv: number;
  rv: number;
  uid: string;
  labels: string | null;
  status: string;
}

const fail = (e: ApiError): never => {
  throw e;
};

const keyOf = (o: StoredResource): ObjectKey => ({ kind: o.kind, namespace: o.metadata.namespace, name: o.metadata.name });
const jsonOrNull = (o: Record<string, string> | undefined): string | null => (o && Object.keys(o).length ? JSON.stringify(o) : null);

function endpointIn(status: Record<string, unknown> | undefined): string | null {
  const id = status?.endpointID;
  return typeof id === 'string' && id ? id : null;
}

/** A unique violation names its constraint: map it to what the caller can act on. */
export function uniqueFailure(e: unknown, k: ObjectKey): ApiError | undefined {
  const pg = e as { code?: string; constraint_name?: string };
  if (pg.code !== '23505') return undefined;
  if (pg.constraint_name === 'resources_endpoint') return new ApiError('Conflict', `endpoint ID of ${k.kind} "${k.name}" is already in use`, { kind: k.kind, name: k.name });
  return alreadyExists(k.kind, k.name);
}

/** A create issued ahead of its unit, with the revision it took, and whether it inserted. */
export interface Precreated {
  rv: number;
  inserted: boolean;
}

/** One write transaction's state: its revision counter, the counter deltas it sums, the statements in flight. */
export class WriteTx {
  counts = new Map<string, number>();
  readonly appends = new Appends();
  readonly documents = new DocumentRows();
  private pending: Array<Promise<void>> = [];
  /** The first failure of a statement sent without waiting: the transaction is aborted from there on. */
  private failed?: unknown;

  constructor(
    /** The transaction, or the savepoint a unit runs in. */
    public tx: TransactionSql,
    public rev: number,
    private readonly ctx: OpsContext,
  ) {}

  /** Sends `q` now; `then` gets its rows. A unique violation becomes the refusal it means for `key`. */
  defer<T extends readonly Row[]>(q: PendingQuery<T>, then?: (rows: T) => void, key?: ObjectKey): void {
    this.pending.push(
      q.execute().then(
        (rows) => then?.(rows as unknown as T),
        (e: unknown) => void (this.failed ??= (key && uniqueFailure(e, key)) || e),
      ),
    );
  }

  /** Sends the rows gathered to append (before a statement that reads their tables, and at the end). */
  sendAppends(): void {
    this.appends.send(this.tx, (q, then) => this.defer(q, then));
  }

  /** Waits for every statement sent, the gathered rows' too; throws the first failure among them. */
  async flush(): Promise<void> {
    this.sendAppends();
    const pending = this.pending;
    this.pending = [];
    await Promise.all(pending);
    if (this.failed !== undefined) throw this.cause(undefined);
  }

  /** What made the transaction fail: an earlier statement sent without waiting, if one did, else `e`. */
  cause(e: unknown): unknown {
    const failed = this.failed;
    this.failed = undefined;
    return failed ?? e;
  }

  private async current(k: ObjectKey): Promise<Current | undefined> {
    const [row] = await this.tx<Current[]>`SELECT create_rv, rv, uid, labels, status FROM resources
      WHERE kind = ${k.kind} AND namespace = ${k.namespace} AND name = ${k.name}`;
    return row;
  }

  private async mustBeAt(k: ObjectKey, expect: number): Promise<Current> {
    const cur = (await this.current(k)) ?? fail(notFound(k.kind, k.name, k.namespace));
    if (expect && cur.rv !== expect) fail(conflict(k.kind, k.name));
    return cur;
  }

  /** Appends a change-log row at the next revision (or at `at`, one taken ahead). */
  logChange(k: ObjectKey, uid: string, type: string, origin: string, extra: { labels?: string | null; item?: string; after?: string | null; before?: string | null } = {}, at?: number): number {
    const v = at ?? ++this.rev;
    this.appends.change({
      revision: v, kind: k.kind, namespace: k.namespace, name: k.name, uid, type, origin,
      labels: extra.labels ?? null, item: extra.item ?? null, after: extra.after ?? null, before: extra.before ?? null,
    });
    return v;
  }

  /** The INSERT of an object under `name` at revision `v`; nothing when the name is taken. */
  insertQuery(o: StoredResource, name: string, v: number) {
    const m = o.metadata;
    return this.tx`INSERT INTO resources (create_rv, kind, namespace, name, uid, rv, generation, created, labels, annotations, spec, status, endpoint_id, owners)
      VALUES (${v}, ${o.kind}, ${m.namespace}, ${name}, ${m.uid}, ${v}, ${m.generation}, ${m.creationTimestamp}, ${jsonOrNull(m.labels)}, ${jsonOrNull(m.annotations)},
        ${this.ctx.codec.encode(o.kind, m.namespace, name, o.spec)}, ${JSON.stringify(o.status ?? {})}, ${endpointIn(o.status)}, ${ownersOf(m)})
      ON CONFLICT (kind, namespace, name) DO NOTHING`;
  }

  /** Inserts each object under its own name at its revision, where the name is free; returns the revisions inserted. */
  async insertAll(items: Array<{ object: StoredResource; rv: number }>): Promise<number[]> {
    const col = <T>(f: (o: StoredResource, rv: number) => T): T[] => items.map((i) => f(i.object, i.rv));
    const rows = await this.tx<Array<{ create_rv: number }>>`INSERT INTO resources (create_rv, kind, namespace, name, uid, rv, generation, created, labels, annotations, spec, status, endpoint_id, owners)
      SELECT r, k, ns, n, u, r, g, c, l, a, s, st, e, ow FROM unnest(${col((_, rv) => rv)}::bigint[], ${col((o) => o.kind)}::text[], ${col((o) => o.metadata.namespace)}::text[],
        ${col((o) => o.metadata.name)}::text[], ${col((o) => o.metadata.uid)}::text[], ${col((o) => o.metadata.generation)}::bigint[], ${col((o) => o.metadata.creationTimestamp)}::text[],
        ${col((o) => jsonOrNull(o.metadata.labels))}::text[], ${col((o) => jsonOrNull(o.metadata.annotations))}::text[],
        ${col((o) => this.ctx.codec.encode(o.kind, o.metadata.namespace, o.metadata.name, o.spec))}::text[], ${col((o) => JSON.stringify(o.status ?? {}))}::text[],
        ${col((o) => endpointIn(o.status))}::text[], ${col((o) => ownersOf(o.metadata))}::text[]) AS t (r, k, ns, n, u, g, c, l, a, s, st, e, ow)
      ON CONFLICT (kind, namespace, name) DO NOTHING RETURNING create_rv`;
    return rows.map((r) => r.create_rv);
  }

  /**
   * Inserts under the first free name when `unique`; a name taken meanwhile by another replica
   * is skipped, not an error. `pre`: the first name was already tried, at a revision of its own.
   */
  async create(o: StoredResource, unique: boolean, origin: string, pre?: Precreated): Promise<OpResult> {
    const m = o.metadata;
    for (let n = 1; ; n++) {
      const name = n === 1 ? m.name : `${m.name}-${n}`;
      const tried = n === 1 && pre;
      const v = tried ? pre.rv : this.rev + 1;
      const inserted = tried ? pre.inserted : (await this.insertQuery(o, name, v)).count === 1;
      if (inserted) {
        this.logChange({ kind: o.kind, namespace: m.namespace, name }, m.uid, 'ADDED', origin, {}, tried ? v : undefined);
        return { rv: v, name };
      }
      if (!unique) fail(alreadyExists(o.kind, name));
    }
  }

  async update(o: StoredResource, expect: number, origin: string): Promise<OpResult> {
    const k = keyOf(o);
    const m = o.metadata;
    const cur = await this.mustBeAt(k, expect);
    const v = this.logChange(k, cur.uid, 'MODIFIED', origin);
    const spec = this.ctx.codec.encode(o.kind, m.namespace, m.name, o.spec);
    this.defer(this.tx`UPDATE resources SET rv = ${v}, generation = ${m.generation}, labels = ${jsonOrNull(m.labels)}, annotations = ${jsonOrNull(m.annotations)},
      spec = ${spec}, status = ${JSON.stringify(o.status ?? {})}, endpoint_id = ${endpointIn(o.status)}, owners = ${ownersOf(m)} WHERE create_rv = ${cur.create_rv}`, undefined, k);
    return { rv: v };
  }

  async status(op: StatusOp, origin: string): Promise<OpResult> {
    const cur = op.uid ? await this.current(op.key) : await this.mustBeAt(op.key, Number(op.expect ?? 0));
    if (!cur || (op.uid && cur.uid !== op.uid)) return null;
    const next = op.merge ? JSON.stringify(mergePatch(JSON.parse(cur.status) as Json, op.status as Json)) : JSON.stringify(op.status);
    if (next === cur.status) return null;
    const v = this.logChange(op.key, cur.uid, 'MODIFIED', origin);
    const endpoint = op.merge ? null : endpointIn(op.status as Status);
    // The row is filled in when the statement answers, before anyone reads the result.
    const result: { rv: number; row?: ResourceRow } = { rv: v };
    const returning = this.tx.unsafe(RESOURCE_COLUMNS);
    const q = op.merge
      ? this.tx<ResourceRow[]>`UPDATE resources SET rv = ${v}, status = ${next} WHERE create_rv = ${cur.create_rv} RETURNING ${returning}`
      : this.tx<ResourceRow[]>`UPDATE resources SET rv = ${v}, status = ${next}, endpoint_id = ${endpoint} WHERE create_rv = ${cur.create_rv} RETURNING ${returning}`;
    this.defer(q, (rows) => (result.row = rows[0]), op.key);
    return result;
  }

  async remove(k: ObjectKey, expect: number, origin: string): Promise<OpResult> {
    const cur = await this.mustBeAt(k, expect);
    const result: { rv: number; row?: ResourceRow } = { rv: 0 };
    this.defer(this.tx<ResourceRow[]>`DELETE FROM resources WHERE create_rv = ${cur.create_rv} RETURNING ${this.tx.unsafe(RESOURCE_COLUMNS)}`, (rows) => (result.row = rows[0]));
    result.rv = this.logChange(k, cur.uid, 'DELETED', origin, { labels: cur.labels });
    return result;
  }

  async exists(k: ObjectKey): Promise<void> {
    if (!(await this.current(k))) fail(notFound(k.kind, k.name, k.namespace));
  }

  async requireEmpty(namespace: string): Promise<void> {
    const [row] = await this.tx<Array<{ n: number }>>`SELECT COUNT(*)::int AS n FROM resources WHERE namespace = ${namespace} AND kind = ANY(${this.ctx.namespacedKinds as string[]})`;
    const n = row?.n ?? 0;
    if (n > 0) fail(new ApiError('Conflict', `namespace "${namespace}" is not empty: delete its ${n} object(s) first`, { kind: 'Namespace', name: namespace }));
  }

  /** An object as a reader would get it (sealed kinds never: their images would hold their secrets in the clear). */
  private async image(k: ObjectKey): Promise<string | null> {
    if (this.ctx.codec.sealedKinds.includes(k.kind)) return null;
    const [row] = await this.tx<ResourceRow[]>`SELECT ${this.tx.unsafe(RESOURCE_COLUMNS)} FROM resources WHERE kind = ${k.kind} AND namespace = ${k.namespace} AND name = ${k.name}`;
    return row ? JSON.stringify(rowToResource(row, this.ctx.codec)) : null;
  }

  /** An op that asked for images: the object before (updates, deletes) and after (creates, updates) in its change-log row. */
  async withImages(op: CreateOp | UpdateOp | DeleteOp, origin: string): Promise<OpResult> {
    const key = op.op === 'delete' ? op.key : keyOf(op.object);
    const before = op.op === 'create' ? null : await this.image(key);
    const r = op.op === 'create' ? await this.create(op.object, !!op.uniqueName, origin) : op.op === 'update' ? await this.update(op.object, Number(op.expect), origin) : await this.remove(op.key, Number(op.expect ?? 0), origin);
    if (!r || !('rv' in r)) return r;
    const after = op.op === 'delete' ? null : await this.image({ ...key, name: r.name ?? key.name });
    if (after !== null || before !== null) {
      this.sendAppends();
      this.defer(this.tx`UPDATE changes SET image_after = ${after}, image_before = ${before} WHERE revision = ${r.rv}`);
    }
    return r;
  }

  /** Taken when absent or expired (one row); no row when an earlier unit holds it. */
  takeClaim(scope: string, key: string, expiresAt: number, result: string, nowMs: number) {
    return this.tx`INSERT INTO claims (scope, key, expires_at, result) VALUES (${scope}, ${key}, ${expiresAt}, ${result})
      ON CONFLICT (scope, key) DO UPDATE SET expires_at = excluded.expires_at, result = excluded.result WHERE claims.expires_at <= ${nowMs}`;
  }

  heldClaim(scope: string, key: string) {
    return this.tx<Array<{ result: string; expiresAt: number }>>`SELECT result, expires_at AS "expiresAt" FROM claims WHERE scope = ${scope} AND key = ${key}`;
  }

  dropClaim(scope: string, key: string): void {
    this.defer(this.tx`DELETE FROM claims WHERE scope = ${scope} AND key = ${key}`);
  }

  setClaimResult(scope: string, key: string, result: string): void {
    this.defer(this.tx`UPDATE claims SET result = ${result} WHERE scope = ${scope} AND key = ${key}`);
  }

  addCounts(scope: string, deltas: Record<string, number>): void {
    for (const name in deltas) {
      const k = `${scope}\n${name}`;
      this.counts.set(k, (this.counts.get(k) ?? 0) + deltas[name]!);
    }
  }

  writeCounts(): void {
    for (const [k, d] of this.counts) {
      const i = k.indexOf('\n');
      this.defer(this.tx`INSERT INTO counters (scope, name, value) VALUES (${k.slice(0, i)}, ${k.slice(i + 1)}, ${d})
        ON CONFLICT (scope, name) DO UPDATE SET value = counters.value + excluded.value`);
    }
  }

  /** The record's id is filled in when the statement answers, before anyone reads the result. */
  record(r: DeliveryRecord): OpResult {
    const result = { record: 0 };
    this.appends.record(r, (id) => (result.record = id));
    return result;
  }

  finishRecord(id: number, set: Pick<DeliveryRecord, 'outcome' | 'reason' | 'httpStatus' | 'durationMs' | 'response'>): void {
    this.sendAppends();
    this.defer(this.tx`UPDATE deliveries SET outcome = ${set.outcome}, reason = ${set.reason ?? null}, http_status = ${set.httpStatus ?? null},
      duration_ms = ${set.durationMs ?? null}, response = ${set.response ?? null} WHERE id = ${id}`);
  }

  trim(op: TrimOp): void {
    this.sendAppends();
    this.defer(this.tx`DELETE FROM deliveries WHERE owner = ${op.owner} AND outcome = 'rejected' AND id <=
      (SELECT id FROM deliveries WHERE owner = ${op.owner} AND outcome = 'rejected' ORDER BY id DESC LIMIT 1 OFFSET ${op.keep})`);
  }

  event(op: EventOp): void {
    const now = new Date().toISOString();
    const k = op.key;
    this.defer(this.tx`INSERT INTO events (kind, namespace, name, type, reason, message, count, first_ts, last_ts)
      VALUES (${k.kind}, ${k.namespace}, ${k.name}, ${op.type}, ${op.reason}, ${op.message}, 1, ${now}, ${now})
      ON CONFLICT (kind, namespace, name, reason, message) DO UPDATE SET count = events.count + 1, last_ts = excluded.last_ts,
        seq = nextval(pg_get_serial_sequence('events', 'seq')), type = excluded.type`);
  }

  enqueue(op: EnqueueOp): OpResult {
    const m = op.message;
    const result = { queued: 0 };
    this.defer(this.tx<Array<{ id: number }>>`INSERT INTO queue (owner, owner_uid, message_id, body, meta, due_at)
      VALUES (${m.owner}, ${m.ownerUid}, ${m.messageId}, ${m.body}, ${m.meta}, ${m.dueAt}) RETURNING id`, (rows) => (result.queued = rows[0]!.id));
    return result;
  }

  settle(op: SettleOp): void {
    if (op.done) this.defer(this.tx`DELETE FROM queue WHERE id = ${op.id}`);
    else if (op.dueAt !== undefined) this.defer(this.tx`UPDATE queue SET attempt = coalesce(${op.attempt ?? null}::int, attempt), due_at = ${op.dueAt} WHERE id = ${op.id}`);
    else this.defer(this.tx`UPDATE queue SET attempt = coalesce(${op.attempt ?? null}::int, attempt) WHERE id = ${op.id}`);
  }

  cursor(name: string, value: number): void {
    this.defer(this.tx`INSERT INTO meta (key, value) VALUES (${`cursor:${name}`}, ${String(value)}) ON CONFLICT (key) DO UPDATE SET value = excluded.value`);
  }
}
