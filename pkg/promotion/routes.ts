// POST /v1/promotions: plan (and, unless a dry run, write) a promotion from a preview
// namespace to a production one. Admin only: it writes where nothing else may.
import type Router from '@koa/router';
import { ApiError } from '../api/errors.js';
import { requireRole } from '../apiserver/auth.js';
import { parseObjectBody, readBody } from '../apiserver/body.js';
import type { RequestState, ServerDeps } from '../apiserver/context.js';
import { promote, type PromotionRequest } from './promote.js';

/** The request body, checked field by field (422 naming each bad one). */
function requestOf(body: unknown): PromotionRequest {
  const b = (body ?? {}) as Record<string, unknown>;
  const causes: Array<{ field: string; message: string }> = [];
  const str = (f: string) => (typeof b[f] === 'string' && b[f] ? (b[f] as string) : (causes.push({ field: f, message: 'is required: a namespace name' }), ''));
  const bool = (f: string) => (b[f] === undefined || typeof b[f] === 'boolean' ? b[f] === true : (causes.push({ field: f, message: 'must be true or false' }), false));
  const only = b.only;
  if (only !== undefined && !(Array.isArray(only) && only.every((x) => typeof x === 'string'))) causes.push({ field: 'only', message: 'must be a list of KIND/NAME' });
  for (const k of Object.keys(b)) if (!['from', 'to', 'dryRun', 'prune', 'only'].includes(k)) causes.push({ field: k, message: 'is not a promotion field (from, to, dryRun, prune, only)' });
  const req: PromotionRequest = { from: str('from'), to: str('to'), dryRun: bool('dryRun'), prune: bool('prune'), ...(only ? { only: only as string[] } : {}) };
  if (causes.length) throw new ApiError('Invalid', `invalid promotion: ${causes.map((c) => `${c.field}: ${c.message}`).join('; ')}`, { kind: 'Promotion', causes });
  return req;
}

export function promotionRoutes(router: Router, deps: ServerDeps): void {
  router.post('/v1/promotions', async (ctx) => {
    const state = ctx.state as RequestState;
    requireRole(state.role, 'admin');
    const req = requestOf(parseObjectBody(ctx.get('content-type') || undefined, await readBody(ctx.req, deps.maxRequestBytes)));
    const r = await promote(deps.store, req, { role: state.role, subject: state.subject });
    ctx.body = { apiVersion: 'orloj.dev/v1', kind: 'Promotion', from: req.from, to: req.to, dryRun: !!req.dryRun, ...r };
  });
}
