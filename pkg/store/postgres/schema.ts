// The PostgreSQL schema: versioned migrations, applied in order once each, append only.
// Replicas starting together take one advisory lock, so the first migrates and the others
// find the work done. JSON is kept as text, as written: jsonb would reorder keys, and an
// identical re-apply must compare equal byte for byte.
import type { Sql } from 'postgres';

/** Advisory lock keys (one number space per database). */
export const MIGRATION_LOCK = 0x6f726c01;
export const LEADER_LOCK = 0x6f726c02;

const migrations: string[] = [
  `CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
   -- One row: the store's revision. Every write transaction locks it first, so revisions
   -- (and record and message ids) become visible in commit order.
   CREATE TABLE revision (one BOOLEAN PRIMARY KEY DEFAULT true CHECK (one), rev BIGINT NOT NULL);
   INSERT INTO revision (rev) VALUES (0);
   CREATE TABLE resources (
     create_rv BIGINT PRIMARY KEY,
     kind TEXT NOT NULL, namespace TEXT COLLATE "C" NOT NULL, name TEXT COLLATE "C" NOT NULL,
     uid TEXT NOT NULL, rv BIGINT NOT NULL, generation BIGINT NOT NULL, created TEXT NOT NULL,
     labels TEXT, annotations TEXT, spec TEXT NOT NULL, status TEXT NOT NULL, endpoint_id TEXT,
     UNIQUE (kind, namespace, name));
   CREATE UNIQUE INDEX resources_endpoint ON resources (endpoint_id) WHERE endpoint_id IS NOT NULL;
   -- Lists page in byte order, as in every driver, whatever the database's collation.
   -- Label selectors test containment; the path-ops index is the smallest that serves it.
   CREATE INDEX resources_labels ON resources USING gin ((labels::jsonb) jsonb_path_ops) WHERE labels IS NOT NULL;
   CREATE TABLE changes (
     revision BIGINT PRIMARY KEY, kind TEXT NOT NULL, namespace TEXT NOT NULL, name TEXT NOT NULL,
     uid TEXT NOT NULL, type TEXT NOT NULL, origin TEXT NOT NULL, labels TEXT, item TEXT,
     image_after TEXT, image_before TEXT);
   CREATE TABLE events (
     kind TEXT NOT NULL, namespace TEXT NOT NULL, name TEXT NOT NULL,
     type TEXT NOT NULL, reason TEXT NOT NULL, message TEXT NOT NULL,
     count BIGINT NOT NULL, first_ts TEXT NOT NULL, last_ts TEXT NOT NULL, seq BIGSERIAL,
     PRIMARY KEY (kind, namespace, name, reason, message));
   CREATE INDEX events_seq ON events (seq);
   -- Dedup across replicas is this primary key: two copies of an event make one claim.
   CREATE TABLE claims (
     scope TEXT NOT NULL, key TEXT NOT NULL, expires_at BIGINT NOT NULL, result TEXT NOT NULL,
     PRIMARY KEY (scope, key));
   CREATE INDEX claims_expiry ON claims (expires_at);
   CREATE TABLE counters (scope TEXT NOT NULL, name TEXT NOT NULL, value BIGINT NOT NULL, PRIMARY KEY (scope, name));
   CREATE TABLE deliveries (
     id BIGSERIAL PRIMARY KEY, ts TEXT NOT NULL, owner TEXT NOT NULL, namespace TEXT NOT NULL,
     event_id TEXT, outcome TEXT NOT NULL, reason TEXT, http_status INTEGER,
     duration_ms DOUBLE PRECISION, result TEXT, attempt INTEGER, response TEXT);
   CREATE INDEX deliveries_owner ON deliveries (owner, id);
   CREATE INDEX deliveries_rejected ON deliveries (owner, id) WHERE outcome = 'rejected';
   CREATE TABLE documents (
     collection TEXT NOT NULL, id TEXT COLLATE "C" NOT NULL, version BIGINT NOT NULL, revision BIGINT NOT NULL,
     data TEXT, raw BYTEA, content_type TEXT, origin TEXT NOT NULL, external_id TEXT, event_type TEXT,
     created_at TEXT NOT NULL, updated_at TEXT NOT NULL, deleted_at TEXT,
     PRIMARY KEY (collection, id));
   -- A sequence never gives an id twice: attempt records name their message by it.
   CREATE TABLE queue (
     id BIGSERIAL PRIMARY KEY, owner TEXT NOT NULL, owner_uid TEXT NOT NULL, message_id TEXT NOT NULL,
     body TEXT NOT NULL, meta TEXT NOT NULL, attempt INTEGER NOT NULL DEFAULT 0, due_at BIGINT);
   CREATE INDEX queue_due ON queue (due_at, id, owner_uid) WHERE due_at IS NOT NULL;`,
  // Jobs any replica may run, leased to one at a time; the fields a document's last sync wrote.
  `CREATE TABLE jobs (
     id BIGSERIAL PRIMARY KEY, queue TEXT NOT NULL, key TEXT COLLATE "C" NOT NULL, owner TEXT NOT NULL, owner_uid TEXT NOT NULL,
     body TEXT NOT NULL, attempt INTEGER NOT NULL DEFAULT 0, due_at BIGINT, lease_until BIGINT, holder TEXT);
   CREATE INDEX jobs_due ON jobs (queue, due_at, id) WHERE due_at IS NOT NULL;
   CREATE INDEX jobs_key ON jobs (queue, key);
   ALTER TABLE documents ADD COLUMN synced_fields TEXT;`,
  // Test deliveries (signed by the server) say so in their records; every other record has NULL.
  `ALTER TABLE deliveries ADD COLUMN test BOOLEAN;`,
  // The objects an object belongs to (metadata.ownerReferences: a run task's webhook).
  `ALTER TABLE resources ADD COLUMN owners TEXT;`,
];

export async function migrate(sql: Sql): Promise<void> {
  await sql.begin(async (tx) => {
    await tx`SELECT pg_advisory_xact_lock(${MIGRATION_LOCK})`;
    await tx`CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY)`;
    const [row] = await tx<Array<{ v: number | null }>>`SELECT MAX(version) AS v FROM schema_migrations`;
    for (let i = row?.v ?? 0; i < migrations.length; i++) {
      await tx.unsafe(migrations[i]!);
      await tx`INSERT INTO schema_migrations (version) VALUES (${i + 1})`;
    }
  });
}
