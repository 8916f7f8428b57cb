// What a committed unit's ops wrote, turned into what its caller and the watchers get:
// the same for every driver, from each op's result as the driver reports it.
import type { ObjectKey, StoredResource, WatchEvent, WatchEventType, WriteOrigin } from '../api/types.js';
import { rowToResource, type ResourceRow } from './rows.js';
import { deletedObject } from './watch-events.js';
import type { BodyCodec } from './sealing.js';
import type { DeliveryRecord, DocumentWrite, Job, Op, Unit, UnitResult, WriteResult } from './types.js';

/**
 * What one op wrote: its revision, the name it took (create), and the stored row where the
 * caller does not know the result (status writes, and the deleted object).
 */
export type OpResult =
  | null
  | { rv: number; name?: string; row?: ResourceRow; doc?: { version: number; type: 'ADDED' | 'MODIFIED' | 'DELETED' } }
  | { record: number }
  | { queued: number }
  | { job: number; name: string }
  | { leased: Job[] }
  | { deleted: DeletedRow[] };

/** One object a deleteMany op deleted: its change's revision, and what a replayed deletion shows of it. */
export interface DeletedRow {
  rv: number;
  name: string;
  uid: string;
  labels: string | null;
}

/**
 * A committed change: what the unit's caller gets back and what watchers see. The object
 * is built on first read, so the many watchers that skip delivery writes by origin cost nothing.
 */
class Change implements WatchEvent, WriteResult {
  readonly key: ObjectKey;
  private built?: StoredResource;
  constructor(
    readonly type: WatchEventType,
    readonly origin: WriteOrigin,
    readonly revision: number,
    private readonly source: StoredResource | ResourceRow,
    readonly name: string,
    private readonly codec: BodyCodec,
  ) {
    const k = 'metadata' in source ? { kind: source.kind, namespace: source.metadata.namespace } : { kind: source.kind, namespace: source.namespace };
    this.key = { ...k, name };
  }
  get resourceVersion(): string {
    return String(this.revision);
  }
  get object(): StoredResource {
    if (!this.built) {
      const s = this.source;
      const o = 'metadata' in s ? s : rowToResource(s, this.codec);
      this.built = { ...o, metadata: { ...o.metadata, name: this.name, resourceVersion: String(this.revision) } };
    }
    return this.built;
  }
}

/** A deletion by a deleteMany op: its object is built on first read, as a replayed deletion shows it (identity and labels). */
class Deletion implements WatchEvent {
  readonly type = 'DELETED';
  private built?: StoredResource;
  constructor(
    readonly origin: WriteOrigin,
    readonly key: ObjectKey,
    private readonly row: DeletedRow,
  ) {}
  get revision(): number {
    return this.row.rv;
  }
  get object(): StoredResource {
    const { key, row } = this;
    this.built ??= deletedObject({ revision: row.rv, kind: key.kind, namespace: key.namespace, name: row.name, uid: row.uid, type: 'DELETED', origin: this.origin, labels: row.labels });
    return this.built;
  }
}

function changeOf(op: Op, r: OpResult, origin: WriteOrigin, codec: BodyCodec): Change | undefined {
  if (!r || !('rv' in r)) return undefined;
  switch (op.op) {
    case 'create': return new Change('ADDED', origin, r.rv, op.object, r.name ?? op.object.metadata.name, codec);
    case 'update': return new Change('MODIFIED', origin, r.rv, op.object, op.object.metadata.name, codec);
    case 'status': return new Change('MODIFIED', origin, r.rv, r.row!, op.key.name, codec);
    case 'delete': return new Change('DELETED', origin, r.rv, r.row!, op.key.name, codec);
    default: return undefined;
  }
}

/** A document op's result; documents are not shown to resource watchers. */
function documentWriteOf(r: OpResult): DocumentWrite | undefined {
  if (!r || !('doc' in r) || !r.doc) return undefined;
  return { name: r.name!, resourceVersion: String(r.rv), version: r.doc.version, type: r.doc.type };
}

/** The records a unit wrote, with their ids and, as the writer filled it in, what the unit created. */
function recordsOf(unit: Unit, results: OpResult[], writes: Array<Change | DocumentWrite | undefined>, out: DeliveryRecord[]): void {
  // As the writer thread decides it: a created object, or any document written.
  const created = writes.find((w) => w && (w.type === 'ADDED' || !(w instanceof Change)))?.name ?? results.find((r): r is { job: number; name: string } => !!r && 'job' in r)?.name;
  unit.ops.forEach((op, i) => {
    const r = results[i];
    if (op.op !== 'record' || !r || !('record' in r)) return;
    out.push({ ...op.record, id: r.record, ...(op.record.result === undefined && created !== undefined ? { result: created } : {}) });
  });
}

type Ids = { records?: number[]; queued?: number[]; jobs?: number[]; leased?: Job[]; deleted?: string[] };

/** The ids of the records, queued messages and jobs a unit added, the jobs it leased and the names it deleted, in op order, when there are any. */
function idsOf(results: OpResult[]): Ids {
  const ids: Ids = {};
  for (const r of results) {
    if (!r) continue;
    if ('record' in r) (ids.records ??= []).push(r.record);
    else if ('queued' in r) (ids.queued ??= []).push(r.queued);
    else if ('job' in r) (ids.jobs ??= []).push(r.job);
    else if ('leased' in r) (ids.leased ??= []).push(...r.leased);
    else if ('deleted' in r) for (const d of r.deleted) (ids.deleted ??= []).push(d.name);
  }
  return ids;
}

/** A committed unit's answer; its changes (and records, when asked for) are added for the watchers. */
export function unitResult(unit: Unit, ops: OpResult[], codec: BodyCodec, changes: WatchEvent[], records: DeliveryRecord[] | undefined): UnitResult {
  const writes = unit.ops.map((op, i) => documentWriteOf(ops[i] ?? null) ?? changeOf(op, ops[i] ?? null, unit.origin, codec));
  // In op order, which is revision order: a watcher skips what is older than what it was shown.
  unit.ops.forEach((op, i) => {
    const r = ops[i];
    const w = writes[i];
    if (op.op === 'deleteMany' && r && 'deleted' in r) {
      for (const d of r.deleted) changes.push(new Deletion(unit.origin, { kind: op.kind, namespace: op.namespace, name: d.name }, d));
    } else if (w instanceof Change) changes.push(w);
  });
  if (records) recordsOf(unit, ops, writes, records);
  return { held: false, writes, ...idsOf(ops) };
}
