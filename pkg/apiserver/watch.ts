import type { Context } from 'koa';
import type { KindDef } from '../api/kind.js';
import { matchesSelector, type Requirement } from '../api/selector.js';
import type { WatchEvent } from '../api/types.js';
import type { RequestState, ServerDeps } from './context.js';

interface WatchOptions {
  namespace?: string;
  labelSelector: Requirement[];
  since?: string;
}

const HEARTBEAT_MS = 15_000;

/**
 * Streams changes as newline-delimited JSON, or as Server-Sent Events when the client
 * accepts text/event-stream. Events are pushed from the store as they commit.
 */
export async function serveWatch(ctx: Context & { state: RequestState }, deps: ServerDeps, def: KindDef, opts: WatchOptions): Promise<void> {
  const sse = (ctx.get('accept') || '').includes('text/event-stream');
  // Built explicitly: an event's object may be a getter, which JSON.stringify would skip.
  const present = (e: WatchEvent) => ({ type: e.type, object: def.redact ? def.redact(e.object) : e.object });
  const write = (e: WatchEvent): void => {
    if (!matchesSelector(e.object.metadata.labels, opts.labelSelector)) return;
    const data = JSON.stringify(present(e));
    res.write(sse ? `id: ${e.object.metadata.resourceVersion}\nevent: ${e.type}\ndata: ${data}\n\n` : `${data}\n`);
  };
  const res = ctx.res;
  // Headers go out with the first event or once subscribed, so a 410 Gone (thrown before
  // any event) still reaches the error middleware, and a long replay streams as it is read.
  let started = false;
  const start = (): void => {
    if (started) return;
    started = true;
    ctx.respond = false;
    res.writeHead(200, {
      'Content-Type': sse ? 'text/event-stream' : 'application/x-ndjson',
      'Cache-Control': 'no-cache',
      'X-Request-Id': ctx.state.requestId,
      Connection: 'keep-alive',
    });
    res.flushHeaders();
    ctx.req.socket.setNoDelay(true);
  };
  const since = opts.since ?? (ctx.get('last-event-id') || undefined);
  let gone = false;
  res.once('close', () => (gone = true));
  // A replay goes no faster than the client reads (memory stays at a page and the socket's
  // buffer), and stops when the client goes away.
  const nextPage = (): Promise<boolean> | boolean => {
    if (gone || !res.writableNeedDrain) return !gone;
    return new Promise((resolve) => {
      const done = (): void => {
        res.off('drain', done);
        res.off('close', done);
        resolve(!gone);
      };
      res.on('drain', done);
      res.on('close', done);
    });
  };
  const unsubscribe = await deps.store.watch({ kind: def.kind, namespace: opts.namespace }, since, (e) => {
    if (gone) return;
    start();
    write(e);
  }, nextPage);
  if (gone) return unsubscribe();
  start();
  const beat = setInterval(() => res.write(sse ? ': heartbeat\n\n' : ''), HEARTBEAT_MS);
  const end = (): void => void res.end();
  const stop = (): void => {
    clearInterval(beat);
    unsubscribe();
    deps.closing?.removeEventListener('abort', end);
  };
  deps.closing?.addEventListener('abort', end);
  ctx.req.once('close', stop);
  res.once('close', stop);
}
