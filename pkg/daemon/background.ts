// What the daemon does between requests: batched notes and receiver statuses, pruning of
// expired claims and old records, compaction of the change log; and reconcilers, run
// only where the elector says.
import type { Logger } from 'pino';
import type { Manager } from '../controller/manager.js';
import { dropOrphanDocuments } from '../documents/orphans.js';
import type { Notes } from '../receiver/notes.js';
import type { StatusMirror } from '../receiver/status-mirror.js';
import type { Elector, Store } from '../store/types.js';

/** How long the change log keeps history for watches to resume from. */
const WATCH_HISTORY_MS = 5 * 60_000;
const PRUNE_CHUNK = 2000;
const TICK_MS = 200;

interface Jobs {
  notes: Notes;
  mirror: StatusMirror;
  retention: number;
  log: Logger;
}

/** Runs `job` every `ms` (never two at once); a failure is logged and the next run goes ahead. */
export function every(ms: number, job: () => Promise<unknown>, log: Logger, what: string): NodeJS.Timeout {
  let running = false;
  const t = setInterval(() => {
    if (running) return;
    running = true;
    job().catch((err: unknown) => log.error({ err }, `${what} failed`)).finally(() => (running = false));
  }, ms);
  t.unref();
  return t;
}

/** Expired claims and records past retention go in small chunks, between requests. */
async function prune(store: Store, keepRecords: number): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if ((await store.maintain({ claimsBefore: Date.now(), keepRecords, chunk: PRUNE_CHUNK })) < PRUNE_CHUNK) return;
    await new Promise((r) => setImmediate(r));
  }
}

export function startBackground(store: Store, jobs: Jobs): { stop(): void } {
  // Revisions seen over time, so compaction keeps WATCH_HISTORY_MS of history exactly.
  const seen: Array<{ at: number; rev: number }> = [];
  const compact = async (): Promise<void> => {
    seen.push({ at: Date.now(), rev: Number(store.control.revision()) });
    let upTo = 0;
    while (seen.length && seen[0]!.at <= Date.now() - WATCH_HISTORY_MS) upTo = seen.shift()!.rev;
    for (let i = 0; upTo > 0 && i < 100; i++) {
      if ((await store.maintain({ compactTo: upTo, chunk: PRUNE_CHUNK * 5 })) < PRUNE_CHUNK * 5) return;
    }
  };
  const timers = [
    every(TICK_MS, () => jobs.notes.flush(), jobs.log, 'recording deliveries'),
    every(TICK_MS, () => jobs.mirror.flush(), jobs.log, 'writing receiver statuses'),
    every(5_000, () => (store.elector.isLeader() ? prune(store, jobs.retention) : Promise.resolve()), jobs.log, 'pruning'),
    every(60_000, () => (store.elector.isLeader() ? compact() : Promise.resolve()), jobs.log, 'compacting the change log'),
    every(10_000, () => (store.elector.isLeader() ? dropOrphanDocuments(store) : Promise.resolve()), jobs.log, 'dropping documents of deleted collections'),
  ];
  return { stop: () => timers.forEach(clearInterval) };
}

/** Starts the reconcilers while this process leads, stops them when it no longer does. */
export function runWhileLeader(elector: Elector, manager: Manager, log: Logger): () => Promise<void> {
  let running: Promise<void> = Promise.resolve();
  const off = elector.onChange((leader) => {
    running = running.then(() => (leader ? manager.start() : manager.stop())).catch((err: unknown) => log.error({ err }, 'reconcilers failed to start'));
  });
  return async () => {
    off();
    await running;
    await manager.stop();
  };
}
