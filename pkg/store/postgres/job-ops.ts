// Job ops inside a write transaction. Every write transaction locks the revision row first,
// so leases of all replicas are taken one after the other: a lease sees every other.
import { JOB_COLUMNS, LEASE_READ_FACTOR, leaseLost, pickLeases } from '../job-rows.js';
import type { OpResult } from '../results.js';
import type { AddJobOp, Job, LeaseJobsOp, RenewJobsOp, SettleJobOp } from '../types.js';
import type { WriteTx } from './ops.js';

export async function addJob(w: WriteTx, op: AddJobOp): Promise<OpResult> {
  const j = op.job;
  const [row] = await w.tx<Array<{ id: number }>>`INSERT INTO jobs (queue, key, owner, owner_uid, body, due_at)
    VALUES (${j.queue}, ${j.key}, ${j.owner}, ${j.ownerUid}, ${j.body}, ${j.dueAt}) RETURNING id`;
  return { job: row!.id, name: String(row!.id) };
}

export async function leaseJobs(w: WriteTx, op: LeaseJobsOp): Promise<OpResult> {
  const due = await w.tx<Array<{ id: number; key: string }>>`SELECT id, key FROM jobs WHERE queue = ${op.queue} AND due_at IS NOT NULL
    AND due_at <= ${op.nowMs} AND (lease_until IS NULL OR lease_until <= ${op.nowMs}) ORDER BY due_at, id LIMIT ${op.limit * LEASE_READ_FACTOR}`;
  if (!due.length) return { leased: [] };
  const keys = [...new Set(due.map((j) => j.key))];
  const held = await w.tx<Array<{ key: string }>>`SELECT DISTINCT key FROM jobs WHERE queue = ${op.queue} AND key = ANY(${keys}) AND lease_until > ${op.nowMs}`;
  const heldKeys = new Set(held.map((r) => r.key));
  const picked = pickLeases(due, op.limit, (key) => heldKeys.has(key));
  if (!picked.length) return { leased: [] };
  const leased = await w.tx<Job[]>`UPDATE jobs SET lease_until = ${op.untilMs}, holder = ${op.holder}
    WHERE id = ANY(${picked.map((j) => j.id)}) RETURNING ${w.tx.unsafe(JOB_COLUMNS)}`;
  return { leased: leased.sort((a, b) => a.id - b.id) };
}

export function renewJobs(w: WriteTx, op: RenewJobsOp): OpResult {
  w.defer(w.tx`UPDATE jobs SET lease_until = ${op.untilMs} WHERE id = ANY(${op.ids}) AND holder = ${op.holder}`);
  return null;
}

export async function settleJob(w: WriteTx, op: SettleJobOp): Promise<OpResult> {
  const holder = op.holder ?? null;
  const fenced = w.tx`(${holder}::text IS NULL OR holder = ${holder})`;
  const r = op.done
    ? await w.tx`DELETE FROM jobs WHERE id = ${op.id} AND ${fenced}`
    : op.dueAt !== undefined
      ? await w.tx`UPDATE jobs SET attempt = coalesce(${op.attempt ?? null}::int, attempt), due_at = ${op.dueAt}, lease_until = NULL, holder = NULL WHERE id = ${op.id} AND ${fenced}`
      : await w.tx`UPDATE jobs SET attempt = coalesce(${op.attempt ?? null}::int, attempt), lease_until = NULL, holder = NULL WHERE id = ${op.id} AND ${fenced}`;
  if (!r.count && holder !== null) throw leaseLost(op.id);
  return null;
}
