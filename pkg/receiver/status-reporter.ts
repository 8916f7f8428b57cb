import type { Logger } from 'pino';
import type { ObjectKey, Status, StoredResource } from '../api/types.js';
import type { BufferedCounts, DeliveryRecord, DeliveryStore, ReceiverCounts, ResourceStore, StatusPatch } from '../store/types.js';

interface Pending {
  key: ObjectKey;
  uid: string;
  lastDeliveryTime?: string;
  lastEventID?: string;
  lastTriggeredTask?: string;
  lastError?: string;
}

/** A buffer this full is written at once rather than at the next tick. */
const FLUSH_EARLY_AT = 5_000;
/** Past this, records are only counted (a flood must not grow memory without bound). */
const MAX_BUFFERED_RECORDS = 50_000;

/**
 * Brings receiver status up to date every 750 ms, so counters lag by less than a second
 * while 10,000 busy webhooks cost one status transaction per tick, not one per delivery.
 * Accepted counts are committed with the deliveries themselves; replays and rejections
 * are counted in memory and written in one batch per flush, so neither a replay storm
 * nor a flood of bad signatures costs a write each.
 */
export class StatusReporter {
  private pending = new Map<string, Pending>();
  private records: DeliveryRecord[] = [];
  private counts = new Map<string, BufferedCounts>();
  private droppedRecords = 0;
  private timer?: NodeJS.Timeout;
  private flushing: Promise<void> = Promise.resolve();

  constructor(
    private readonly store: ResourceStore,
    private readonly deliveries: DeliveryStore,
    private readonly log: Logger,
    private readonly intervalMs = 750,
  ) {}

  start(): void {
    this.timer = setInterval(() => void this.flush(), this.intervalMs);
    this.timer.unref();
  }

  private entry(key: ObjectKey, uid: string): Pending {
    let p = this.pending.get(uid);
    if (!p) this.pending.set(uid, (p = { key, uid }));
    return p;
  }

  accepted(key: ObjectKey, uid: string, eventId: string, task: string, duplicate: boolean, at: string): void {
    const p = this.entry(key, uid);
    p.lastDeliveryTime = at;
    p.lastEventID = eventId;
    if (!duplicate) p.lastTriggeredTask = task;
  }

  /** A replay answered from the dedup table: counted and recorded in the next flush. */
  duplicate(key: ObjectKey, uid: string, record: DeliveryRecord): void {
    this.accepted(key, uid, record.eventId ?? '', record.task ?? '', true, record.ts);
    this.buffer(uid, record, 'duplicate');
  }

  rejected(key: ObjectKey, uid: string, record: DeliveryRecord): void {
    const p = this.entry(key, uid);
    p.lastDeliveryTime = record.ts;
    p.lastError = record.reason;
    this.buffer(uid, record, 'rejected');
  }

  private buffer(uid: string, record: DeliveryRecord, what: keyof BufferedCounts): void {
    let c = this.counts.get(uid);
    if (!c) this.counts.set(uid, (c = { duplicate: 0, rejected: 0 }));
    c[what]++;
    if (this.records.length < MAX_BUFFERED_RECORDS) this.records.push(record);
    else this.droppedRecords++;
    if (this.records.length === FLUSH_EARLY_AT) void this.flush();
  }

  /** After a restart: refresh every receiver whose status lags its durable counts. */
  async catchUp(): Promise<void> {
    const { items } = await this.store.list('TaskWebhook');
    for (const w of items) {
      const c = await this.deliveries.counts(w.metadata.uid);
      const s = w.status;
      if (s.acceptedCount !== c.accepted || s.duplicateCount !== c.duplicate || s.rejectedCount !== c.rejected) {
        this.entry({ kind: w.kind, namespace: w.metadata.namespace, name: w.metadata.name }, w.metadata.uid);
      }
    }
  }

  flush(): Promise<void> {
    this.flushing = this.flushing.then(() => this.flushOnce()).catch((err: unknown) => this.log.warn({ err }, 'status flush failed'));
    return this.flushing;
  }

  private async flushOnce(): Promise<void> {
    const pending = this.pending;
    const records = this.records;
    const counts = this.counts;
    this.pending = new Map();
    this.records = [];
    this.counts = new Map();
    if (this.droppedRecords) {
      this.log.warn({ dropped: this.droppedRecords }, 'delivery flood: some records were counted but not kept');
      this.droppedRecords = 0;
    }
    await this.deliveries.recordBuffered(records, counts);
    // One transaction for every receiver that moved: thousands of active webhooks cost one commit.
    const patches: StatusPatch[] = [];
    for (const p of pending.values()) {
      const c = await this.deliveries.counts(p.uid);
      patches.push({ key: p.key, mutate: (cur) => withCounts(cur, p, c) });
    }
    await this.store.patchStatuses(patches);
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.flush();
  }
}

const REPORTED = ['lastDeliveryTime', 'lastEventID', 'lastTriggeredTask', 'lastError'] as const;

/** The status with fresh counters, or undefined when nothing it shows would change. */
function withCounts(cur: StoredResource, p: Pending, c: ReceiverCounts): Status | undefined {
  if (cur.metadata.uid !== p.uid) return undefined; // deleted and re-created meanwhile
  const s: Status = { ...cur.status, acceptedCount: c.accepted, duplicateCount: c.duplicate, rejectedCount: c.rejected };
  for (const f of REPORTED) if (p[f]) s[f] = p[f];
  const old = cur.status;
  const same = old.acceptedCount === s.acceptedCount && old.duplicateCount === s.duplicateCount && old.rejectedCount === s.rejectedCount
    && REPORTED.every((f) => old[f] === s[f]);
  return same ? undefined : s;
}
