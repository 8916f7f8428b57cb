// The API side of triggers: redeliver a message (a new chain of attempts, same webhook-id) and
// resume a trigger its destination stopped with 410 Gone.
import type Router from '@koa/router';
import { ApiError, notFound } from '../api/errors.js';
import { DEFAULT_NAMESPACE } from '../api/meta.js';
import { requireRole } from '../apiserver/auth.js';
import { intParam } from '../apiserver/input.js';
import type { RequestState, ServerDeps } from '../apiserver/context.js';
import { patchStatus } from '../controller/status.js';

export function triggerRoutes(router: Router, deps: ServerDeps): void {
  const store = deps.store.store;

  router.post('/v1/deliveries/:id/redeliver', async (ctx) => {
    requireRole((ctx.state as RequestState).role, 'writer');
    const id = intParam(ctx.params.id, 'id', undefined, Number.MAX_SAFE_INTEGER)!;
    const record = await store.data.getDelivery(id);
    if (!record) throw new ApiError('NotFound', `delivery ${id} not found`);
    if (!record.owner.startsWith('Trigger/')) throw new ApiError('BadRequest', `delivery ${id} is an inbound delivery: only a trigger's attempts can be redelivered`);
    const message = record.result ? await store.data.message(Number(record.result)) : undefined;
    if (!message) throw new ApiError('Conflict', `delivery ${id}: its message is no longer queued (it was delivered, or its trigger deleted)`);
    if (message.dueAt !== null) throw new ApiError('Conflict', `delivery ${id}: its message is still being delivered (attempt ${message.attempt + 1} is due)`);
    const r = await store.commit({
      origin: 'api',
      ops: [
        { op: 'settle', id: message.id, attempt: 0, dueAt: Date.now() },
        { op: 'record', record: { ts: new Date().toISOString(), owner: record.owner, eventId: message.messageId, outcome: 'queued', reason: `redelivery of ${id}`, result: String(message.id) } },
      ],
    });
    ctx.status = 202;
    ctx.body = { apiVersion: 'orloj.dev/v1', kind: 'Redelivery', id: !r.held ? r.records![0] : undefined, messageId: message.messageId, redelivers: id };
  });

  router.post('/v1/triggers/:name/resume', async (ctx) => {
    requireRole((ctx.state as RequestState).role, 'writer');
    const ns = (ctx.query.namespace as string | undefined) || DEFAULT_NAMESPACE;
    const key = { kind: 'Trigger', namespace: ns, name: ctx.params.name! };
    const updated = await patchStatus(deps.store, key, (t) => {
      if (!t.status.destinationGone) return undefined;
      const { destinationGone: _, ...rest } = t.status;
      return rest;
    });
    if (!updated) throw notFound(key.kind, key.name, ns);
    ctx.body = updated;
  });
}
