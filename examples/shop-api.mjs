// A tiny shop API to hydrate inbound webhooks from (examples/inbound-webhooks.md, "Hydrating
// webhooks"): orders in the shop's own shape, kept in memory, no dependencies.
//
//   node examples/shop-api.mjs [PORT]        (or PORT=8089; default 8089, on 127.0.0.1)
//
//   GET    /orders/{id}   the order, or 404
//   POST   /orders/{id}   merge a JSON object into the order (null removes a field; an unknown id is created)
//   DELETE /orders/{id}   remove the order
//   GET    /orders        every order
//
// Every request is logged, so a hydration fetch shows up here and a delete shows none.
import { createServer } from 'node:http';

const port = Number(process.argv[2] ?? process.env.PORT ?? 8089);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`usage: node examples/shop-api.mjs [PORT] (a port number, not "${process.argv[2] ?? process.env.PORT}")`);
  process.exit(2);
}

/** The shop's external shape: order_number, state, total_cents, customer_email, created_at (unix seconds). */
const orders = new Map(
  [
    { order_number: '1001', state: 'paid', total_cents: 4999, customer_email: 'ada@example.com', created_at: 1714557600 },
    { order_number: '1002', state: 'pending', total_cents: 1250, customer_email: 'grace@example.com', created_at: 1714644000 },
    { order_number: '1003', state: 'shipped', total_cents: 23900, customer_email: 'alan@example.com', created_at: 1714730400 },
  ].map((o) => [o.order_number, o]),
);

function send(res, status, body) {
  if (body === undefined) return void res.writeHead(status).end();
  res.writeHead(status, { 'Content-Type': 'application/json' });
  res.end(`${JSON.stringify(body)}\n`);
}

async function readJson(req) {
  const chunks = [];
  for await (const c of req) chunks.push(c);
  const value = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}');
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new Error('the body must be a JSON object');
  return value;
}

/** POST: the body's fields over the order's; null clears a field, as the shop's own API would. */
async function change(req, id) {
  const order = { ...(orders.get(id) ?? { order_number: id }) };
  for (const [k, v] of Object.entries(await readJson(req))) {
    if (v === null) delete order[k];
    else order[k] = v;
  }
  order.order_number = id;
  orders.set(id, order);
  return order;
}

async function handle(req, res) {
  const { pathname } = new URL(req.url, 'http://shop');
  if (req.method === 'GET' && pathname === '/orders') return send(res, 200, [...orders.values()]);
  const m = /^\/orders\/([^/]+)$/.exec(pathname);
  if (!m) return send(res, 404, { error: 'not found' });
  const id = decodeURIComponent(m[1]);
  if (req.method === 'GET') return orders.has(id) ? send(res, 200, orders.get(id)) : send(res, 404, { error: `no order ${id}` });
  if (req.method === 'POST') return send(res, 200, await change(req, id));
  if (req.method === 'DELETE') return orders.delete(id) ? send(res, 204) : send(res, 404, { error: `no order ${id}` });
  return send(res, 405, { error: 'GET, POST or DELETE' });
}

const server = createServer((req, res) => {
  handle(req, res)
    .catch((e) => send(res, 400, { error: e.message }))
    .finally(() => console.log(`${req.method} ${req.url} -> ${res.statusCode}`));
});

server.listen(port, '127.0.0.1', () => {
  console.log(`shop API on http://127.0.0.1:${port}: GET|POST|DELETE /orders/{id}, GET /orders`);
  console.log(`orders: ${[...orders.keys()].join(', ')}`);
});
