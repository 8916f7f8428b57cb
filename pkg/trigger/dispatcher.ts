// The dispatcher: reads committed changes in log order, matches them to triggers through the
// index, and queues one message per change and trigger, in the same unit that moves its
// durable position in the log. A crash re-reads from that position: nothing matched is lost,
// and nothing queued is queued twice.
import type { Logger } from 'pino';
import type { SourceSpec } from '../api/kinds/source.js';
import { matchesSelector } from '../api/selector.js';
import type { StoredResource } from '../api/types.js';
import { DOCUMENT_KIND, type ChangeEntry, type EnqueueOp, type Op, type QueuedMessage, type Store, type StoredDocument } from '../store/types.js';
import { nextTurn } from '../util/next-turn.js';
import { isActive, type IndexedTrigger, type TriggerIndex } from './index.js';
import { PRESSURE_SAMPLE_MS, type Pressure } from './pressure.js';
import { documentBody, EVENT_OF, eventTypeOf, externalWrite, globMatches, messageId, taskBody, type ChangedDocument, type MessageTarget } from './message.js';

export const DISPATCH_CURSOR = 'trigger-dispatch';
const PAGE = 256;
/**
 * Messages one page queues, about: with many triggers per change, a page of changes would
 * queue far more than the engine holds, rows it would only read back later.
 */
const PAGE_MESSAGES = 512;
/** While the loop is busy with writes: this many changes per pressure sample. */
const BUSY_PAGE = 4;
/** A position with nothing queued is written at most this often: re-reading such changes queues nothing. */
const IDLE_CURSOR_MS = 2000;

/** Where queued messages go: the delivery engine. */
export interface Intake {
  /** Takes the messages just queued (already committed). */
  take(messages: QueuedMessage[]): void;
  /** Every destination is busy with what it holds: reading on would only store rows to read again. */
  readonly saturated: boolean;
  /** Settles once a destination has room, or after `ms`. */
  room(ms: number): Promise<void>;
}

export interface DispatchDeps {
  store: Store;
  index: TriggerIndex;
  pressure: Pressure;
  intake: Intake;
  log: Logger;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

const parse = <T>(text: string | undefined): T | undefined => (text ? (JSON.parse(text) as T) : undefined);

/** Whether a write by this origin fires the trigger (loop prevention). */
function firesOn(t: IndexedTrigger, origin: string): boolean {
  if (origin === 'hook') return !t.spec.skip_hook_writes;
  if (origin === 'inbound_webhook') return !t.spec.skip_inbound_webhook_writes;
  // An external write's own write-back (the upstream's id) must not echo back to the upstream.
  if (origin === 'trigger') return !t.spec.target;
  return true;
}

export class Dispatcher {
  private cursor = 0;
  /** Messages per change, as the last page had them: sizes the next. */
  private fanOut = 1;
  private writtenAt = 0;
  private running?: Promise<void>;
  private again = false;
  private stopped = false;
  private off?: () => void;

  constructor(private readonly deps: DispatchDeps) {}

  async start(): Promise<void> {
    const { store } = this.deps;
    const stored = await store.data.cursor(DISPATCH_CURSOR);
    // First start: changes from before any trigger existed fire nothing.
    this.cursor = stored ?? Number(store.control.revision());
    if (stored === undefined) await store.commit({ origin: 'system', ops: [{ op: 'cursor', name: DISPATCH_CURSOR, value: this.cursor }] });
    this.off = store.control.onRevision(() => this.wakeSoon());
    this.wake();
  }

  /**
   * A commit is published before its callers are answered: reading the log right then would
   * make every write wait for the read. The read follows the answers instead.
   */
  private readonly wakeSoon = nextTurn(() => this.wake());

  async stop(): Promise<void> {
    this.stopped = true;
    this.off?.();
    await this.running;
  }

  private wake(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.drain()
      .catch((err: unknown) => this.deps.log.error({ err }, 'trigger dispatch failed; retrying'))
      .finally(() => {
        this.running = undefined;
        if (this.again) {
          this.again = false;
          setImmediate(() => this.wake());
        }
      });
  }

  private async drain(): Promise<void> {
    const { store, pressure, intake } = this.deps;
    while (!this.stopped) {
      // No trigger at all: nothing fires, so the log is not read (a query per write batch).
      // The index has seen every Trigger change up to the revision read before it is asked.
      const published = Number(store.control.revision());
      if (this.deps.index.empty) {
        await this.skipTo(published);
        break;
      }
      // The log keeps what the engine cannot take yet; the position stays until it can.
      if (intake.saturated) {
        await intake.room(PRESSURE_SAMPLE_MS);
        continue;
      }
      // Writes first: while they keep the loop busy, a small page per sample.
      if (pressure.busy) await sleep(PRESSURE_SAMPLE_MS);
      const page = pressure.busy ? BUSY_PAGE : Math.max(BUSY_PAGE, Math.min(PAGE, Math.floor(PAGE_MESSAGES / this.fanOut)));
      const changes = await store.control.changes(this.cursor, page);
      if (!changes.length) break;
      const ops: Op[] = [];
      for (const c of changes) for (const op of await this.messagesOf(c)) ops.push(op);
      const last = changes[changes.length - 1]!.revision;
      this.fanOut = Math.max(1, ops.length / changes.length);
      if (ops.length || Date.now() - this.writtenAt > IDLE_CURSOR_MS) {
        const r = await store.commit({ origin: 'system', ops: [...ops, { op: 'cursor', name: DISPATCH_CURSOR, value: last }] });
        this.writtenAt = Date.now();
        if (!r.held && r.queued) intake.take(r.queued.map((id, i) => ({ ...(ops[i] as EnqueueOp).message, id, attempt: 0 })));
      }
      this.cursor = last;
      if (changes.length < page) break;
    }
  }

  /** Moves past changes nothing can fire on, storing the position as an idle one is. */
  private async skipTo(rev: number): Promise<void> {
    if (rev <= this.cursor) return;
    this.cursor = rev;
    if (Date.now() - this.writtenAt <= IDLE_CURSOR_MS) return;
    this.writtenAt = Date.now();
    await this.deps.store.commit({ origin: 'system', ops: [{ op: 'cursor', name: DISPATCH_CURSOR, value: rev }] });
  }

  private async messagesOf(c: ChangeEntry): Promise<EnqueueOp[]> {
    if (c.key.kind === DOCUMENT_KIND) return this.documentMessages(c);
    if (c.key.kind === 'Task') return this.taskMessages(c);
    return [];
  }

  private async documentMessages(c: ChangeEntry): Promise<EnqueueOp[]> {
    const triggers = this.deps.index.forCollection(c.key.namespace, c.key.name).filter((t) => this.fires(t, c));
    if (!triggers.length) return [];
    const d = await this.changedDocument(c);
    if (!d) return [];
    const out: EnqueueOp[] = [];
    for (const t of triggers) {
      if (t.spec.filter?.event_types?.length && !globMatches(t.spec.filter.event_types, d.document.meta.eventType)) continue;
      const id = messageId(t.object.metadata.uid, c.revision);
      const type = EVENT_OF[c.type];
      if (t.spec.target) {
        const source = await this.deps.store.control.get({ kind: 'Source', namespace: t.object.metadata.namespace, name: t.spec.target.source });
        const spec = source?.spec as unknown as SourceSpec | undefined;
        if (!spec?.write) continue;
        const w = externalWrite(spec, c, type, d, c.uid);
        out.push(enqueue(t, id, w.body, w.target));
      } else out.push(enqueue(t, id, documentBody(id, type, c, d), { url: t.spec.url!, method: 'POST', eventType: eventTypeOf('document', type) }));
    }
    return out;
  }

  private async taskMessages(c: ChangeEntry): Promise<EnqueueOp[]> {
    const candidates = this.deps.index.forTasks(c.key.namespace).filter((t) => this.fires(t, c));
    if (!candidates.length) return [];
    const previous = parse<StoredResource>(c.before);
    const task = parse<StoredResource>(c.after) ?? previous ?? (await this.deps.store.control.get(c.key));
    if (!task) return [];
    const out: EnqueueOp[] = [];
    for (const t of candidates) {
      if (!matchesSelector(task.metadata.labels, t.selector)) continue;
      const id = messageId(t.object.metadata.uid, c.revision);
      const type = EVENT_OF[c.type];
      out.push(enqueue(t, id, taskBody(id, type, c, task, previous), { url: t.spec.url!, method: 'POST', eventType: eventTypeOf('task', type) }));
    }
    return out;
  }

  private fires(t: IndexedTrigger, c: ChangeEntry): boolean {
    return isActive(t, c.revision) && t.spec.events.includes(EVENT_OF[c.type]) && firesOn(t, c.origin);
  }

  /** From the row's images; without them (written before the trigger was known), as the document is now. */
  private async changedDocument(c: ChangeEntry): Promise<ChangedDocument | undefined> {
    const previous = parse<StoredDocument>(c.before);
    const document = parse<StoredDocument>(c.after) ?? (await this.deps.store.data.getDocument(c.uid, c.item!));
    return document ? { document, ...(previous ? { previous } : {}) } : undefined;
  }
}

function enqueue(t: IndexedTrigger, messageId: string, body: Buffer, target: MessageTarget): EnqueueOp {
  return {
    op: 'enqueue',
    message: { owner: t.owner, ownerUid: t.object.metadata.uid, messageId, body: body.toString('utf8'), meta: JSON.stringify(target), dueAt: Date.now() },
  };
}
