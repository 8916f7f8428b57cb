import Database from 'better-sqlite3';
import { closeSync, mkdirSync, openSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';

export type DB = Database.Database;

/** Schema migrations, applied in order once each; append only. */
// A delivery writes an object, its labels, a claim, a record and a change-log row: each
// table keeps as few b-trees as its queries need (WITHOUT ROWID where the key is the
// lookup), because every extra index is another page written per commit.
const migrations: string[] = [
  `CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
   -- Rows are keyed by the revision that created them, so new objects append.
   CREATE TABLE resources (
     create_rv INTEGER PRIMARY KEY,
     kind TEXT NOT NULL, namespace TEXT NOT NULL, name TEXT NOT NULL,
     uid TEXT NOT NULL, rv INTEGER NOT NULL,
     generation INTEGER NOT NULL, created TEXT NOT NULL,
     labels TEXT, annotations TEXT, spec TEXT NOT NULL, status TEXT NOT NULL,
     endpoint_id TEXT, deleted_at INTEGER);
   CREATE UNIQUE INDEX resources_key ON resources (kind, namespace, name);
   CREATE INDEX resources_rv ON resources (rv);
   CREATE UNIQUE INDEX resources_endpoint ON resources (endpoint_id) WHERE endpoint_id IS NOT NULL AND deleted_at IS NULL;
   -- The label index points at create_rv, so a label shared by many objects appends too.
   CREATE TABLE labels (
     kind TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL, create_rv INTEGER NOT NULL,
     PRIMARY KEY (kind, key, value, create_rv)) WITHOUT ROWID;
   CREATE TABLE events (
     kind TEXT NOT NULL, namespace TEXT NOT NULL, name TEXT NOT NULL,
     type TEXT NOT NULL, reason TEXT NOT NULL, message TEXT NOT NULL,
     count INTEGER NOT NULL, first_ts TEXT NOT NULL, last_ts TEXT NOT NULL, seq INTEGER NOT NULL,
     PRIMARY KEY (kind, namespace, name, reason, message));
   CREATE INDEX events_seq ON events (seq);`,
  `CREATE TABLE dedup (
     owner_uid TEXT NOT NULL, event_id TEXT NOT NULL, expires_at INTEGER NOT NULL,
     seq INTEGER NOT NULL, task TEXT NOT NULL,
     PRIMARY KEY (owner_uid, event_id)) WITHOUT ROWID;
   CREATE INDEX dedup_expiry ON dedup (expires_at);
   CREATE TABLE deliveries (
     id INTEGER PRIMARY KEY, ts TEXT NOT NULL, owner TEXT NOT NULL, namespace TEXT NOT NULL,
     event_id TEXT, outcome TEXT NOT NULL, reason TEXT, http_status INTEGER,
     duration_ms REAL, task TEXT);
   CREATE INDEX deliveries_owner ON deliveries (owner, id);
   CREATE TABLE receiver_counts (
     owner_uid TEXT PRIMARY KEY, accepted INTEGER NOT NULL DEFAULT 0,
     duplicate INTEGER NOT NULL DEFAULT 0, rejected INTEGER NOT NULL DEFAULT 0) WITHOUT ROWID;`,
  // The receiver's key (Kind/namespace/name) beside its uid, so the writer can mirror counts into its status.
  `ALTER TABLE receiver_counts ADD COLUMN owner TEXT;`,
  // The change log becomes the only history: tombstones and the revision index go, and
  // claims, counters and records lose the shape of the first receiver kind. History from before the
  // log cannot be rebuilt, so it starts at the current state (older watches get 410).
  `CREATE TABLE changes (
     revision INTEGER PRIMARY KEY, kind TEXT NOT NULL, namespace TEXT NOT NULL, name TEXT NOT NULL,
     uid TEXT NOT NULL, type TEXT NOT NULL, origin TEXT NOT NULL, labels TEXT);
   INSERT INTO changes (revision, kind, namespace, name, uid, type, origin)
     SELECT rv, kind, namespace, name, uid, 'MODIFIED', 'api' FROM resources WHERE deleted_at IS NULL;
   DELETE FROM labels WHERE create_rv IN (SELECT create_rv FROM resources WHERE deleted_at IS NOT NULL);
   DELETE FROM resources WHERE deleted_at IS NOT NULL;
   DROP INDEX resources_rv;
   DROP INDEX resources_endpoint;
   ALTER TABLE resources DROP COLUMN deleted_at;
   CREATE UNIQUE INDEX resources_endpoint ON resources (endpoint_id) WHERE endpoint_id IS NOT NULL;
   INSERT OR REPLACE INTO meta (key, value) SELECT 'compacted_revision', value FROM meta WHERE key = 'revision';
   CREATE TABLE claims (
     scope TEXT NOT NULL, key TEXT NOT NULL, expires_at INTEGER NOT NULL, result TEXT NOT NULL,
     PRIMARY KEY (scope, key)) WITHOUT ROWID;
   CREATE INDEX claims_expiry ON claims (expires_at);
   INSERT INTO claims SELECT owner_uid, event_id, expires_at, task FROM dedup;
   DROP TABLE dedup;
   CREATE TABLE counters (
     scope TEXT NOT NULL, name TEXT NOT NULL, value INTEGER NOT NULL, PRIMARY KEY (scope, name)) WITHOUT ROWID;
   INSERT INTO counters SELECT owner_uid, 'accepted', accepted FROM receiver_counts;
   INSERT INTO counters SELECT owner_uid, 'duplicate', duplicate FROM receiver_counts;
   INSERT INTO counters SELECT owner_uid, 'rejected', rejected FROM receiver_counts;
   DROP TABLE receiver_counts;
   ALTER TABLE deliveries RENAME COLUMN task TO result;`,
  // Documents: one row each, keyed by its collection's uid. Raw bodies are kept as bytes.
  `CREATE TABLE documents (
     collection TEXT NOT NULL, id TEXT NOT NULL, version INTEGER NOT NULL, revision INTEGER NOT NULL,
     data TEXT, raw BLOB, content_type TEXT, origin TEXT NOT NULL, external_id TEXT, event_type TEXT,
     created_at TEXT NOT NULL, updated_at TEXT NOT NULL, deleted_at TEXT,
     PRIMARY KEY (collection, id)) WITHOUT ROWID;
   ALTER TABLE changes ADD COLUMN item TEXT;`,
  // Rejected records are bounded per owner: finding an owner's Nth newest refusal walks only
  // refusals, and accepted deliveries (the hot path) do not pay for the index.
  `CREATE INDEX deliveries_rejected ON deliveries (owner, id) WHERE outcome = 'rejected';`,
  // Outbound work: change-log rows keep the images their ops asked for, attempts record their
  // number and the start of the answer, and messages wait in a queue ordered by due time.
  `ALTER TABLE changes ADD COLUMN image_after TEXT;
   ALTER TABLE changes ADD COLUMN image_before TEXT;
   ALTER TABLE deliveries ADD COLUMN attempt INTEGER;
   ALTER TABLE deliveries ADD COLUMN response TEXT;
   CREATE TABLE queue (
     id INTEGER PRIMARY KEY, owner TEXT NOT NULL, owner_uid TEXT NOT NULL, message_id TEXT NOT NULL,
     body TEXT NOT NULL, meta TEXT NOT NULL, attempt INTEGER NOT NULL DEFAULT 0, due_at INTEGER);
   CREATE INDEX queue_due ON queue (due_at, id) WHERE due_at IS NOT NULL;`,
  // The engine reads the queue for some owners only, or for all but some (a backlogged
  // destination's): with the owner in the index, the owners it passes over cost no row read.
  `DROP INDEX queue_due;
   CREATE INDEX queue_due ON queue (due_at, id, owner_uid) WHERE due_at IS NOT NULL;`,
  // A message's id is never given to another: attempt records name it (redelivery finds it
  // by that), and the engine tells the messages it holds apart by it. Without AUTOINCREMENT,
  // SQLite reuses the highest id once its row is gone. Ids records already name stay taken.
  `CREATE TABLE queue_next (
     id INTEGER PRIMARY KEY AUTOINCREMENT, owner TEXT NOT NULL, owner_uid TEXT NOT NULL, message_id TEXT NOT NULL,
     body TEXT NOT NULL, meta TEXT NOT NULL, attempt INTEGER NOT NULL DEFAULT 0, due_at INTEGER);
   INSERT INTO queue_next SELECT id, owner, owner_uid, message_id, body, meta, attempt, due_at FROM queue;
   DROP TABLE queue;
   ALTER TABLE queue_next RENAME TO queue;
   CREATE INDEX queue_due ON queue (due_at, id, owner_uid) WHERE due_at IS NOT NULL;
   DELETE FROM sqlite_sequence WHERE name IN ('queue', 'queue_next');
   INSERT INTO sqlite_sequence (name, seq) SELECT 'queue', COALESCE(MAX(n), 0) FROM (
     SELECT MAX(id) AS n FROM queue UNION ALL SELECT MAX(CAST(result AS INTEGER)) FROM deliveries WHERE owner LIKE 'Trigger/%');`,
  // Brief claims (signatures under a timestamp) are appended, not indexed: the writer keeps
  // them in memory and reads this log back on start. Those already taken move here.
  `CREATE TABLE brief_claims (
     id INTEGER PRIMARY KEY, scope TEXT NOT NULL, key TEXT NOT NULL, expires_at INTEGER NOT NULL, result TEXT NOT NULL);
   INSERT INTO brief_claims (scope, key, expires_at, result)
     SELECT scope, key, expires_at, result FROM claims WHERE scope LIKE '%/sig' AND key GLOB '???????.*' ORDER BY expires_at;
   DELETE FROM claims WHERE scope LIKE '%/sig' AND key GLOB '???????.*';`,
  // Jobs, leased before they run (one holder at a time, one job per key); the fields a
  // document's last sync wrote. AUTOINCREMENT: records name their job by its id.
  `CREATE TABLE jobs (
     id INTEGER PRIMARY KEY AUTOINCREMENT, queue TEXT NOT NULL, key TEXT NOT NULL, owner TEXT NOT NULL, owner_uid TEXT NOT NULL,
     body TEXT NOT NULL, attempt INTEGER NOT NULL DEFAULT 0, due_at INTEGER, lease_until INTEGER, holder TEXT);
   CREATE INDEX jobs_due ON jobs (queue, due_at, id) WHERE due_at IS NOT NULL;
   CREATE INDEX jobs_key ON jobs (queue, key);
   ALTER TABLE documents ADD COLUMN synced_fields TEXT;`,
  // Test deliveries (signed by the server) say so in their records; every other record has NULL.
  `ALTER TABLE deliveries ADD COLUMN test INTEGER;`,
  // The objects an object belongs to (metadata.ownerReferences: a run task's webhook).
  `ALTER TABLE resources ADD COLUMN owners TEXT;`,
];

export function openDatabase(dataDir: string): DB {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const path = join(dataDir, 'orloj.db');
  // SQLite creates the -wal and -shm files with the mode of the database file, and would
  // create that one 0644: made here first, owner-only, they all are.
  closeSync(openSync(path, 'a', 0o600));
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  // WAL + NORMAL: a commit is in the WAL before we answer, so a killed process loses
  // nothing it acknowledged; only an OS crash could lose the last commits.
  db.pragma('synchronous = NORMAL');
  db.pragma('busy_timeout = 5000');
  db.pragma('foreign_keys = ON');
  // Small: every commit of the writer invalidates this connection's page cache anyway.
  db.pragma('cache_size = -8192');
  // Never on the event loop: the checkpointer thread copies, the writer restarts the WAL.
  db.pragma('wal_autocheckpoint = 0');
  migrate(db);
  // One process has the data dir (the lock): a lease left in it is a dead process's.
  db.exec('UPDATE jobs SET lease_until = NULL, holder = NULL WHERE holder IS NOT NULL');
  return db;
}

function migrate(db: DB): void {
  db.exec('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY)');
  const row = db.prepare('SELECT MAX(version) AS v FROM schema_migrations').get() as { v: number | null };
  const applied = row.v ?? 0;
  for (let i = applied; i < migrations.length; i++) {
    db.transaction(() => {
      db.exec(migrations[i]!);
      db.prepare('INSERT INTO schema_migrations (version) VALUES (?)').run(i + 1);
    })();
  }
}

/**
 * Starts the background checkpointer for the database in `dataDir`; call the result to
 * stop it. It passes every `busyMs` while the WAL grows and every `idleMs` otherwise.
 */
export function startCheckpointer(dataDir: string, busyMs = 5, idleMs = 200): () => Promise<void> {
  const worker = new Worker(new URL('./checkpoint-worker.js', import.meta.url), {
    workerData: { path: join(dataDir, 'orloj.db'), busyMs, idleMs },
  });
  worker.unref();
  return async () => {
    const exited = new Promise((r) => worker.once('exit', r));
    // Held from here on: otherwise the process may end before the thread closes its connection.
    worker.ref();
    worker.postMessage('stop');
    await exited;
  };
}
