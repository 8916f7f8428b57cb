import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { eventually, type Orlojd } from '../helpers/orlojd.js';
import { put, readyOf, resource } from '../helpers/fixtures.js';

export interface Received {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
  /** Answered with a 2xx (a request left hanging was not). */
  answeredOk?: boolean;
}

/** What the destination answers to request number n (0-based): a status, or 'hang' (never answers); `delayMs` makes it a slow one. */
export type Answer = number | 'hang' | { status: number; body?: string; headers?: Record<string, string>; delayMs?: number };

/** A real HTTP destination on a random loopback port that keeps every request it gets. */
export class Destination {
  readonly received: Received[] = [];
  private server!: Server;
  url = '';

  constructor(private answer: (n: number, r: Received) => Answer = () => 200) {}

  static async start(answer?: (n: number, r: Received) => Answer): Promise<Destination> {
    const d = new Destination(answer);
    d.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const r: Received = { method: req.method!, url: req.url!, headers: req.headers, body: Buffer.concat(chunks) };
        const a = d.answer(d.received.length, r);
        d.received.push(r);
        if (a === 'hang') return;
        const { status, body, headers, delayMs } = typeof a === 'number' ? { status: a, body: undefined, headers: undefined, delayMs: 0 } : a;
        const answer = () => {
          r.answeredOk = status >= 200 && status < 300;
          res.writeHead(status, { 'content-type': 'application/json', ...headers });
          res.end(body ?? '{"ok":true}');
        };
        if (delayMs) setTimeout(answer, delayMs);
        else answer();
      });
    });
    await new Promise<void>((r) => d.server.listen(0, '127.0.0.1', () => r()));
    d.url = `http://127.0.0.1:${(d.server.address() as AddressInfo).port}`;
    return d;
  }

  answerWith(answer: (n: number, r: Received) => Answer): void {
    this.answer = answer;
  }

  json(i: number): Record<string, any> {
    return JSON.parse(this.received[i]!.body.toString('utf8'));
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((r) => this.server.close(r));
  }
}

export const ALLOW_LOOPBACK = ['--allow-destinations', '127.0.0.0/8,::1/128'];

export interface TriggerStatus {
  secretRef?: string;
  deliveredCount?: number;
  failedAttempts?: number;
  deadLetterCount?: number;
  lastError?: string;
  lastDeliveryTime?: string;
  conditions?: Array<{ type: string; status: string; reason: string; message: string }>;
}

/** Applies a Trigger and waits until it is Ready (and says from which revision it fires). */
export async function readyTrigger(d: Orlojd, name: string, spec: Record<string, unknown>): Promise<TriggerStatus> {
  await put(d, resource('Trigger', name, spec));
  return eventually(async () => {
    const t = (await d.api('GET', `/v1/triggers/${name}`)).body;
    return readyOf(t)?.status === 'True' && t.metadata.generation === t.status.observedGeneration && typeof t.status.sinceRevision === 'number' ? (t.status as TriggerStatus) : undefined;
  }, 5000);
}

export async function triggerStatus(d: Orlojd, name: string): Promise<TriggerStatus> {
  return (await d.api('GET', `/v1/triggers/${name}`)).body.status;
}

export async function writeDoc(d: Orlojd, collection: string, data: Record<string, unknown>, headers: Record<string, string> = {}) {
  const r = await d.api('POST', `/v1/collections/${collection}/documents`, data, headers);
  if (r.status >= 300) throw new Error(`document write: ${r.status} ${r.text}`);
  return r.body;
}

export async function attempts(d: Orlojd, trigger: string, outcome?: string): Promise<Array<Record<string, any>>> {
  const q = `owner=trigger/${trigger}${outcome ? `&outcome=${outcome}` : ''}`;
  return (await d.api('GET', `/v1/deliveries?${q}`)).body.items;
}
