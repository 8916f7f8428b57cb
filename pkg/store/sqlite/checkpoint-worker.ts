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
/** WAL frames at the last pass: the WAL grew (or restarted) since when this differs. */
let lastLog = -1;
function pass(): void {
  let moved = false;
  try {
    const [r] = db.pragma('wal_checkpoint(PASSIVE)') as Array<{ log: number }>;
    moved = r !== undefined && r.log !== lastLog;
    lastLog = r?.log ?? -1;
  } catch {
    // A missed pass only delays copying; the writer's checkpoint is the safety net.
  }
  timer = setTimeout(pass, moved ? busyMs : idleMs);
}
pass();

parentPort?.on('message', (m) => {
  if (m === 'stop') {
    clearTimeout(timer);
    db.close();
    process.exit(0);
  }
});
