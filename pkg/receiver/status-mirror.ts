// Receiver status mirrors the counters committed with the deliveries (acceptedCount,
// duplicateCount, rejectedCount) and the last delivery (lastDeliveryTime, lastEventID,
// lastError, and what the kind adds), less than a second behind: a busy receiver's
// deliveries share one status write instead of one each.
import { LRUCache } from 'lru-cache';
import type { ObjectKey, Status } from '../api/types.js';
import type { Objects } from '../store/objects.js';
import type { DataPlaneStore, DeliveryRecord, Op } from '../store/types.js';
import type { ReceiverKinds } from './kinds/index.js';

/** Which status field shows which counter. */
export const COUNTER_FIELDS = { accepted: 'acceptedCount', duplicate: 'duplicateCount', rejected: 'rejectedCount' } as const;
export type Counted = keyof typeof COUNTER_FIELDS;

/** A status change waits this long, so that a busy receiver's deliveries share one rewrite. */
const COALESCE_MS = 600;
/** Rewrites per unit: thousands of receivers due at once spread over the next flushes. */
const MAX_REWRITES = 256;

interface Pending {
  /** `Kind/namespace/name`: the receiver's own string, split only when written. */
  owner: string;
  last: Status;
  /** When its oldest unwritten change was committed. */
  since: number;
  /** When the delivery refused that `last.lastError` tells of (ISO time). */
  errorAt?: string;
}

/** Receivers that recovered lately, remembered long enough for refusals still on their way. */
const RECOVERIES = 10_000;

const keyOfOwner = (owner: string): ObjectKey => {
  const [kind, namespace, name] = owner.split('/');
  return { kind: kind!, namespace: namespace!, name: name! };
};

export class StatusMirror {
  /** Receivers whose status lags what was committed, by uid, oldest change first. */
  private readonly pending = new Map<string, Pending>();
  /** When each receiver's reconciler last made it Ready again (ISO time), by uid. */
  private readonly readySince = new LRUCache<string, string>({ max: RECOVERIES });
  private running?: Promise<void>;

  constructor(
    private readonly objects: Objects,
    private readonly data: DataPlaneStore,
    private readonly kinds: ReceiverKinds,
  ) {}

  /** A delivery of receiver `uid` was committed; `last` are the status fields it moves. */
  saw(uid: string, owner: string, last: Status): void {
    let p = this.pending.get(uid);
    if (p) Object.assign(p.last, last);
    else this.pending.set(uid, (p = { owner, last: { ...last }, since: Date.now() }));
    if (last.lastError !== undefined) p.errorAt = last.lastDeliveryTime as string;
  }

  /**
   * Receiver `uid` is about to be Ready again, and its reconciler clears lastError: a
   * refusal from before now (still to be written here) is history, not its lastError.
   */
  recovered(uid: string): void {
    this.readySince.set(uid, new Date().toISOString());
  }

  get lagging(): boolean {
    return this.pending.size > 0;
  }

  /** Writes the statuses that are due; with `all` (on shutdown), every lagging one, after any flush under way. */
  async flush(all = false): Promise<void> {
    if (this.running && !all) return;
    while (this.running) await this.running;
    this.running = this.write(all).finally(() => (this.running = undefined));
    return this.running;
  }

  private async write(all: boolean): Promise<void> {
    do {
      const due = this.takeDue(all);
      if (!due.length) return;
      try {
        const counters = await this.data.counters(due.map(([uid]) => uid));
        // Right before the commit: a recovery noted meanwhile is committed after this unit, or seen here.
        for (const [uid, p] of due) this.dropStaleError(uid, p);
        const ops: Op[] = due.map(([uid, p]) => ({ op: 'status', key: keyOfOwner(p.owner), uid, merge: true, status: { ...p.last, ...countsOf(counters.get(uid)) } }));
        await this.objects.store.commit({ origin: 'delivery', ops });
      } catch (e) {
        // Still due: the next flush tries again (newer deliveries' fields win).
        for (const [uid, p] of due) {
          const newer = this.pending.get(uid);
          this.pending.set(uid, newer ? { ...p, last: { ...p.last, ...newer.last }, errorAt: newer.errorAt ?? p.errorAt } : p);
        }
        throw e;
      }
    } while (all && this.pending.size);
  }

  private dropStaleError(uid: string, p: Pending): void {
    const since = this.readySince.get(uid);
    if (since !== undefined && p.errorAt !== undefined && p.errorAt <= since) delete p.last.lastError;
  }

  private takeDue(all: boolean): Array<[string, Pending]> {
    const cutoff = Date.now() - COALESCE_MS;
    const due: Array<[string, Pending]> = [];
    for (const [uid, p] of this.pending) {
      if (due.length >= MAX_REWRITES || (!all && p.since > cutoff)) break;
      due.push([uid, p]);
    }
    for (const [uid] of due) this.pending.delete(uid);
    return due;
  }

  /** After a restart: every receiver whose status shows other counts than were committed is due. */
  async catchUp(): Promise<void> {
    for (const kind of this.kinds.keys()) {
      let cont: string | undefined;
      do {
        const page = await this.objects.list(kind, { limit: 500, continue: cont });
        const counters = await this.data.counters(page.items.map((o) => o.metadata.uid));
        for (const o of page.items) {
          const want = countsOf(counters.get(o.metadata.uid));
          const shown = Object.entries(want).some(([f, v]) => o.status[f] !== v);
          if (counters.has(o.metadata.uid) && shown) this.pending.set(o.metadata.uid, { owner: `${o.kind}/${o.metadata.namespace}/${o.metadata.name}`, last: {}, since: 0 });
        }
        cont = page.continue;
      } while (cont);
    }
  }
}

/** The status fields a noted delivery (a refusal, a duplicate answered from memory) moves. */
export function lastOfNote(outcome: Counted, r: DeliveryRecord): Status {
  if (outcome === 'rejected') return { lastDeliveryTime: r.ts, lastError: r.reason };
  return { lastDeliveryTime: r.ts, lastEventID: r.eventId };
}

function countsOf(c: Record<string, number> | undefined): Status {
  const out: Status = {};
  for (const [counter, field] of Object.entries(COUNTER_FIELDS)) out[field] = c?.[counter] ?? 0;
  return out;
}
