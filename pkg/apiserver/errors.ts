import type { Context, Next } from 'koa';
import { ApiError } from '../api/errors.js';
import type { RequestState } from './context.js';

/** Every failure leaves as a Kubernetes Status object; internal detail goes to the log only. */
export async function statusErrors(ctx: Context & { state: RequestState }, next: Next): Promise<void> {
  try {
    await next();
    if (ctx.status === 404 && ctx.body === undefined) {
      throw new ApiError('NotFound', `no route for ${ctx.method} ${ctx.path}`);
    }
    if (ctx.status === 405 && (ctx.body === undefined || typeof ctx.body === 'string')) {
      throw new ApiError('MethodNotAllowed', `method ${ctx.method} is not allowed on ${ctx.path}`);
    }
  } catch (err) {
    const e = err instanceof ApiError ? err : internal(ctx, err);
    ctx.status = e.code;
    ctx.body = e.toStatus();
    if (e.details?.retryAfterSeconds) ctx.set('Retry-After', String(e.details.retryAfterSeconds));
  }
}

function internal(ctx: Context & { state: RequestState }, err: unknown): ApiError {
  ctx.state.log?.error({ err }, 'request failed');
  return new ApiError('InternalError', `internal error (request id ${ctx.state.requestId})`);
}
