// SQL shared by the main connection and the delivery writer's connection.
export const RESOURCE_COLUMNS =
  'kind, namespace, name, uid, rv, create_rv, generation, created, labels, annotations, spec, status, endpoint_id, deleted_at';

export const SQL = {
  /**
   * A new run task, with positional parameters (cheaper to bind on the delivery path). It
   * replaces a deleted task's tombstone of the same name, as upsertResource does.
   */
  insertTask: `INSERT OR REPLACE INTO resources (${RESOURCE_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, NULL)`,
  upsertResource: `INSERT OR REPLACE INTO resources (${RESOURCE_COLUMNS}) VALUES
    (@kind, @namespace, @name, @uid, @rv, @create_rv, @generation, @created, @labels, @annotations, @spec, @status, @endpoint_id, @deleted_at)`,
  addLabel: 'INSERT INTO labels (kind, key, value, create_rv) VALUES (?, ?, ?, ?)',
  liveByKey: 'SELECT 1 FROM resources WHERE kind = ? AND namespace = ? AND name = ? AND deleted_at IS NULL',
  setMeta: 'INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value',
  getDedup: 'SELECT expires_at, seq, task FROM dedup WHERE owner_uid = ? AND event_id = ?',
  putDedup: 'INSERT OR REPLACE INTO dedup (owner_uid, event_id, expires_at, seq, task) VALUES (?, ?, ?, ?, ?)',
  addRecord: `INSERT INTO deliveries (ts, owner, namespace, event_id, outcome, reason, http_status, duration_ms, task)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  addCounts: `INSERT INTO receiver_counts (owner_uid, owner, accepted, duplicate, rejected) VALUES (?, ?, ?, ?, ?)
    ON CONFLICT (owner_uid) DO UPDATE SET owner = excluded.owner, accepted = accepted + excluded.accepted,
      duplicate = duplicate + excluded.duplicate, rejected = rejected + excluded.rejected`,
} as const;

/** The name of the n-th run task for one event: a replay after the window appends `-n`. */
export const nameForSeq = (name: string, seq: number): string => (seq > 1 ? `${name}-${seq}` : name);
