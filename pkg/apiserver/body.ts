import type { IncomingMessage } from 'node:http';
import { parse as parseYaml } from 'yaml';
import { ApiError } from '../api/errors.js';
import { checkInput } from './input.js';

/**
 * Reads at most `limit` bytes. A larger declared length is refused before reading; a
 * body that grows past the limit stops being buffered at once.
 */
export function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) {
    return Promise.reject(tooLarge(limit));
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (c: Buffer): void => {
      size += c.length;
      if (size > limit) {
        req.off('data', onData);
        req.resume(); // drain without keeping it
        reject(tooLarge(limit));
        return;
      }
      chunks.push(c);
    };
    req.on('data', onData);
    req.once('end', () => resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size)));
    // The client went away mid-body: nothing to answer, nothing to log as a failure.
    req.once('error', () => reject(new ApiError('BadRequest', 'the request body was not received completely')));
  });
}

export function tooLarge(limit: number): ApiError {
  return new ApiError('RequestEntityTooLarge', `request body exceeds the limit of ${limit} bytes`);
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
    try {
      return JSON.parse(text) as unknown;
    } catch (e) {
      throw new ApiError('BadRequest', `invalid JSON body: ${(e as Error).message}`);
    }
  }
  if (type === 'application/yaml' || type === 'application/x-yaml' || type === 'text/yaml') {
    try {
      return parseYaml(text) as unknown;
    } catch (e) {
      throw new ApiError('BadRequest', `invalid YAML body: ${(e as Error).message}`);
    }
  }
  throw new ApiError('UnsupportedMediaType', `unsupported content type "${type}": use application/json or application/yaml`);
}
