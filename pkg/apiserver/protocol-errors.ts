// What Node's HTTP server answers on its own, before any handler runs (a request its parser
// refuses, headers over the limit, an Expect it cannot meet, CONNECT), is answered as a
// Status object too, so every client sees one error shape.
import { STATUS_CODES, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { ApiError } from '../api/errors.js';

/** How long a refused connection may still send (and be ignored) before it is closed. */
const LINGER_MS = 1000;

function parserError(code: string | undefined): ApiError {
  if (code === 'HPE_HEADER_OVERFLOW') return new ApiError('RequestHeaderFieldsTooLarge', 'the request headers exceed the size the server accepts');
  if (code === 'ERR_HTTP_REQUEST_TIMEOUT') return new ApiError('RequestTimeout', 'the request was not received in time');
  return new ApiError('BadRequest', `malformed HTTP request${code ? ` (${code})` : ''}`);
}

/**
 * Writes the Status answer and half-closes; what the client still sends is read and dropped
 * for a moment, so the kernel does not reset the connection before the answer is read.
 */
function answerRaw(socket: Duplex, e: ApiError): void {
  const body = JSON.stringify(e.toStatus());
  const head = `HTTP/1.1 ${e.code} ${STATUS_CODES[e.code] ?? ''}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n`;
  socket.end(head + body);
  socket.resume();
  const timer = setTimeout(() => socket.destroy(), LINGER_MS).unref();
  socket.once('close', () => clearTimeout(timer));
}

/** The response a connection is sending now, if any (Node keeps it on the socket). */
const inProgress = (socket: Duplex): ServerResponse | undefined => (socket as Duplex & { _httpMessage?: ServerResponse })._httpMessage;

export function answerProtocolErrors(server: Server): void {
  const answered = new WeakSet<Duplex>();
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => {
    if (answered.has(socket)) return; // the parser reports each later chunk again
    // A response under way (a watch streaming) must not get a second head in its middle.
    if (err.code === 'ECONNRESET' || !socket.writable || inProgress(socket)?.headersSent) return void socket.destroy();
    answered.add(socket);
    answerRaw(socket, parserError(err.code));
  });
  server.on('connect', (_req: IncomingMessage, socket: Duplex) => answerRaw(socket, new ApiError('MethodNotAllowed', 'CONNECT is not supported')));
  server.on('checkExpectation', (req: IncomingMessage, res: ServerResponse) => {
    const body = JSON.stringify(new ApiError('ExpectationFailed', `the expectation "${String(req.headers.expect).slice(0, 100)}" is not supported`).toStatus());
    res.writeHead(417, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body), Connection: 'close' });
    res.end(body);
  });
}
