// What the two reference servers share: bare node:http doing the same per-request work as the
// generic profile's happy path (read body, check timestamp skew, HMAC-SHA256 with
// timingSafeEqual, answer 202), so baseline and peer differ only in what they do with an
// accepted delivery. Prints {"listening": url} once up, which targets.ts waits for.
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

const MAX_SKEW_S = 300;
const PREFIX = 'sha256=';

/** Handles a verified delivery; the answer's shape is what wrk's Lua counters parse. */
export type Accept = (eventId: string, body: Buffer) => { duplicate: boolean; task: string };

function reply(res: ServerResponse, code: number, body: object): void {
  const json = JSON.stringify(body);
  res.writeHead(code, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(json) });
  res.end(json);
}

function verified(key: Buffer, req: IncomingMessage, body: Buffer): boolean {
  const sig = req.headers['x-signature'];
  const ts = req.headers['x-timestamp'];
  if (typeof sig !== 'string' || typeof ts !== 'string' || !sig.startsWith(PREFIX)) return false;
  if (Math.abs(Date.now() / 1000 - Number(ts)) > MAX_SKEW_S) return false;
  const given = Buffer.from(sig.slice(PREFIX.length), 'hex');
  const want = createHmac('sha256', key).update(ts).update('.').update(body).digest();
  return given.length === want.length && timingSafeEqual(given, want);
}

function handle(key: Buffer, accept: Accept, req: IncomingMessage, res: ServerResponse, body: Buffer): void {
  const eventId = req.headers['x-event-id'];
  if (!verified(key, req, body)) return reply(res, 401, { accepted: false, message: 'signature verification failed' });
  if (typeof eventId !== 'string' || !eventId) return reply(res, 400, { accepted: false, message: 'missing event id' });
  let r: ReturnType<Accept>;
  try {
    r = accept(eventId, body);
  } catch (err) {
    // Shows up as non-2xx in the table instead of killing the server mid-run.
    return reply(res, 500, { accepted: false, message: String(err) });
  }
  const message = r.duplicate ? 'duplicate delivery: task already created' : 'task created';
  reply(res, 202, { accepted: true, duplicate: r.duplicate, event_id: eventId, task: r.task, message });
}

export function serveDeliveries(secret: string, accept: Accept): void {
  const key = Buffer.from(secret);
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => handle(key, accept, req, res, Buffer.concat(chunks)));
  });
  // Match orlojd's keep-alive behaviour under a long-lived load generator.
  server.keepAliveTimeout = 65_000;
  server.listen(0, '127.0.0.1', () => {
    const { port } = server.address() as AddressInfo;
    console.log(JSON.stringify({ listening: `http://127.0.0.1:${port}` }));
  });
}
