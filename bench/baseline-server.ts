// The ceiling: bare node:http doing the same per-request work as the generic profile's
// happy path (read body, check timestamp skew, HMAC-SHA256 with timingSafeEqual, answer 202),
// with no routing, dedup or storage. Run as its own process: `node baseline-server.js SECRET`.
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

const key = Buffer.from(process.argv[2] ?? 'bench-secret');
const MAX_SKEW_S = 300;
const PREFIX = 'sha256=';

function reply(res: ServerResponse, code: number, body: object): void {
  const json = JSON.stringify(body);
  res.writeHead(code, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(json) });
  res.end(json);
}

function verified(req: IncomingMessage, body: Buffer): boolean {
  const sig = req.headers['x-signature'];
  const ts = req.headers['x-timestamp'];
  if (typeof sig !== 'string' || typeof ts !== 'string' || !sig.startsWith(PREFIX)) return false;
  if (Math.abs(Date.now() / 1000 - Number(ts)) > MAX_SKEW_S) return false;
  const given = Buffer.from(sig.slice(PREFIX.length), 'hex');
  const want = createHmac('sha256', key).update(ts).update('.').update(body).digest();
  return given.length === want.length && timingSafeEqual(given, want);
}

const server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    const body = Buffer.concat(chunks);
    const eventId = req.headers['x-event-id'];
    if (!verified(req, body)) return reply(res, 401, { accepted: false, message: 'signature verification failed' });
    if (typeof eventId !== 'string' || !eventId) return reply(res, 400, { accepted: false, message: 'missing event id' });
    reply(res, 202, { accepted: true, duplicate: false, event_id: eventId, task: 'baseline', message: 'task created' });
  });
});
// Match orlojd's keep-alive behaviour under a long-lived load generator.
server.keepAliveTimeout = 65_000;
server.listen(0, '127.0.0.1', () => {
  const { port } = server.address() as AddressInfo;
  console.log(JSON.stringify({ listening: `http://127.0.0.1:${port}` }));
});
