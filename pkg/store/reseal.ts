// Key rotation and the upgrade of plain data: objects the driver reports stale (a Secret
// in plain text from before encryption at rest, or sealed with a key that is no longer
// first) are written again, unchanged, through the one write path, and so sealed with the
// primary key; as `kubectl replace` over every Secret does after a Kubernetes key rotation.
import { ApiError } from '../api/errors.js';
import type { Store } from './types.js';

/** Rewrites every stale object, then purges the copies they leave behind (`purged`: if that worked). */
export async function resealStale(store: Store): Promise<{ sealed: number; purged: boolean }> {
  const stale = await store.control.stale();
  // One unit each: an object written meanwhile fails alone (Conflict), and that write sealed it.
  const results = await Promise.allSettled(
    stale.map((o) => store.commit({ origin: 'system', ops: [{ op: 'update', object: o, expect: o.metadata.resourceVersion }] })),
  );
  const failed = results.find((r) => r.status === 'rejected' && !(r.reason instanceof ApiError && ['Conflict', 'NotFound'].includes(r.reason.reason)));
  if (failed) throw (failed as PromiseRejectedResult).reason;
  const purged = !stale.length || (await store.maintain({ purge: true, chunk: 0 })) > 0;
  return { sealed: results.filter((r) => r.status === 'fulfilled').length, purged };
}
