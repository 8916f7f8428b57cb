// Where the encryption key set comes from: ORLOJ_ENCRYPTION_KEY when it is set (an
// environment variable, never a flag: flags show in `ps`), otherwise the key file in the
// data dir, generated on first start.
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { readOrCreatePrivateFile } from '../util/files.js';
import { listEntries } from '../util/list.js';
import { fingerprint, KEY_BYTES, KEY_ID, KeySet, SealingError, type EncryptionKey } from './sealing.js';

const KEY_FILE = 'encryption.key';
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;
const HOW = 'make one with: openssl rand -base64 32';

/** One `[id:]base64` entry; the message never shows the entry, which may be a key. */
function parseKey(entry: string, n: number, source: string): EncryptionKey {
  const i = entry.indexOf(':');
  const id = i < 0 ? undefined : entry.slice(0, i).trim();
  const b64 = entry.slice(i + 1).trim();
  if (id !== undefined && !KEY_ID.test(id)) throw new SealingError(`${source}: key ${n} has an invalid id (letters, digits, ".", "_", "-", at most 64)`);
  if (!BASE64.test(b64) || b64.length % 4 !== 0) throw new SealingError(`${source}: key ${n} is not base64; ${HOW}`);
  const key = Buffer.from(b64, 'base64');
  if (key.length !== KEY_BYTES) throw new SealingError(`${source}: key ${n} is ${key.length} bytes, not ${KEY_BYTES}; ${HOW}`);
  return { id: id ?? fingerprint(key), key };
}

/**
 * Keys separated by commas or lines (`#` starts a comment), each `base64` or `id:base64`;
 * the first one seals. A key given without an id is named by its fingerprint.
 */
export function parseKeySet(text: string, source: string): KeySet {
  const entries = listEntries(text);
  if (!entries.length) throw new SealingError(`${source} holds no encryption key; ${HOW}`);
  const keys = entries.map((e, i) => parseKey(e, i + 1, source));
  try {
    return new KeySet(keys);
  } catch (e) {
    throw new SealingError(`${source}: ${(e as Error).message}`);
  }
}

function newKeyFile(): string {
  const key = randomBytes(KEY_BYTES);
  return [
    '# orlojd keys for Secret data at rest, one [id:]base64 per line. The first key',
    '# encrypts; every key here decrypts. To rotate, put a new key first (openssl rand',
    '# -base64 32) and restart: orlojd encrypts everything again with it. Remove an old',
    '# key only after that start. Without this file the Secrets cannot be read.',
    `${fingerprint(key)}:${key.toString('base64')}`,
    '',
  ].join('\n');
}

export interface LoadedKeys {
  keys: KeySet;
  /** Where they came from, for messages. */
  source: string;
  /** A key file was generated just now. */
  created: boolean;
}

/** The key set from `fromEnv` (ORLOJ_ENCRYPTION_KEY) if given, else from the data dir's key file, made if missing. */
export function loadKeys(dataDir: string, fromEnv?: string): LoadedKeys {
  if (fromEnv !== undefined && fromEnv !== '') return { keys: parseKeySet(fromEnv, 'ORLOJ_ENCRYPTION_KEY'), source: 'ORLOJ_ENCRYPTION_KEY', created: false };
  const path = join(dataDir, KEY_FILE);
  const { text, created } = readOrCreatePrivateFile(path, newKeyFile);
  return { keys: parseKeySet(text, path), source: path, created };
}
