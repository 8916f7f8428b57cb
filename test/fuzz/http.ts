// A raw HTTP/1.1 client over a socket: fetch and node:http normalize paths, refuse odd bytes
// in headers and merge duplicates, which is exactly what a fuzzer must be able to send.
import { connect } from 'node:net';

export interface RawRequest {
  method: string;
  /** Sent as is: `..`, `%2F` and bytes fetch would escape reach the server. */
  path: string;
  headers: Array<[string, string | Buffer]>;
  body?: Buffer;
  /** Send the body chunked instead of with a Content-Length. */
  chunked?: boolean;
  /** Send no Content-Length of our own (a case that sets its own, or none). */
  noLength?: boolean;
  /** The request line's protocol (default HTTP/1.1). */
  version?: string;
}

export interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
}

export type Answer = RawResponse | { error: string };

function encode(req: RawRequest, host: string): Buffer {
  const body = req.body ?? Buffer.alloc(0);
  const lines: Array<string | Buffer> = [`${req.method} ${req.path} ${req.version ?? 'HTTP/1.1'}\r\n`, `Host: ${host}\r\n`, 'Connection: close\r\n'];
  for (const [k, v] of req.headers) lines.push(Buffer.concat([Buffer.from(`${k}: `, 'latin1'), Buffer.from(v as string, typeof v === 'string' ? 'latin1' : undefined), Buffer.from('\r\n')]));
  if (req.chunked) lines.push('Transfer-Encoding: chunked\r\n');
  else if (!req.noLength && (body.length || req.method === 'PUT' || req.method === 'POST')) lines.push(`Content-Length: ${body.length}\r\n`);
  lines.push('\r\n');
  const payload = req.chunked ? chunk(body) : body;
  return Buffer.concat([...lines.map((l) => (typeof l === 'string' ? Buffer.from(l, 'latin1') : l)), payload]);
}

/** The body in chunks of up to 16 KiB, then the last chunk. */
function chunk(body: Buffer): Buffer {
  const parts: Buffer[] = [];
  for (let i = 0; i < body.length; i += 16384) {
    const c = body.subarray(i, i + 16384);
    parts.push(Buffer.from(`${c.length.toString(16)}\r\n`), c, Buffer.from('\r\n'));
  }
  parts.push(Buffer.from('0\r\n\r\n'));
  return Buffer.concat(parts);
}

/** Headers and status of the final response head (past any 100 Continue), or undefined while it is incomplete. */
function parseHead(buf: Buffer): { status: number; headers: Record<string, string>; rest: Buffer } | undefined {
  const end = buf.indexOf('\r\n\r\n');
  if (end < 0) return undefined;
  if (/^HTTP\/1\.[01] 1\d\d /.test(buf.toString('latin1', 0, 13)) && !buf.toString('latin1', 0, 13).includes(' 101 ')) return parseHead(buf.subarray(end + 4));
  const [statusLine, ...lines] = buf.subarray(0, end).toString('latin1').split('\r\n');
  const headers: Record<string, string> = {};
  for (const l of lines) {
    const i = l.indexOf(':');
    const k = l.slice(0, i).trim().toLowerCase();
    headers[k] = headers[k] === undefined ? l.slice(i + 1).trim() : `${headers[k]}, ${l.slice(i + 1).trim()}`;
  }
  return { status: Number(statusLine!.split(' ')[1]), headers, rest: buf.subarray(end + 4) };
}

/** A chunked body decoded, or undefined until its last chunk has come. */
function dechunk(buf: Buffer): Buffer | undefined {
  const parts: Buffer[] = [];
  let at = 0;
  for (;;) {
    const nl = buf.indexOf('\r\n', at);
    if (nl < 0) return undefined;
    const size = parseInt(buf.subarray(at, nl).toString('latin1'), 16);
    if (!Number.isFinite(size)) return undefined;
    if (size === 0) return Buffer.concat(parts);
    if (buf.length < nl + 2 + size + 2) return undefined;
    parts.push(buf.subarray(nl + 2, nl + 2 + size));
    at = nl + 2 + size + 2;
  }
}

const STREAMING = /application\/x-ndjson|text\/event-stream/;

/** The whole response, once it can be told complete; a stream (a watch) counts once its head is in. */
function complete(buf: Buffer, ended: boolean): RawResponse | undefined {
  const head = parseHead(buf);
  if (!head) return undefined;
  const { status, headers, rest } = head;
  if (STREAMING.test(headers['content-type'] ?? '')) return { status, headers, body: rest };
  if (headers['transfer-encoding']?.includes('chunked')) {
    const body = dechunk(rest);
    return body ? { status, headers, body } : undefined;
  }
  const length = headers['content-length'] === undefined ? undefined : Number(headers['content-length']);
  if (length !== undefined && rest.length >= length) return { status, headers, body: rest.subarray(0, length) };
  if (length === 0 || status === 204 || status === 304) return { status, headers, body: Buffer.alloc(0) };
  return ended ? { status, headers, body: rest } : undefined;
}

/** Sends one request on its own connection and resolves with the answer, or why there was none. */
export function send(port: number, req: RawRequest, hangMs: number, headOnly = req.method === 'HEAD'): Promise<Answer> {
  return new Promise((resolve) => {
    const sock = connect(port, '127.0.0.1');
    let buf = Buffer.alloc(0);
    let done = false;
    const finish = (a: Answer): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.destroy();
      resolve(a);
    };
    const timer = setTimeout(() => finish({ error: `no answer within ${hangMs} ms` }), hangMs);
    const settle = (ended: boolean, why?: string): void => {
      const head = headOnly ? parseHead(buf) : undefined;
      const r = head ? { status: head.status, headers: head.headers, body: Buffer.alloc(0) } : complete(buf, ended);
      if (r) finish(r);
      else if (ended) finish({ error: why ?? (buf.length ? 'the answer was cut short' : 'the connection closed without an answer') });
    };
    sock.on('data', (c: Buffer) => {
      buf = Buffer.concat([buf, c]);
      settle(false);
    });
    sock.on('end', () => settle(true));
    sock.on('close', () => settle(true));
    // A server that answers before reading everything may reset the rest of the upload: what it answered counts.
    sock.on('error', (e: NodeJS.ErrnoException) => settle(true, `socket error ${e.code ?? e.message}`));
    sock.write(encode(req, `127.0.0.1:${port}`));
  });
}
