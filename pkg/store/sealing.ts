// Encryption at rest for the bodies of sensitive kinds (a Secret's spec), in the manner of
// the Kubernetes API server's storage value transformer: a driver seals a body as it
// encodes it for storage and unseals it as it decodes it, so every driver shares this
// module and knows no key. Metadata stays plain: names and labels remain queryable.
//
// A key set is ordered like an EncryptionConfiguration: the first key seals, every key
// unseals, so a rotation is "put the new key first, restart, drop the old one later".
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';

export interface EncryptionKey {
  /** Named in each sealed value, so the key that unseals it is found without trying them all. */
  id: string;
  /** 32 bytes: AES-256. */
  key: Uint8Array;
}

/** A readable failure: orlojd refuses to start with it, without a stack trace. */
export class SealingError extends Error {}

export const KEY_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;
/** Version 1: AES-256-GCM, a random 96-bit IV per value, the object's identity as additional data. */
const PREFIX = 'orloj:enc:v1:';
export const KEY_ID = /^[A-Za-z0-9._-]{1,64}$/;

/** The id of a key given without one: a fingerprint, the same wherever the same key is given. */
export function fingerprint(key: Uint8Array): string {
  return createHash('sha256').update(key).digest('hex').slice(0, 12);
}

export class KeySet {
  readonly keys: readonly EncryptionKey[];
  private readonly byId: Map<string, Uint8Array>;

  constructor(keys: EncryptionKey[]) {
    if (!keys.length) throw new SealingError('the encryption key set is empty');
    this.keys = keys;
    this.byId = new Map(keys.map((k) => [k.id, k.key]));
    if (this.byId.size !== keys.length) throw new SealingError('two encryption keys have the same id');
  }

  /** The key that seals. */
  get primary(): EncryptionKey {
    return this.keys[0]!;
  }

  key(id: string): Uint8Array | undefined {
    return this.byId.get(id);
  }
}

/**
 * Which key sealed `stored`: undefined for a plain value (written before encryption at
 * rest, until it is sealed at the next start).
 */
export function sealedWith(stored: string): string | undefined {
  if (!stored.startsWith(PREFIX)) return undefined;
  const end = stored.indexOf(':', PREFIX.length);
  return end < 0 ? '' : stored.slice(PREFIX.length, end);
}

/** `orloj:enc:v1:<key id>:<base64 of IV, tag, ciphertext>`; `context` (the object's identity) is bound to it. */
export function seal(keys: KeySet, plain: string, context: string): string {
  const { id, key } = keys.primary;
  const iv = randomBytes(IV_BYTES);
  const c = createCipheriv('aes-256-gcm', key, iv);
  c.setAAD(Buffer.from(context));
  const body = Buffer.concat([c.update(plain, 'utf8'), c.final()]);
  return `${PREFIX}${id}:${Buffer.concat([iv, c.getAuthTag(), body]).toString('base64')}`;
}

/** The plain text of a sealed value; a plain one passes through unchanged. */
export function unseal(keys: KeySet, stored: string, context: string): string {
  const id = sealedWith(stored);
  if (id === undefined) return stored;
  const key = keys.key(id);
  if (!key) throw new SealingError(`${context} is sealed with encryption key "${id}", which is not in the key set`);
  const raw = Buffer.from(stored.slice(PREFIX.length + id.length + 1), 'base64');
  const d = createDecipheriv('aes-256-gcm', key, raw.subarray(0, IV_BYTES));
  d.setAAD(Buffer.from(context));
  d.setAuthTag(raw.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
  try {
    return Buffer.concat([d.update(raw.subarray(IV_BYTES + TAG_BYTES)), d.final()]).toString('utf8');
  } catch {
    throw new SealingError(`encryption key "${id}" does not open ${context}: it is another key under the same id, or the stored value was altered`);
  }
}

/**
 * How a driver stores object bodies: as JSON, sealed for the kinds it was told are
 * sensitive. The context names the object, so a sealed body copied onto another row
 * does not open there.
 */
export class BodyCodec {
  private readonly sealed: ReadonlySet<string>;

  constructor(
    readonly keys: KeySet,
    readonly sealedKinds: readonly string[],
  ) {
    this.sealed = new Set(sealedKinds);
  }

  encode(kind: string, namespace: string, name: string, body: unknown): string {
    const json = JSON.stringify(body);
    return this.sealed.has(kind) ? seal(this.keys, json, contextOf(kind, namespace, name)) : json;
  }

  decode(kind: string, namespace: string, name: string, stored: string): Record<string, unknown> {
    const json = this.sealed.has(kind) ? unseal(this.keys, stored, contextOf(kind, namespace, name)) : stored;
    return JSON.parse(json) as Record<string, unknown>;
  }

  /** A sensitive body that a write now would store differently: plain, or sealed with an older key. */
  isStale(kind: string, stored: string): boolean {
    return this.sealed.has(kind) && sealedWith(stored) !== this.keys.primary.id;
  }
}

const contextOf = (kind: string, namespace: string, name: string): string => `${kind} ${namespace ? `${namespace}/` : ''}${name}`;
