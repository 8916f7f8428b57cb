import type { DeliveryStore, TaskDelivery, TaskDeliveryResult } from '../store/types.js';

interface Waiting {
  item: TaskDelivery;
  resolve(r: TaskDeliveryResult): void;
  reject(e: unknown): void;
}

const MAX_BATCH = 512;

/**
 * Group commit: deliveries that finish in the same event-loop turn share one
 * transaction. Each caller is answered only after that transaction commits.
 */
export class CommitBatcher {
  private waiting: Waiting[] = [];
  private scheduled = false;

  constructor(private readonly store: DeliveryStore) {}

  submit(item: TaskDelivery): Promise<TaskDeliveryResult> {
    return new Promise((resolve, reject) => {
      this.waiting.push({ item, resolve, reject });
      if (this.waiting.length >= MAX_BATCH) this.flush();
      else if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  private flush(): void {
    this.scheduled = false;
    const batch = this.waiting;
    if (!batch.length) return;
    this.waiting = [];
    this.store.commitTaskDeliveries(batch.map((w) => w.item)).then(
      (results) => batch.forEach((w, i) => w.resolve(results[i]!)),
      (err: unknown) => batch.forEach((w) => w.reject(err)),
    );
  }
}
