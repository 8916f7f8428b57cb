// PUT ?apply=true: `orlojctl apply`'s three-way merge, done here in one request so that the
// read, the merge and the write are one step for the client and nothing interleaves unseen:
// the write names the resourceVersion it merged against, and a conflict merges again.
import { ApiError } from '../api/errors.js';
import type { KindDef } from '../api/kind.js';
import { appliedConfiguration, threeWayApply, type AppliedConfiguration } from '../api/three-way.js';
import type { Resource, Spec, StoredResource } from '../api/types.js';
import { snakeCaseKeys, validateResource } from '../api/validate.js';
import { draft, type ApplyOutcome, type Objects, type WriteOptions } from '../store/objects.js';

/**
 * Reads and merges at most this many times, then answers the conflict. Not only other
 * clients move the resourceVersion: a reconciler's status write after each change does too.
 */
const ATTEMPTS = 10;

export interface Written {
  outcome: ApplyOutcome;
  object: StoredResource;
}

/** The route's write of one whole object: its checks, admission and the store's apply. */
export type Write = (obj: Resource, opts: WriteOptions) => Promise<Written>;

/**
 * The spec as the request sent it: canonical spellings and forms (snake_case, a Secret's
 * stringData folded into data), but without the schema's defaults. Like kubectl's record, it
 * holds only what the file says, so a field the file leaves out stays as another client
 * set it (an operator's `suspend: true`), and the write fills in the defaults of the rest.
 */
export function sentSpec(def: KindDef, body: unknown): Spec {
  const raw = body !== null && typeof body === 'object' && 'spec' in body ? body.spec : undefined;
  const spec = snakeCaseKeys(def.specSchema, structuredClone(raw ?? {}), 'spec', []) as Spec; // its problems were refused already
  return def.normalizeSpec ? def.normalizeSpec(spec) : spec;
}

/**
 * What the annotation keeps of what was sent. A kind with values no reader may see (a
 * Secret's) keeps them as its redaction shows them: the keys only, which is all the merge
 * needs to know which ones a later apply drops.
 */
export function recordOf(def: KindDef, sent: Resource): AppliedConfiguration {
  const applied = appliedConfiguration(sent);
  if (!def.redact) return applied;
  return { ...applied, spec: def.redact(draft(sent, sent.metadata.namespace ?? '')).spec };
}

const retriable = (e: unknown): boolean => e instanceof ApiError && (e.reason === 'Conflict' || e.reason === 'AlreadyExists');

/**
 * Applies `desired` (validated) over the live object, or creates it; `body` is the request
 * body it was validated from. `live` in the answer is the object the merge read (a dry run
 * marks the redacted values it changes against it). A resourceVersion in `desired` pins the
 * write to it: then a conflict is the caller's.
 */
export async function applyThreeWay(store: Objects, def: KindDef, desired: Resource, body: unknown, write: Write): Promise<Written & { live?: StoredResource }> {
  const { namespace = '', name } = desired.metadata;
  const pinned = desired.metadata.resourceVersion;
  const sent: Resource = { ...desired, spec: sentSpec(def, body) };
  const record = recordOf(def, sent);
  for (let attempt = 1; ; attempt++) {
    const live = await store.get(def.kind, namespace, name);
    // The merge result is validated as any write is, which also fills in the defaults.
    const next = live ? validateResource(threeWayApply(sent, live, record), namespace).obj : threeWayApply(desired, undefined, record);
    const expect = pinned ?? live?.metadata.resourceVersion;
    if (expect) next.metadata.resourceVersion = expect;
    try {
      return { ...(await write(next, { createOnly: !live })), live };
    } catch (e) {
      if (pinned || attempt >= ATTEMPTS || !retriable(e)) throw e;
    }
  }
}
