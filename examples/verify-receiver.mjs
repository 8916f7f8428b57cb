// A local receiver for trigger messages: verifies X-Orloj-Signature by hand and
// webhook-signature with the standardwebhooks library (npm i standardwebhooks).
// Usage: SIGNING_SECRET=whsec_... node examples/verify-receiver.mjs   (listens on 127.0.0.1:9000)
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer } from 'node:http';
import { Webhook } from 'standardwebhooks';

const secret = process.env.SIGNING_SECRET ?? '';
const key = Buffer.from(secret.replace(/^whsec_/, ''), 'base64');

function orlojSignatureValid(headers, body) {
  const ts = headers['x-orloj-timestamp'];
  if (!ts || Math.abs(Date.now() / 1000 - Number(ts)) > 300) return false;
  const mac = createHmac('sha256', key).update(`${ts}.`).update(body).digest();
  return String(headers['x-orloj-signature'] ?? '').split(',').some((v) => {
    const given = Buffer.from(v.trim().replace(/^sha256=/, ''), 'hex');
    return given.length === mac.length && timingSafeEqual(given, mac);
  });
}

createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const body = Buffer.concat(chunks);
    let standard = true;
    try {
      new Webhook(secret).verify(body.toString('utf8'), req.headers);
    } catch {
      standard = false;
    }
    const ok = standard && orlojSignatureValid(req.headers, body);
    console.log(ok ? 'verified' : 'REFUSED', req.headers['x-orloj-event'], req.headers['webhook-id']);
    res.writeHead(ok ? 204 : 401).end();
  });
}).listen(9000, '127.0.0.1', () => console.log('listening on http://127.0.0.1:9000'));
