import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import type { WireDelivery, WireResponse, WireResult } from './delivery-wire.js';

interface Waiting {
  resolve(r: { rev: number; results: WireResult[] }): void;
  reject(e: Error): void;
}

/**
 * The main thread's handle on the delivery writer thread. A worker that dies takes its
 * pending batches with it (they were never acknowledged) and is replaced on next use.
 */
export class DeliveryWriter {
  private worker?: Worker;
  private nextId = 1;
  private readonly waiting = new Map<number, Waiting>();
  private closed = false;

  constructor(private readonly dataDir: string) {}

  private start(): Worker {
    const w = new Worker(new URL('./delivery-writer-worker.js', import.meta.url), { workerData: { path: join(this.dataDir, 'orloj.db') } });
    w.on('message', (m: WireResponse) => {
      const p = this.waiting.get(m.id);
      this.waiting.delete(m.id);
      if ('error' in m) p?.reject(new Error(m.error));
      else p?.resolve(m);
    });
    const fail = (why: string): void => {
      if (this.worker === w) this.worker = undefined;
      for (const p of this.waiting.values()) p.reject(new Error(why));
      this.waiting.clear();
    };
    w.on('error', (e) => fail(`delivery writer failed: ${e.message}`));
    w.on('exit', (code) => fail(`delivery writer exited with ${code}`));
    return w;
  }

  commit(baseRev: number, items: WireDelivery[]): Promise<{ rev: number; results: WireResult[] }> {
    if (this.closed) return Promise.reject(new Error('store is closed'));
    const w = (this.worker ??= this.start());
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      w.postMessage({ id, baseRev, items });
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    const w = this.worker;
    if (!w) return;
    const exited = new Promise((r) => w.once('exit', r));
    w.postMessage('stop');
    await exited;
  }
}
