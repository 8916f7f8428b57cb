// Queue depths for the gauges, read from the store when /metrics is read (never per message),
// on the leader only: the queues are shared, and replicas showing the same rows would add up.
import type { Store } from '../store/types.js';
import type { Family } from './family.js';
import { OTHER, receiverLabels, type DepthReader, type Labelled } from './objects.js';
import type { Labels } from './tally.js';

type WithUid = Labelled & { readonly object: { readonly metadata: { readonly uid: string } } };

/** Each trigger's pending messages, 0 for one without any; labelled as its attempts are. */
export function triggerDepths(store: Store, triggers: () => Iterable<WithUid>, family: Family<Labelled>): DepthReader {
  return async () => {
    if (!store.elector.isLeader()) return [];
    const pending = await store.data.queueDepths();
    const out = new Sums();
    for (const t of triggers()) {
      const uid = t.object.metadata.uid;
      out.add(family.of(uid, t).labels, pending.get(uid) ?? 0);
    }
    return out.values();
  };
}

/**
 * Each inbound webhook's pending jobs of `queue`, labelled `webhook="namespace/name"` (or
 * `_other_`, as its deliveries are); 0 for one that had some since the start.
 */
export function jobDepths(store: Store, queue: string, receivers: Family<Labelled>): DepthReader {
  const seen = new Map<string, Labels>();
  return async () => {
    if (!store.elector.isLeader()) return [];
    const rows = await store.data.jobDepths(queue);
    for (const j of rows) {
      if (seen.has(j.ownerUid)) continue;
      const [kind = '', namespace = '', name = ''] = j.owner.split('/');
      const l = receivers.slot(j.ownerUid, receiverLabels(kind, namespace, name)).labels;
      seen.set(j.ownerUid, { webhook: l.name === OTHER ? OTHER : `${l.namespace}/${l.name}` });
    }
    const counts = new Map(rows.map((j) => [j.ownerUid, j.count]));
    const out = new Sums();
    for (const [uid, labels] of seen) {
      // A deleted webhook's jobs are dropped as they come up: no series for them meanwhile.
      if (receivers.isGone(uid)) seen.delete(uid);
      else out.add(labels, counts.get(uid) ?? 0);
    }
    return out.values();
  };
}

/** Gauge values summed by their labels (objects past the cap share `_other_`). */
class Sums {
  private readonly sums = new Map<string, [Labels, number]>();

  add(labels: Labels, n: number): void {
    const key = Object.values(labels).join('\n');
    const had = this.sums.get(key);
    if (had) had[1] += n;
    else this.sums.set(key, [labels, n]);
  }

  values(): Iterable<[Labels, number]> {
    return this.sums.values();
  }
}
