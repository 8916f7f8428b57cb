// Statements for many rows at once (INSERT … SELECT FROM unnest(…)): a statement costs far
// more than a row. Rows a batch only appends (change-log rows, delivery records) are gathered
// and sent as one statement per table; a batch's claims are taken in one or two.
import type { PendingQuery, Row, TransactionSql } from 'postgres';
import type { DeliveryRecord } from '../types.js';

export interface ChangeAppend {
  revision: number;
  kind: string;
  namespace: string;
  name: string;
  uid: string;
  type: string;
  origin: string;
  labels: string | null;
  item: string | null;
  after: string | null;
  before: string | null;
}

interface PendingRecord {
  record: DeliveryRecord;
  /** Gets the id the row was given. */
  id(id: number): void;
}

export type Defer = <T extends readonly Row[]>(q: PendingQuery<T>, then?: (rows: T) => void) => void;

const column = <T, K extends keyof T>(rows: T[], k: K): Array<T[K]> => rows.map((r) => r[k]);

export class Appends {
  private changes: ChangeAppend[] = [];
  private records: PendingRecord[] = [];

  change(row: ChangeAppend): ChangeAppend {
    this.changes.push(row);
    return row;
  }

  record(record: DeliveryRecord, id: (id: number) => void): void {
    this.records.push({ record, id });
  }

  /** Where the gathered rows stand, to forget those added since (a unit rolled back to its savepoint). */
  mark(): [number, number] {
    return [this.changes.length, this.records.length];
  }

  forget([changes, records]: [number, number]): void {
    this.changes.length = changes;
    this.records.length = records;
  }

  /** Sends what was gathered, one statement per table, in the order rows were added. */
  send(tx: TransactionSql, defer: Defer): void {
    if (this.changes.length) defer(changesInsert(tx, this.changes));
    if (this.records.length) {
      const pending = this.records;
      // Ids come from a sequence in insertion order, which is the order of the unnest.
      defer(recordsInsert(tx, pending.map((p) => p.record)), (rows) => rows.map((r) => r.id).sort((x, y) => x - y).forEach((id, i) => pending[i]!.id(id)));
    }
    this.changes = [];
    this.records = [];
  }
}

function changesInsert(tx: TransactionSql, rows: ChangeAppend[]) {
  return tx`INSERT INTO changes (revision, kind, namespace, name, uid, type, origin, labels, item, image_after, image_before)
    SELECT * FROM unnest(${column(rows, 'revision')}::bigint[], ${column(rows, 'kind')}::text[], ${column(rows, 'namespace')}::text[],
      ${column(rows, 'name')}::text[], ${column(rows, 'uid')}::text[], ${column(rows, 'type')}::text[], ${column(rows, 'origin')}::text[],
      ${column(rows, 'labels')}::text[], ${column(rows, 'item')}::text[], ${column(rows, 'after')}::text[], ${column(rows, 'before')}::text[])`;
}

// `test` goes as int[]: postgres.js types a boolean array by its first element, as one boolean.
function recordsInsert(tx: TransactionSql, rs: DeliveryRecord[]) {
  const v = <K extends keyof DeliveryRecord>(k: K) => rs.map((r) => r[k] ?? null);
  return tx<Array<{ id: number }>>`INSERT INTO deliveries (ts, owner, namespace, event_id, outcome, reason, http_status, duration_ms, result, attempt, response, test)
    SELECT * FROM unnest(${v('ts')}::text[], ${v('owner')}::text[], ${rs.map((r) => r.owner.split('/')[1] ?? '')}::text[], ${v('eventId')}::text[],
      ${v('outcome')}::text[], ${v('reason')}::text[], ${v('httpStatus')}::int[], ${v('durationMs')}::float8[], ${v('result')}::text[],
      ${v('attempt')}::int[], ${v('response')}::text[], ${rs.map((r) => (r.test ? 1 : null))}::int[]::boolean[]) RETURNING id`;
}

export interface ClaimRow {
  scope: string;
  key: string;
  expiresAt: number;
  result: string;
  nowMs: number;
}

/** Inserts the claims nobody holds (keys distinct); returns those it inserted. */
export function insertClaims(tx: TransactionSql, rows: ClaimRow[]) {
  return tx<Array<{ scope: string; key: string }>>`INSERT INTO claims (scope, key, expires_at, result)
    SELECT * FROM unnest(${column(rows, 'scope')}::text[], ${column(rows, 'key')}::text[], ${column(rows, 'expiresAt')}::bigint[], ${column(rows, 'result')}::text[])
    ON CONFLICT (scope, key) DO NOTHING RETURNING scope, key`;
}

/** Takes over the claims among `rows` that expired by their own unit's time; returns those. */
export function renewExpiredClaims(tx: TransactionSql, rows: ClaimRow[]) {
  return tx<Array<{ scope: string; key: string }>>`UPDATE claims c SET expires_at = i.expires_at, result = i.result
    FROM unnest(${column(rows, 'scope')}::text[], ${column(rows, 'key')}::text[], ${column(rows, 'expiresAt')}::bigint[], ${column(rows, 'result')}::text[],
      ${column(rows, 'nowMs')}::bigint[]) AS i (scope, key, expires_at, result, now_ms)
    WHERE c.scope = i.scope AND c.key = i.key AND c.expires_at <= i.now_ms RETURNING c.scope, c.key`;
}
