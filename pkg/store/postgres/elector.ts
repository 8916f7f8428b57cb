// Leader election through a session-level advisory lock on a connection of its own: the
// replica whose session holds the lock leads. A leader that dies loses its session, and
// with it the lock, at once; a follower asks again every CHECK_MS. A leader checks its
// session just as often and steps down the moment the check fails or hangs past HANG_MS,
// dropping the session. A leader cut off by the network is noticed by the server too: the
// session keeps TCP keepalives short, so its backend (and the lock) goes within ~10 s.
import { LeadershipState } from '../elector.js';
import type { Elector } from '../types.js';
import { connect, type Sql } from './connect.js';
import { LEADER_LOCK } from './schema.js';

const CHECK_MS = 1000;
/** A check that has not answered by then counts as failed (a busy server answers well within it). */
const HANG_MS = 3000;

export class PgElector extends LeadershipState implements Elector {
  /**
   * A client of one connection, its own: the lock lives in that connection's session. (A
   * connection reserved from the shared pool breaks the client when the server ends it.)
   * When the server ends it, the next query runs on a new session, which holds no lock.
   */
  private readonly session: Sql;
  /** The backend the lock was taken on, to end it when it cannot be trusted any more. */
  private sessionPid?: number;
  private timer?: NodeJS.Timeout;
  private closed = false;

  /** `sql`: the shared pool, to end a session that hangs. */
  constructor(url: string, private readonly sql: Sql, private readonly checkMs = CHECK_MS) {
    super();
    this.session = connect(url, 1);
  }

  start(): void {
    void this.tick();
  }

  private async tick(): Promise<void> {
    if (this.closed) return;
    const s = this.session;
    try {
      if (this.leader) {
        // Not merely "the session answers": a connection that dropped may have been replaced
        // by a new one without the lock. Holding it is what makes this replica the leader.
        const [row] = await withinCheck(s<Array<{ held: boolean }>>`SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted
          AND pid = pg_backend_pid() AND classid = 0 AND objid = ${LEADER_LOCK} AND objsubid = 1) AS held`, HANG_MS);
        if (!row?.held) throw new Error('the leader lock is no longer held');
      } else {
        const [row] = await withinCheck(s<Array<{ got: boolean; pid: number }>>`SELECT pg_try_advisory_lock(${LEADER_LOCK}) AS got, pg_backend_pid() AS pid`, HANG_MS);
        if (row?.got) await this.keepAlive(row.pid);
        this.set(!!row?.got);
      }
    } catch {
      // Step down first. The session may yet live (a slow check): end its backend, so that
      // the lock goes with it, rather than hand a connection holding the lock back to the pool.
      this.set(false);
      const pid = this.sessionPid;
      this.sessionPid = undefined;
      if (pid !== undefined) await withinCheck(this.sql`SELECT pg_terminate_backend(${pid})`, HANG_MS).catch(() => undefined);
    }
    if (!this.closed) this.timer = setTimeout(() => void this.tick(), this.checkMs);
  }

  /** The session holding the lock keeps TCP keepalives short: cut off, it ends on the server too. */
  private async keepAlive(pid: number): Promise<void> {
    this.sessionPid = pid;
    await this.session`SET tcp_keepalives_idle = 5`;
    await this.session`SET tcp_keepalives_interval = 2`;
    await this.session`SET tcp_keepalives_count = 2`;
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    // Ending the session releases the lock.
    await this.session.end({ timeout: 2 }).catch(() => undefined);
    this.set(false);
  }
}

/** `q`, or a failure once `ms` pass: a check that hangs is a session that is gone. */
function withinCheck<T>(q: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error('the leader check hung')), ms)));
  return Promise.race([q, late]).finally(() => clearTimeout(timer));
}
