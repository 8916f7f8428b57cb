import type { Store } from '../store/types.js';

const CHUNK = 2000;

/** Uids of every Collection that exists now. */
async function liveCollections(store: Store): Promise<Set<string>> {
  const uids = new Set<string>();
  let cont: string | undefined;
  do {
    const page = await store.control.list('Collection', { limit: 1000, continue: cont });
    for (const c of page.items) uids.add(c.metadata.uid);
    cont = page.continue;
  } while (cont);
  return uids;
}

/**
 * The documents of deleted collections (deleted with force), dropped in chunks between
 * requests. A collection created meanwhile has a new uid, so it can never lose documents here.
 */
export async function dropOrphanDocuments(store: Store): Promise<number> {
  const scopes = await store.data.documentScopes();
  if (!scopes.length) return 0;
  const live = await liveCollections(store);
  const orphans = scopes.filter((uid) => !live.has(uid));
  let n = 0;
  for (let i = 0; orphans.length && i < 100; i++) {
    const dropped = await store.maintain({ dropDocuments: orphans, chunk: CHUNK });
    n += dropped;
    if (dropped < CHUNK) break;
    await new Promise((r) => setImmediate(r));
  }
  return n;
}
