// The peer: the simplest durable receiver a Node team would write instead of orlojd, i.e. the
// baseline's checks plus one autocommitted SQLite insert per delivery before the 202. It gives
// orlojd's throughput a like-for-like reference (same durability, no batching), so it is left
// deliberately naive. Run as its own process: `node peer-server.js SECRET DATA_DIR`.
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { serveDeliveries } from './hmac-server.js';

const [secret = 'bench-secret', dataDir = '.'] = process.argv.slice(2);
const db = new Database(join(dataDir, 'peer.db'));
// orlojd's durability: a 202 follows a commit in the WAL, so only an OS crash can lose one.
db.pragma('journal_mode = WAL');
db.pragma('synchronous = NORMAL');
db.exec('CREATE TABLE IF NOT EXISTS deliveries (event_id TEXT PRIMARY KEY, received_at INTEGER NOT NULL, body BLOB NOT NULL)');
const insert = db.prepare('INSERT INTO deliveries (event_id, received_at, body) VALUES (?, ?, ?) ON CONFLICT (event_id) DO NOTHING');

serveDeliveries(secret, (eventId, body) => ({ duplicate: insert.run(eventId, Date.now(), body).changes === 0, task: 'peer' }));

// A clean close checkpoints the WAL, so the bench counts rows in a settled file.
process.on('SIGTERM', () => {
  db.close();
  process.exit(0);
});
