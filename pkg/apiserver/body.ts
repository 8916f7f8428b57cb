import type { IncomingMessage } from 'node:http';
import { parse as parseYaml } from 'yaml';
import { ApiError } from '../api/errors.js';
import { checkInput } from './input.js';
import { prescanJson, prescanYaml } from './prescan.js';

/**
 * Bytes of request bodies being buffered now, API and deliveries together. Memory is the
 * process's, so the budget is too: past it a request is refused at once (503, retry
 * later) instead of adding its body to the heap.
 */
export const bodyBudget = {
  capacity: 256 * 1024 * 1024,
  used: 0,
  take(n: number): boolean {
    if (this.used + n > this.capacity) return false;
    this.used += n;
    return true;
  },
};

/**
 * Reads at most `limit` bytes. A larger declared length is refused before reading; a
 * body that grows past the limit, or past what the budget has left, stops being
 * buffered at once.
 */
export function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) return Promise.reject(tooLarge(limit));
  // A declared length is taken whole up front, so a refusal comes before any byte is read.
  let held = Number.isFinite(declared) ? declared : 0;
  if (!bodyBudget.take(held)) return Promise.reject(busy());
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    const settle = (err?: ApiError): void => {
      if (settled) return;
      settled = true;
      bodyBudget.used -= held;
      if (err) reject(err);
      else resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size));
    };
    const refuse = (err: ApiError): void => {
      req.off('data', onData);
      req.resume(); // drain without keeping it
      settle(err);
    };
    const onData = (c: Buffer): void => {
      size += c.length;
      if (size > limit) return refuse(tooLarge(limit));
      if (size > held && !bodyBudget.take(size - held)) return refuse(busy());
      held = Math.max(held, size);
      chunks.push(c);
    };
    req.on('data', onData);
    req.once('end', () => settle());
    // The client went away mid-body (or took too long): nothing to answer, nothing to log as
    // a failure. 'close' comes in every case, so what the body held is always given back.
    // 'close' also follows every complete body: the error is made only when it is one.
    const incomplete = (): void => {
      if (!settled) settle(new ApiError('BadRequest', 'the request body was not received completely'));
    };
    req.once('error', incomplete);
    req.once('close', incomplete);
  });
}

export function tooLarge(limit: number): ApiError {
  return new ApiError('RequestEntityTooLarge', `request body exceeds the limit of ${limit} bytes`);
}

function busy(): ApiError {
  return new ApiError('ServiceUnavailable', 'the server is receiving too many request bodies at once; retry later', { retryAfterSeconds: 1 });
}

/** Parses a JSON (or YAML) request body into a value, within the input limits. */
export function parseObjectBody(contentType: string | undefined, body: Buffer): unknown {
  const value = parseBody(contentType, body);
  checkInput(value);
  return value;
}

function parseBody(contentType: string | undefined, body: Buffer): unknown {
  const type = (contentType ?? 'application/json').split(';')[0]!.trim().toLowerCase();
  const text = body.toString('utf8');
  if (!text.trim()) throw new ApiError('BadRequest', 'request body is empty');
  if (type === 'application/json' || type.endsWith('+json')) {
    prescanJson(body);
    try {
      return JSON.parse(text) as unknown;
    } catch (e) {
      throw new ApiError('BadRequest', `invalid JSON body: ${(e as Error).message}`);
    }
  }
  if (type === 'application/yaml' || type === 'application/x-yaml' || type === 'text/yaml') {
    prescanYaml(text);
    try {
      return parseYaml(text) as unknown;
    } catch (e) {
      throw new ApiError('BadRequest', `invalid YAML body: ${(e as Error).message}`);
    }
  }
  throw new ApiError('UnsupportedMediaType', `unsupported content type "${type}": use application/json or application/yaml`);
}
