// The destination of the trigger scenarios, its own process: `node trigger-receiver.js`.
// One port answers 204 at once and notes when each message arrived (per event id of the
// inbound delivery that wrote the document); the other accepts and never answers, a dead
// destination. GET /count on the fast port says how many arrived; POST /times returns, and
// forgets, the arrival times. Prints {"listening": url, "hanging": url} once up.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

let received = 0;
const times: Record<string, number[]> = {};
const now = () => performance.timeOrigin + performance.now();

function eventIdOf(body: string): string | undefined {
  try {
    return (JSON.parse(body) as { document?: { data?: { id?: string } } }).document?.data?.id;
  } catch {
    return undefined;
  }
}

function json(res: ServerResponse, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

function fast(req: IncomingMessage, res: ServerResponse): void {
  // Arrival is when the request's head came in, before its body is read.
  const at = now();
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    if (req.url === '/count') return json(res, { received });
    if (req.url === '/times') {
      json(res, times);
      for (const k of Object.keys(times)) delete times[k];
      return;
    }
    received++;
    const id = eventIdOf(Buffer.concat(chunks).toString());
    if (id) (times[id] ??= []).push(at);
    res.writeHead(204).end();
  });
}

const listen = (s: ReturnType<typeof createServer>) =>
  new Promise<string>((r) => s.listen(0, '127.0.0.1', () => r(`http://127.0.0.1:${(s.address() as AddressInfo).port}`)));

const server = createServer(fast);
server.keepAliveTimeout = 65_000;
// Holds every request open: the attempt ends in the trigger's own timeout.
const hanging = createServer(() => undefined);
const [url, hang] = await Promise.all([listen(server), listen(hanging)]);
console.log(JSON.stringify({ listening: url, hanging: hang }));
