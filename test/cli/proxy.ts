import { createServer, request, type IncomingMessage, type Server } from 'node:http';
import type { Orlojd } from '../helpers/orlojd.js';

/**
 * A plain HTTP proxy in front of a real orlojd that can act just before it forwards a request:
 * a test makes "someone else" write between two requests of one orlojctl call (its read and
 * its write), which no timing could do reliably.
 */
export class InterposingProxy {
  url = '';
  readonly seen: string[] = [];
  private readonly server: Server;

  /** `before` runs (and is awaited) before each request is passed on. */
  constructor(
    private readonly d: Orlojd,
    private readonly before: (method: string, path: string) => Promise<void>,
  ) {
    this.server = createServer((req, res) => {
      void this.forward(req).then(
        (up) => {
          res.writeHead(up.statusCode ?? 502, up.headers);
          up.pipe(res);
        },
        (e: Error) => res.writeHead(502).end(e.message),
      );
    });
  }

  async start(): Promise<this> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.server.address() as { port: number }).port}`;
    return this;
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((r) => this.server.close(() => r()));
  }

  private async forward(req: IncomingMessage): Promise<IncomingMessage> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    this.seen.push(`${req.method} ${req.url}`);
    await this.before(req.method ?? '', req.url ?? '');
    const target = new URL(req.url ?? '/', this.d.url);
    return new Promise((resolve, reject) => {
      const up = request(target, { method: req.method, headers: { ...req.headers, host: target.host } }, resolve);
      up.on('error', reject);
      up.end(Buffer.concat(chunks));
    });
  }
}
