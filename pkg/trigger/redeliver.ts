// Redelivery of a trigger's dead letter: a new chain of attempts with the same webhook-id.
import { ApiError } from '../api/errors.js';
import { now } from '../api/meta.js';
import type { DeliveryRecord, Store } from '../store/types.js';

/** Requeues the message a record of it names; the new `queued` record's id. */
export async function redeliverMessage(store: Store, id: number, record: DeliveryRecord): Promise<{ id?: number; messageId: string }> {
  const message = record.result ? await store.data.message(Number(record.result)) : undefined;
  if (!message) throw new ApiError('Conflict', `delivery ${id}: its message is no longer queued (it was delivered, or its trigger deleted)`);
  if (message.dueAt !== null) throw new ApiError('Conflict', `delivery ${id}: its message is still being delivered (attempt ${message.attempt + 1} is due)`);
  const r = await store.commit({
    origin: 'api',
    ops: [
      { op: 'settle', id: message.id, attempt: 0, dueAt: Date.now() },
      { op: 'record', record: { ts: now(), owner: record.owner, eventId: message.messageId, outcome: 'queued', reason: `redelivery of ${id}`, result: String(message.id) } },
    ],
  });
  return { ...(!r.held ? { id: r.records![0] } : {}), messageId: message.messageId };
}
