// Deliveries with nothing of their own to commit (refusals, replays answered from memory)
// are counted and recorded in batches: a flood of them costs a write per batch, not each.
// Refusals are counted exactly, but each receiver keeps only its newest refused records, so
// a flood of forgeries leaves nothing lasting and pushes no other receiver's records out.
import type { DeliveryRecord, Op, Store } from '../store/types.js';
import { nextTurn } from '../util/next-turn.js';
import type { Counted } from './status-mirror.js';

/** Records waiting beyond which notes are only counted: a flood must not grow memory. */
const RECORD_BUDGET = 20_000;
/** Notes that make a unit of their own at the end of the turn rather than wait for the tick. */
const CHUNK = 256;

export interface Note {
  uid: string;
  outcome: Counted;
  record: DeliveryRecord;
}

export type Noted = (n: Note) => void;

export class Notes {
  private notes: Note[] = [];
  /** Notes past the record budget, merged per receiver and outcome: counted, not recorded. */
  private merged = new Map<string, Note & { count: number }>();

  constructor(
    private readonly store: Store,
    /** Called for each note once committed (the status mirror shows it). */
    private readonly committed: Noted,
    /** Rejected records kept per receiver, newest first. */
    private readonly rejectedPerOwner: number,
  ) {}

  add(n: Note): void {
    if (this.notes.length < RECORD_BUDGET) {
      this.notes.push(n);
      if (this.notes.length === CHUNK) this.schedule();
      return;
    }
    const k = `${n.outcome}/${n.uid}`;
    const m = this.merged.get(k);
    if (m) (m.count++, (m.record = n.record));
    else this.merged.set(k, { ...n, count: 1 });
  }

  get waiting(): boolean {
    return this.notes.length > 0 || this.merged.size > 0;
  }

  private readonly schedule = nextTurn(() => void this.flush());

  /** Commits what waits; a failed commit puts it back for the next flush. */
  async flush(): Promise<void> {
    const notes = this.notes;
    const merged = [...this.merged.values()];
    if (!notes.length && !merged.length) return;
    this.notes = [];
    this.merged = new Map();
    const ops: Op[] = [];
    const refused = new Set<string>();
    for (const n of notes) {
      ops.push({ op: 'record', record: n.record }, { op: 'count', scope: n.uid, deltas: { [n.outcome]: 1 } });
      if (n.outcome === 'rejected') refused.add(n.record.owner);
    }
    for (const m of merged) ops.push({ op: 'count', scope: m.uid, deltas: { [m.outcome]: m.count } });
    for (const owner of refused) ops.push({ op: 'trim', owner, outcome: 'rejected', keep: this.rejectedPerOwner });
    try {
      await this.store.commit({ origin: 'delivery', ops });
    } catch {
      this.notes.unshift(...notes.slice(0, RECORD_BUDGET - this.notes.length));
      for (const m of merged) this.merged.set(`${m.outcome}/${m.uid}`, m);
      return;
    }
    for (const n of [...notes, ...merged]) this.committed(n);
  }
}
