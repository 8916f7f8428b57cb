// While a shared store cannot be reached, orlojd already answers on its address: /healthz
// says the process lives, /readyz and everything else 503, so a load balancer sends nothing here.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';

export async function serveWhileWaiting(listen: { host: string; port: number }, log: Logger): Promise<{ close(): Promise<void> }> {
  const server = createServer((req, res) => {
    const alive = req.url === '/healthz';
    res.writeHead(alive ? 200 : 503, { 'content-type': 'application/json' });
    res.end(JSON.stringify(alive ? { status: 'ok' } : { kind: 'Status', status: 'Failure', reason: 'ServiceUnavailable', message: 'waiting for the database', code: 503 }));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(listen.port, listen.host, () => resolve());
  });
  const addr = server.address() as AddressInfo;
  log.info({ url: `http://${addr.family === 'IPv6' ? `[${addr.address}]` : addr.address}:${addr.port}` }, 'waiting for the database; /readyz answers 503 until it is reached');
  return {
    close: () =>
      new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      }),
  };
}
