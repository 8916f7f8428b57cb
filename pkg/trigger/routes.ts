// The API side of triggers: resume a trigger its destination stopped with 410 Gone.
import type Router from '@koa/router';
import { notFound } from '../api/errors.js';
import { DEFAULT_NAMESPACE } from '../api/meta.js';
import { requireRole } from '../apiserver/auth.js';
import type { RequestState, ServerDeps } from '../apiserver/context.js';
import { patchStatus } from '../controller/status.js';

export function triggerRoutes(router: Router, deps: ServerDeps): void {
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
