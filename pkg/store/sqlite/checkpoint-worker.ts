// Runs in a worker thread: copies WAL pages back into the database file on its own
// connection, so neither the event loop nor the delivery writer spends its time (and
// its fsyncs) there. It runs again soon while it finds work, so that the little the
// writer's own checkpoint (which restarts the WAL) has left to copy and sync is small;
// once all is quiet, it truncates the WAL.
import Database from 'better-sqlite3';
import { parentPort, workerData } from 'node:worker_threads';

const { path, busyMs, idleMs } = workerData as { path: string; busyMs: number; idleMs: number };
const db = new Database(path);
// Only the truncating checkpoint waits (holding writers off meanwhile): never long.
db.pragma('busy_timeout = 100');

/**
 * How long the WAL must stay unchanged before it is truncated. It restarts from its start
 * after each complete checkpoint but keeps the size its busiest moment gave it: truncated
 * once things are quiet, a burst (a flood of deliveries) leaves no large file behind.
 */
const QUIET_MS = 1000;

let timer: NodeJS.Timeout | undefined;
/** WAL frames at the last pass: the WAL grew (or restarted) since when this differs. */
let lastLog = -1;
let quietSince = Date.now();
function pass(): void {
  let moved = false;
  try {
    const [r] = db.pragma('wal_checkpoint(PASSIVE)') as Array<{ log: number; checkpointed: number }>;
    moved = r !== undefined && r.log !== lastLog;
    lastLog = r?.log ?? -1;
    if (moved) quietSince = Date.now();
    else if (r && r.log > 0 && r.checkpointed === r.log && Date.now() - quietSince >= QUIET_MS) db.pragma('wal_checkpoint(TRUNCATE)');
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
