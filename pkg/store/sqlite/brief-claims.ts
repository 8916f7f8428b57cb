// Brief claims on the writer thread: held in memory, each appended to a log table that a
// restart reads back. Their keys are random (signatures), so as rows of an index each would
// dirty a page of its own in every commit; appended, a batch's claims share the last page.
// The log is the durable copy: the memory only answers lookups.
import type Database from 'better-sqlite3';
import type { ClaimOp } from '../types.js';

export interface Held {
  result: string;
  expiresAt: number;
}

interface Entry extends Held {
  id: number;
}

/** Entries looked at past the first unexpired one when pruning (expiries are nearly in order). */
const PRUNE_LOOKAHEAD = 64;

export class BriefClaims {
  private readonly live = new Map<string, Entry>();
  /** What each change since the last settle replaced, newest last: undone when its transaction fails. */
  private journal: Array<[string, Entry | undefined]> = [];
  private readonly q;

  constructor(db: Database.Database, nowMs: number) {
    this.q = {
      add: db.prepare('INSERT INTO brief_claims (scope, key, expires_at, result) VALUES (?, ?, ?, ?)'),
      drop: db.prepare('DELETE FROM brief_claims WHERE id = ?'),
      result: db.prepare('UPDATE brief_claims SET result = ? WHERE id = ?'),
      prune: db.prepare('DELETE FROM brief_claims WHERE id IN (SELECT id FROM brief_claims WHERE expires_at <= ? ORDER BY id LIMIT ?)'),
      all: db.prepare('SELECT id, scope, key, expires_at AS expiresAt, result FROM brief_claims WHERE expires_at > ? ORDER BY id'),
    };
    for (const r of this.q.all.iterate(nowMs) as Iterable<Entry & { scope: string; key: string }>) {
      this.live.set(keyOf(r.scope, r.key), { id: r.id, expiresAt: r.expiresAt, result: r.result });
    }
  }

  /** Takes the claim unless an unexpired one holds it; whether it was taken. */
  take(op: ClaimOp, result: string): boolean {
    const k = keyOf(op.scope, op.key);
    const cur = this.live.get(k);
    if (cur && cur.expiresAt > op.nowMs) return false;
    const id = Number(this.q.add.run(op.scope, op.key, op.expiresAt, result).lastInsertRowid);
    // Deleted first so that the map keeps its entries in the order they expire, nearly.
    this.live.delete(k);
    this.set(k, { id, expiresAt: op.expiresAt, result }, cur);
    return true;
  }

  get(op: ClaimOp): Held | undefined {
    return this.live.get(keyOf(op.scope, op.key));
  }

  /** Gives back a claim this unit took. */
  giveBack(op: ClaimOp): void {
    const k = keyOf(op.scope, op.key);
    const cur = this.live.get(k);
    if (!cur) return;
    this.q.drop.run(cur.id);
    this.set(k, undefined, cur);
  }

  setResult(op: ClaimOp, result: string): void {
    const k = keyOf(op.scope, op.key);
    const cur = this.live.get(k);
    if (!cur) return;
    this.q.result.run(result, cur.id);
    this.set(k, { ...cur, result }, cur);
  }

  /** Drops claims expired by `before`: up to `chunk` log rows, and the memory's. */
  prune(before: number, chunk: number): number {
    let unexpired = 0;
    for (const [k, e] of this.live) {
      if (e.expiresAt > before) {
        if (++unexpired > PRUNE_LOOKAHEAD) break;
        continue;
      }
      this.set(k, undefined, e);
    }
    return this.q.prune.run(before, chunk).changes;
  }

  /** A point the memory can be put back to (a savepoint's). */
  mark(): number {
    return this.journal.length;
  }

  /** Puts the memory back as it was at `mark` (its transaction or savepoint rolled back). */
  undo(mark = 0): void {
    while (this.journal.length > mark) {
      const [k, before] = this.journal.pop()!;
      if (before) this.live.set(k, before);
      else this.live.delete(k);
    }
  }

  /** The transaction committed: nothing before this can be undone any more. */
  settle(): void {
    this.journal = [];
  }

  private set(k: string, e: Entry | undefined, before: Entry | undefined): void {
    this.journal.push([k, before]);
    if (e) this.live.set(k, e);
    else this.live.delete(k);
  }
}

const keyOf = (scope: string, key: string): string => `${scope}\n${key}`;
