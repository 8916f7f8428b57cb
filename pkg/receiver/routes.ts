import type Router from '@koa/router';
import { endpointPath, newEndpointId } from '../api/endpoint.js';
import { ApiError, notFound } from '../api/errors.js';
import { DEFAULT_NAMESPACE } from '../api/meta.js';
import { kindByPlural, lookupKind } from '../api/registry.js';
import { requireRole } from '../apiserver/auth.js';
import { intParam } from '../apiserver/input.js';
import type { RequestState, ServerDeps } from '../apiserver/context.js';
import { patchStatus } from '../controller/status.js';
import { redeliverJob } from '../hydration/redeliver.js';
import type { DataPlaneStore, DeliveryRecord, Store } from '../store/types.js';
import { redeliverMessage } from '../trigger/redeliver.js';
import type { LocalDeliveries } from './handler.js';
import type { ReceiverKinds } from './kinds/index.js';
import { testDelivery } from './test-delivery.js';

const OUTCOMES = new Set(['accepted', 'duplicate', 'rejected', 'queued', 'delivering', 'delivered', 'retry_scheduled', 'failed', 'dead_letter']);

/** Who can redeliver a record's work, by its owner's kind: a trigger's message, or an InboundWebhook's hydration job. */
const REDELIVER: Record<string, (store: Store, id: number, record: DeliveryRecord) => Promise<{ id?: number } & Record<string, unknown>>> = {
  Trigger: redeliverMessage,
  InboundWebhook: redeliverJob,
};

/** `task-webhook/NAME` (any kind alias) or `TaskWebhook/ns/NAME` → the stored owner string. */
export function parseOwner(text: string, namespace: string): string {
  const parts = text.split('/');
  const def = lookupKind(parts[0] ?? '');
  if (!def || parts.length < 2 || parts.length > 3) throw new ApiError('BadRequest', `owner must be KIND/NAME or KIND/NAMESPACE/NAME, got "${text}"`);
  return parts.length === 3 ? `${def.kind}/${parts[1]}/${parts[2]}` : `${def.kind}/${namespace}/${parts[1]}`;
}

/** `after=ID`: the id of a record already seen, to read on from (0: from the first). */
function afterParam(value: string | undefined): number | undefined {
  if (value === undefined || value === '') return undefined;
  const n = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(n)) throw new ApiError('BadRequest', `after must be a record id (a whole number from 0), got "${value}"`);
  return n;
}

/** Delivery records, endpoint rotation and test deliveries: the API side of the receiver. */
export function receiverRoutes(deliveries: DataPlaneStore, receiverKinds: ReceiverKinds, local: LocalDeliveries) {
  return (router: Router, deps: ServerDeps): void => {
    router.get('/v1/deliveries', async (ctx) => {
      const q = ctx.query as Record<string, string | undefined>;
      const namespace = q.namespace || DEFAULT_NAMESPACE;
      if (q.outcome && !OUTCOMES.has(q.outcome)) throw new ApiError('BadRequest', `unknown outcome "${q.outcome}"`);
      const limit = intParam(q.limit, 'limit', 100, 1000)!;
      const items = await deliveries.listDeliveries({
        owner: q.owner ? parseOwner(q.owner, namespace) : undefined,
        namespace: q.allNamespaces === 'true' ? undefined : namespace,
        outcome: q.outcome,
        limit,
        before: intParam(q.before, 'before', undefined, Number.MAX_SAFE_INTEGER),
        // Oldest first from there: how `get deliveries -w` follows new records.
        after: afterParam(q.after),
      });
      // `result`: what the delivery created or found; a TaskWebhook's also as `task`, as its records have always named it.
      const shown = items.map((r) => (r.result !== undefined && r.owner.startsWith('TaskWebhook/') ? { ...r, task: r.result } : r));
      ctx.body = { apiVersion: 'orloj.dev/v1', kind: 'DeliveryList', items: shown };
    });

    // One record, with the others of its event at its owner: the delivery, its duplicates, its attempts.
    router.get('/v1/deliveries/:id', async (ctx) => {
      const id = intParam(ctx.params.id, 'id', undefined, Number.MAX_SAFE_INTEGER)!;
      const record = await deliveries.getDelivery(id);
      if (!record) throw new ApiError('NotFound', `delivery ${id} not found`);
      const chain = record.eventId ? await deliveries.listDeliveries({ owner: record.owner, eventId: record.eventId, limit: 100 }) : [record];
      ctx.body = { apiVersion: 'orloj.dev/v1', kind: 'Delivery', ...record, chain: chain.reverse() };
    });

    router.post('/v1/deliveries/:id/redeliver', async (ctx) => {
      requireRole((ctx.state as RequestState).role, 'writer');
      const id = intParam(ctx.params.id, 'id', undefined, Number.MAX_SAFE_INTEGER)!;
      const record = await deliveries.getDelivery(id);
      if (!record) throw new ApiError('NotFound', `delivery ${id} not found`);
      const redeliver = REDELIVER[record.owner.split('/')[0]!];
      if (!redeliver || (record.owner.startsWith('InboundWebhook/') && !/^\d+$/.test(record.result ?? ''))) {
        throw new ApiError('BadRequest', `delivery ${id} is an inbound delivery: only a trigger's attempts and hydration jobs can be redelivered`);
      }
      const r = await redeliver(deps.store.store, id, record);
      ctx.status = 202;
      ctx.body = { apiVersion: 'orloj.dev/v1', kind: 'Redelivery', ...r, redelivers: id };
    });

    // Every receiver kind: a new endpoint ID; the old one answers 404 from then on.
    router.post('/v1/:plural/:name/rotate-endpoint', async (ctx) => {
      requireRole((ctx.state as RequestState).role, 'writer');
      const def = kindByPlural(ctx.params.plural ?? '');
      if (!def || !receiverKinds.has(def.kind)) throw new ApiError('NotFound', `${ctx.params.plural} do not receive deliveries`);
      const ns = (ctx.query.namespace as string | undefined) || DEFAULT_NAMESPACE;
      const key = { kind: def.kind, namespace: ns, name: ctx.params.name! };
      const id = newEndpointId();
      const updated = await patchStatus(deps.store, key, (w) => ({ ...w.status, endpointID: id, endpointPath: endpointPath(id) }));
      if (!updated) throw notFound(key.kind, key.name, ns);
      await deps.store.recordEvent(key, 'Normal', 'EndpointRotated', 'a new endpoint was issued; the previous one no longer answers');
      ctx.body = updated;
    });

    // Every receiver kind: the posted body, signed by the server with the receiver's own key and scheme, delivered as a test.
    router.post('/v1/:plural/:name/test-delivery', async (ctx) => {
      requireRole((ctx.state as RequestState).role, 'writer');
      const query = ctx.query as Record<string, string | undefined>;
      ctx.body = await testDelivery({ store: deps.store, receiverKinds, local }, {
        plural: ctx.params.plural ?? '', name: ctx.params.name!, namespace: query.namespace || DEFAULT_NAMESPACE, query, contentType: ctx.get('content-type') || undefined, req: ctx.req,
      });
    });
  };
}
