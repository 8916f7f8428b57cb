import type { Context } from 'koa';
import type { Counter, Gauge } from 'prom-client';
import { ApiError } from '../api/errors.js';
import type { KindDef } from '../api/kind.js';
import { matchesSelector, type Requirement } from '../api/selector.js';
import type { WatchEvent } from '../api/types.js';
import type { RequestState, ServerDeps, WatchLimits } from './context.js';

interface WatchOptions {
  namespace?: string;
  labelSelector: Requirement[];
  since?: string;
}

/** Open watches per token (each holds a socket and a subscriber), and their metrics. */
export class Watches {
  private readonly open = new Map<string, number>();

  constructor(
    readonly limits: WatchLimits,
    private readonly metrics: { watches: Gauge; watchesDropped: Counter },
  ) {}

  /** Takes one of `subject`'s slots (429 when it holds them all); returns its release. */
  take(subject: string): () => void {
    const n = this.open.get(subject) ?? 0;
    if (n >= this.limits.perToken) {
      throw new ApiError('TooManyRequests', `this token already has ${n} open watches, the most it may; close one first`, { retryAfterSeconds: 1 });
    }
    this.open.set(subject, n + 1);
    this.metrics.watches.inc();
    let held = true;
    return () => {
      if (!held) return;
      held = false;
      this.metrics.watches.dec();
      const left = this.open.get(subject)! - 1;
      if (left) this.open.set(subject, left);
      else this.open.delete(subject);
    };
  }

  dropped(): void {
    this.metrics.watchesDropped.inc();
  }
}

type Ctx = Context & { state: RequestState };

/**
 * Streams changes as newline-delimited JSON, or as Server-Sent Events when the client
 * accepts text/event-stream. Events are pushed from the store as they commit.
 */
export async function serveWatch(ctx: Ctx, deps: ServerDeps, def: KindDef, opts: WatchOptions): Promise<void> {
  const release = deps.watches.take(ctx.state.subject);
  try {
    await stream(ctx, deps, def, opts, release);
  } catch (e) {
    release();
    throw e;
  }
}

async function stream(ctx: Ctx, deps: ServerDeps, def: KindDef, opts: WatchOptions, release: () => void): Promise<void> {
  const sse = (ctx.get('accept') || '').includes('text/event-stream');
  const out = new Output(ctx, deps.watches, sse);
  // Built explicitly: an event's object may be a getter, which JSON.stringify would skip.
  const present = (e: WatchEvent) => ({ type: e.type, object: def.redact ? def.redact(e.object) : e.object });
  const since = opts.since ?? (ctx.get('last-event-id') || undefined);
  const unsubscribe = await deps.store.watch({ kind: def.kind, namespace: opts.namespace }, since, (e) => {
    if (out.gone || !matchesSelector(e.object.metadata.labels, opts.labelSelector)) return;
    const data = JSON.stringify(present(e));
    out.send(sse ? `id: ${e.object.metadata.resourceVersion}\nevent: ${e.type}\ndata: ${data}\n\n` : `${data}\n`);
  }, () => out.paced());
  out.live = true;
  if (out.gone) {
    release();
    return unsubscribe();
  }
  out.start();
  // Bytes, so proxies and clients see the stream alive (NDJSON readers skip blank lines).
  const beat = setInterval(() => out.send(sse ? ': heartbeat\n\n' : '\n'), deps.watches.limits.heartbeatMs);
  const end = (): void => void ctx.res.end();
  const stop = (): void => {
    clearInterval(beat);
    unsubscribe();
    release();
    deps.closing?.removeEventListener('abort', end);
  };
  deps.closing?.addEventListener('abort', end);
  ctx.req.once('close', stop);
  ctx.res.once('close', stop);
}

/** One watch's response: headers on first use, paced replay, a bound on what waits unsent. */
class Output {
  gone = false;
  /** Past the replay: events no longer wait for the client to read. */
  live = false;
  private started = false;

  constructor(
    private readonly ctx: Ctx,
    private readonly watches: Watches,
    private readonly sse: boolean,
  ) {
    ctx.res.once('close', () => (this.gone = true));
  }

  /**
   * Headers go out with the first event or once subscribed, so a 410 Gone (thrown before
   * any event) still reaches the error middleware, and a long replay streams as it is read.
   */
  start(): void {
    if (this.started) return;
    this.started = true;
    const { ctx } = this;
    ctx.respond = false;
    ctx.res.writeHead(200, {
      'Content-Type': this.sse ? 'text/event-stream' : 'application/x-ndjson',
      'Cache-Control': 'no-cache',
      'X-Request-Id': ctx.state.requestId,
      Connection: 'keep-alive',
    });
    ctx.res.flushHeaders();
    ctx.req.socket.setNoDelay(true);
  }

  send(chunk: string): void {
    if (this.gone) return;
    this.start();
    const res = this.ctx.res;
    // A client this far behind is dropped, not buffered for: it resumes from the last
    // revision it read. (The replay is held back to the client's pace instead; the check
    // comes before writing, so one large event alone never drops a client that reads.)
    if (this.live && res.writableLength > this.watches.limits.bufferBytes) return this.drop();
    res.write(chunk);
  }

  private drop(): void {
    this.gone = true;
    this.watches.dropped();
    this.ctx.state.log.warn({ buffered: this.ctx.res.writableLength }, 'watch dropped: the client reads too slowly');
    this.ctx.res.destroy();
  }

  /**
   * Between replayed pages: resolves once the client has read what was sent (memory stays
   * at a page and the socket's buffer); false when it went away.
   */
  paced(): Promise<boolean> | boolean {
    const res = this.ctx.res;
    if (this.gone || !res.writableNeedDrain) return !this.gone;
    return new Promise((resolve) => {
      const done = (): void => {
        res.off('drain', done);
        res.off('close', done);
        resolve(!this.gone);
      };
      res.on('drain', done);
      res.on('close', done);
    });
  }
}
