// Leader election through a session-level advisory lock on a connection of its own: the
// replica whose session holds the lock leads. A leader that dies loses its session, and
// with it the lock, at once; a follower asks again every CHECK_MS. A leader checks its
// session just as often and steps down the moment the check fails, before anyone else can
// have taken the lock for longer than that.
import type { ReservedSql } from 'postgres';
import type { Elector } from '../types.js';
import type { Sql } from './connect.js';
import { LEADER_LOCK } from './schema.js';

const CHECK_MS = 1000;

export class PgElector implements Elector {
  private leader = false;
  private session?: ReservedSql;
  private timer?: NodeJS.Timeout;
  private closed = false;
  private readonly listeners = new Set<(leader: boolean) => void>();

  constructor(private readonly sql: Sql, private readonly checkMs = CHECK_MS) {}

  start(): void {
    void this.tick();
  }

  isLeader(): boolean {
    return this.leader;
  }

  onChange(fn: (leader: boolean) => void): () => void {
    this.listeners.add(fn);
    queueMicrotask(() => this.listeners.has(fn) && fn(this.leader));
    return () => void this.listeners.delete(fn);
  }

  private set(leader: boolean): void {
    if (leader === this.leader) return;
    this.leader = leader;
    for (const fn of this.listeners) fn(leader);
  }

  private async tick(): Promise<void> {
    if (this.closed) return;
    try {
      this.session ??= await this.sql.reserve();
      const s = this.session;
      if (this.leader) await s`SELECT 1`;
      else {
        const [row] = await s<Array<{ got: boolean }>>`SELECT pg_try_advisory_lock(${LEADER_LOCK}) AS got`;
        this.set(!!row?.got);
      }
    } catch {
      // The session is gone, and its lock with it: step down and start a new one.
      this.session?.release();
      this.session = undefined;
      this.set(false);
    }
    if (!this.closed) this.timer = setTimeout(() => void this.tick(), this.checkMs);
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    const s = this.session;
    this.session = undefined;
    if (s) {
      await s`SELECT pg_advisory_unlock_all()`.catch(() => undefined);
      s.release();
    }
    this.set(false);
  }
}
