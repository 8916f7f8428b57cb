// Job ops on the writer thread. This is the only writer, so a lease sees every other lease.
import type Database from 'better-sqlite3';
import { JOB_COLUMNS, LEASE_READ_FACTOR, leaseLost, numbersOf, pickLeases } from '../job-rows.js';
import type { AddJobOp, Job, LeaseJobsOp, RenewJobsOp, SettleJobOp } from '../types.js';
import type { WireOpResult } from './wire.js';

export function jobsWriter(db: Database.Database) {
  const q = {
    add: db.prepare('INSERT INTO jobs (queue, key, owner, owner_uid, body, due_at) VALUES (?, ?, ?, ?, ?, ?)'),
    due: db.prepare(`SELECT id, key FROM jobs WHERE queue = ? AND due_at IS NOT NULL AND due_at <= ?
      AND (lease_until IS NULL OR lease_until <= ?) ORDER BY due_at, id LIMIT ?`),
    held: db.prepare('SELECT 1 FROM jobs WHERE queue = ? AND key = ? AND lease_until > ? LIMIT 1').pluck(),
    lease: db.prepare(`UPDATE jobs SET lease_until = ?, holder = ? WHERE id = ? RETURNING ${JOB_COLUMNS}`),
    renew: db.prepare('UPDATE jobs SET lease_until = ? WHERE id = ? AND holder = ?'),
    remove: db.prepare('DELETE FROM jobs WHERE id = ? AND (? IS NULL OR holder = ?)'),
    settle: db.prepare(`UPDATE jobs SET attempt = coalesce(?, attempt), due_at = CASE WHEN ? THEN ? ELSE due_at END, lease_until = NULL, holder = NULL
      WHERE id = ? AND (? IS NULL OR holder = ?)`),
  };

  function add(op: AddJobOp): WireOpResult {
    const j = op.job;
    const id = Number(q.add.run(j.queue, j.key, j.owner, j.ownerUid, j.body, j.dueAt).lastInsertRowid);
    return { job: id, name: String(id) };
  }

  function lease(op: LeaseJobsOp): WireOpResult {
    const due = q.due.all(op.queue, op.nowMs, op.nowMs, op.limit * LEASE_READ_FACTOR) as Array<{ id: number; key: string }>;
    const picked = pickLeases(due, op.limit, (key) => !!q.held.get(op.queue, key, op.nowMs));
    return { leased: picked.map((j) => numbersOf(q.lease.get(op.untilMs, op.holder, j.id) as Job)) };
  }

  function renew(op: RenewJobsOp): void {
    for (const id of op.ids) q.renew.run(op.untilMs, id, op.holder);
  }

  function settle(op: SettleJobOp): void {
    const holder = op.holder ?? null;
    const changed = op.done ? q.remove.run(op.id, holder, holder).changes : q.settle.run(op.attempt ?? null, op.dueAt !== undefined ? 1 : 0, op.dueAt ?? null, op.id, holder, holder).changes;
    if (!changed && holder !== null) throw leaseLost(op.id);
  }

  return { add, lease, renew, settle };
}
