// What a trigger's status says of its deliveries: counts (from the store's counters, exact)
// and the last delivery time and error, written at most once per flush for each trigger.
import type { Status } from '../api/types.js';
import type { Store } from '../store/types.js';
import type { IndexedTrigger } from './index.js';

const FLUSH_MS = 1000;

interface Pending {
  namespace: string;
  name: string;
  last: Status;
}

export class TriggerStatus {
  private pending = new Map<string, Pending>();
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly store: Store) {
    this.timer = setInterval(() => void this.flush().catch(() => undefined), FLUSH_MS);
    this.timer.unref();
  }

  saw(t: IndexedTrigger, last: Status): void {
    const uid = t.object.metadata.uid;
    const p = this.pending.get(uid);
    if (p) Object.assign(p.last, last);
    else this.pending.set(uid, { namespace: t.object.metadata.namespace, name: t.object.metadata.name, last: { ...last } });
  }

  async flush(): Promise<void> {
    if (!this.pending.size) return;
    const pending = this.pending;
    this.pending = new Map();
    const counters = await this.store.data.counters([...pending.keys()]);
    for (const [uid, p] of pending) {
      const c = counters.get(uid) ?? {};
      const status: Status = { ...p.last, deliveredCount: c.delivered ?? 0, failedAttempts: c.failedAttempts ?? 0, deadLetterCount: c.deadLetter ?? 0 };
      // A cleared error is removed (a merge patch's null), not kept as an empty string.
      if (status.lastError === '') status.lastError = null as unknown as string;
      // As the receivers' counters are: the delivery path's, which no reconcile needs to see.
      await this.store.commit({ origin: 'delivery', ops: [{ op: 'status', key: { kind: 'Trigger', namespace: p.namespace, name: p.name }, uid, merge: true, status }] });
    }
  }

  close(): void {
    clearInterval(this.timer);
  }
}
