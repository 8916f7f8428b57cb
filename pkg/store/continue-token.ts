// A list's continue token: the (namespace, name) its page ended at, opaque to clients.
import { ApiError } from '../api/errors.js';

export function encodeContinue(ns: string, name: string): string {
  return Buffer.from(JSON.stringify([ns, name])).toString('base64url');
}

export function decodeContinue(token: string): [string, string] {
  try {
    const v = JSON.parse(Buffer.from(token, 'base64url').toString()) as unknown;
    if (Array.isArray(v) && v.length === 2 && v.every((x) => typeof x === 'string')) return v as [string, string];
  } catch {
    // fall through
  }
  throw new ApiError('BadRequest', 'invalid continue token');
}
