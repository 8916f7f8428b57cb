import { connect, type Socket } from 'node:net';
import type { Orlojd } from './orlojd.js';

/** A plain TCP connection to orlojd, for clients no HTTP library would be: slow, paused, many. */
export class RawConnection {
  data = '';
  readonly closed: Promise<void>;
  private waiters: Array<() => void> = [];

  private constructor(readonly sock: Socket) {
    sock.on('data', (c: Buffer) => {
      this.data += c.toString('latin1');
      this.waiters.splice(0).forEach((w) => w());
    });
    // The server may close while the client still writes: that is what some tests wait for.
    sock.on('error', () => undefined);
    this.closed = new Promise((resolve) => sock.once('close', () => resolve()));
    void this.closed.then(() => this.waiters.splice(0).forEach((w) => w()));
  }

  static async open(d: Orlojd): Promise<RawConnection> {
    const sock = connect(d.port, '127.0.0.1');
    await new Promise((resolve, reject) => {
      sock.once('connect', resolve);
      sock.once('error', reject);
    });
    return new RawConnection(sock);
  }

  /** Resolves true once what arrived satisfies `pred`, false if the connection closed first. */
  async until(pred: (data: string) => boolean): Promise<boolean> {
    while (!pred(this.data)) {
      if (this.sock.destroyed || this.sock.readableEnded) return false;
      await new Promise<void>((r) => this.waiters.push(r));
    }
    return true;
  }

  /** Sends `head`, then `drip` every 20 ms, never finishing, until the server closes; returns its answer. */
  async dripUntilClosed(head: string, drip: string): Promise<string> {
    this.sock.write(head);
    const t = setInterval(() => this.sock.write(drip), 20);
    await this.closed;
    clearInterval(t);
    return this.data;
  }
}

/** An HTTP/1.1 request head (keep-alive) for a raw connection. */
export function head(method: string, path: string, headers: Record<string, string | number> = {}): string {
  const lines = Object.entries({ host: 'orlojd', ...headers }).map(([k, v]) => `${k}: ${v}\r\n`);
  return `${method} ${path} HTTP/1.1\r\n${lines.join('')}\r\n`;
}
