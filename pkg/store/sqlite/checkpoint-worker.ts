// Runs in a worker thread: copies WAL pages back into the database file on its own
// connection, so neither the event loop nor the delivery writer spends its time (and
// its fsyncs) there. It runs again soon while it finds work, so that the little the
// writer's own checkpoint (which restarts the WAL) has left to copy and sync is small.
import Database from 'better-sqlite3';
import { parentPort, workerData } from 'node:worker_threads';

const { path, busyMs, idleMs } = workerData as { path: string; busyMs: number; idleMs: number };
const db = new Database(path);
db.pragma('busy_timeout = 1000');

let timer: NodeJS.Timeout | undefined;
function pass(): void {
  let copied = 0;
  try {
    const r = db.pragma('wal_checkpoint(PASSIVE)') as Array<{ log: number; checkpointed: number }>;
    copied = r[0]?.checkpointed ?? 0;
  } catch {
    // A missed pass only delays copying; the writer's checkpoint is the safety net.
  }
  timer = setTimeout(pass, copied > 0 ? busyMs : idleMs);
}
pass();

parentPort?.on('message', (m) => {
  if (m === 'stop') {
    clearTimeout(timer);
    db.close();
    process.exit(0);
  }
});
