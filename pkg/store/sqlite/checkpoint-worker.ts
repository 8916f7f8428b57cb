// Runs in a worker thread: copies WAL pages back into the database file on its own
// connection, so the writer on the main thread never stalls on a checkpoint.
import Database from 'better-sqlite3';
import { parentPort, workerData } from 'node:worker_threads';

const { path, intervalMs } = workerData as { path: string; intervalMs: number };
const db = new Database(path);
db.pragma('busy_timeout = 1000');
const timer = setInterval(() => {
  try {
    db.pragma('wal_checkpoint(PASSIVE)');
  } catch {
    // The writer keeps a safety-net autocheckpoint; a missed round only delays copying.
  }
}, intervalMs);
parentPort?.on('message', (m) => {
  if (m === 'stop') {
    clearInterval(timer);
    db.close();
    process.exit(0);
  }
});
