import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import Koa, { type Context } from 'koa';
import Router from '@koa/router';
import { ApiError } from '../api/errors.js';
import type { Metrics } from '../metrics/metrics.js';
import { kindByPlural, kinds } from '../api/registry.js';
import type { HttpLimits, RequestState, ServerDeps } from './context.js';
import { statusErrors } from './errors.js';
import { answerProtocolErrors } from './protocol-errors.js';
import { checkQuery, intParam } from './input.js';
import { openApiDocument } from './openapi.js';
import { resourceRoutes } from './resources.js';

/** Serves some path prefixes outside Koa (the delivery paths are hot and authenticate themselves). */
export interface RawHandler {
  prefixes: readonly string[];
  handle(req: IncomingMessage, res: ServerResponse): void;
}

export interface ApiServerOptions extends ServerDeps {
  metrics: Metrics;
  /** Extra API routes (deliveries, rotation, ...) added by other packages. */
  routes?: Array<(router: Router, deps: ServerDeps) => void>;
  raw?: RawHandler[];
  limits: HttpLimits;
}

const OPEN_PATHS = new Set(['/healthz', '/readyz', '/metrics', '/version']);

export function createApp(opts: ApiServerOptions): Koa {
  const app = new Koa();
  app.proxy = false;
  app.silent = true;
  // Strict: `/v1/tasks/` (an empty name) is no route, not the list of tasks.
  const router = new Router({ strict: true });
  router.get('/healthz', (ctx) => void (ctx.body = { status: 'ok' }));
  router.get('/readyz', (ctx) => {
    const ready = opts.isReady();
    ctx.status = ready ? 200 : 503;
    ctx.body = { status: ready ? 'ready' : 'starting' };
  });
  router.get('/version', (ctx) => void (ctx.body = { version: opts.version }));
  router.get('/metrics', async (ctx) => {
    ctx.type = opts.metrics.registry.contentType;
    ctx.body = await opts.metrics.registry.metrics();
  });
  let openapi: object | undefined;
  router.get('/openapi/v3', (ctx) => void (ctx.body = openapi ??= openApiDocument(kinds, opts.version)));
  router.get('/v1/events', async (ctx) => {
    const q = ctx.query as Record<string, string | undefined>;
    const items = await opts.store.listEvents({ kind: q.kind, namespace: q.namespace, name: q.name }, intParam(q.limit, 'limit', 50, 1000));
    ctx.body = { kind: 'EventList', items };
  });
  for (const add of opts.routes ?? []) add(router, opts);
  resourceRoutes(router, opts);

  app.use(async (ctx, next) => {
    const state = ctx.state as RequestState;
    // A caller's request id is echoed only when it is short and plain; otherwise a new one is made.
    const given = ctx.get('x-request-id');
    state.requestId = /^[A-Za-z0-9._:-]{1,128}$/.test(given) ? given : randomUUID();
    state.log = opts.log.child({ reqId: state.requestId });
    ctx.set('X-Request-Id', state.requestId);
    // Shutting down: a keep-alive connection busy now must not be served again.
    if (opts.closing?.aborted) ctx.set('Connection', 'close');
    const start = performance.now();
    await next();
    opts.metrics.apiRequests.inc({ method: ctx.method, ...routeOf(ctx), code: String(ctx.status) });
    state.log.info({ method: ctx.method, path: ctx.path, status: ctx.status, ms: +(performance.now() - start).toFixed(2) }, 'request');
  });
  app.use(statusErrors);
  app.use(async (ctx, next) => {
    const layers = router.match(ctx.path, ctx.method).path;
    // Known before routing, so requests refused before it (400, 401, 405) are labelled too.
    (ctx.state as RequestState).route = layers.find((l) => l.methods.length > 0)?.path;
    checkQuery(ctx.query);
    // A path no route has is 404 whoever asks; the others need a token.
    if (!OPEN_PATHS.has(ctx.path) && layers.length > 0) Object.assign(ctx.state, opts.auth.authenticate(ctx.get('authorization') || undefined));
    await next();
  });
  app.use(router.routes());
  // Methods no route serves answer 405 in the Status shape, known to HTTP or not.
  app.use(router.allowedMethods({
    throw: true,
    notImplemented: () => new ApiError('MethodNotAllowed', 'method not allowed'),
    methodNotAllowed: () => new ApiError('MethodNotAllowed', 'method not allowed'),
  }));
  return app;
}

/**
 * Labels of a request's metrics: the route template that served it and the kind it named,
 * never the raw path, so any number of unknown paths adds no series. (Methods are bounded
 * by Node's parser, which refuses the ones it does not know.)
 */
function routeOf(ctx: Context): { route: string; resource: string } {
  const matched = (ctx as Context & { _matchedRoute?: string | RegExp })._matchedRoute;
  const route = String(matched ?? (ctx.state as RequestState).route ?? 'unmatched');
  const plural = route.startsWith('/v1/:plural') ? ctx.path.split('/')[2] : undefined;
  return { route, resource: plural && kindByPlural(plural) ? plural : '' };
}

export function createHttpServer(opts: ApiServerOptions): Server {
  const koa = createApp(opts).callback();
  const raw = opts.raw ?? [];
  const { limits } = opts;
  const server = createServer({
    headersTimeout: limits.headerTimeoutMs,
    requestTimeout: limits.requestTimeoutMs,
    keepAliveTimeout: limits.keepAliveTimeoutMs,
    // How often the timeouts above are checked (Node's default, 30 s, would let a slow client
    // hold its connection up to 30 s past them).
    connectionsCheckingInterval: Math.max(10, Math.min(1000, Math.floor(limits.headerTimeoutMs / 4))),
  }, (req, res) => {
    const url = req.url ?? '/';
    for (const h of raw) for (const p of h.prefixes) if (url.startsWith(p)) return h.handle(req, res);
    void koa(req, res);
  });
  server.maxConnections = limits.maxConnections;
  server.on('drop', () => opts.metrics.connectionsDropped.inc());
  answerProtocolErrors(server);
  return server;
}

export { ApiError };
