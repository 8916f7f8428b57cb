import type { DeliveryStore, TaskDelivery, TaskDeliveryResult } from '../store/types.js';

interface Waiting {
  item: TaskDelivery;
  resolve(r: TaskDeliveryResult): void;
  reject(e: unknown): void;
}

const MAX_BATCH = 512;

/**
 * Group commit, pipelined: one batch is committing (on the writer thread) while the next
 * one gathers whatever arrives meanwhile, so batch size follows the load by itself. Each
 * caller is answered only after its batch has committed.
 */
export class CommitBatcher {
  private waiting: Waiting[] = [];
  private scheduled = false;
  private committing = false;

  constructor(private readonly store: DeliveryStore) {}

  submit(item: TaskDelivery): Promise<TaskDeliveryResult> {
    return new Promise((resolve, reject) => {
      this.waiting.push({ item, resolve, reject });
      if (!this.committing && !this.scheduled) {
        // Idle: gather what arrives in this turn of the event loop, then go.
        this.scheduled = true;
        setImmediate(() => {
          this.scheduled = false;
          this.flush();
        });
      }
    });
  }

  private flush(): void {
    if (this.committing || !this.waiting.length) return;
    const batch = this.waiting.splice(0, MAX_BATCH);
    this.committing = true;
    this.store.commitTaskDeliveries(batch.map((w) => w.item)).then(
      (results) => batch.forEach((w, i) => w.resolve(results[i]!)),
      (err: unknown) => batch.forEach((w) => w.reject(err)),
    ).finally(() => {
      this.committing = false;
      this.flush();
    });
  }
}
