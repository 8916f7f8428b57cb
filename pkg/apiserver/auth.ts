import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ApiError } from '../api/errors.js';
import { readOrCreatePrivateFile } from '../util/files.js';
import { listEntries } from '../util/list.js';

export type Role = 'reader' | 'writer' | 'admin';
const rank: Record<Role, number> = { reader: 1, writer: 2, admin: 3 };
const ROLES = Object.keys(rank) as Role[];

/**
 * Tokens are kept only as SHA-256 digests: the lookup is a map hit on the digest, so
 * no secret is ever compared byte by byte and no plain token sits in memory.
 */
export class TokenAuth {
  private readonly byDigest = new Map<string, Role>();

  /** `digests`: tokens known only by their digest (one another replica generated). */
  constructor(tokens: Array<{ token: string; role: Role }>, digests: Array<{ digest: string; role: Role }> = []) {
    for (const t of tokens) this.byDigest.set(digest(t.token), t.role);
    for (const d of digests) this.byDigest.set(d.digest, d.role);
  }

  /** The caller's role and subject (its token's digest); throws 401 for a missing or unknown token. */
  authenticate(authorization: string | undefined): { role: Role; subject: string } {
    const m = authorization?.match(/^Bearer\s+(\S+)\s*$/i);
    if (!m) throw new ApiError('Unauthorized', 'missing bearer token');
    const subject = digest(m[1]!);
    const role = this.byDigest.get(subject);
    if (!role) throw new ApiError('Unauthorized', 'invalid token');
    return { role, subject };
  }
}

export function requireRole(have: Role, need: Role): void {
  if (rank[have] < rank[need]) throw new ApiError('Forbidden', `this operation needs the ${need} role; the token has ${have}`);
}

export function digest(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/**
 * Parses `tok:role,tok2:role2` (the --api-tokens flag), also one per line with `#`
 * comments (the --api-tokens-file); `source` names where they came from in errors.
 */
export function parseTokenList(text: string, source = '--api-tokens'): Array<{ token: string; role: Role }> {
  return listEntries(text)
    .map((entry) => {
      const i = entry.lastIndexOf(':');
      const token = i > 0 ? entry.slice(0, i) : entry;
      const role = (i > 0 ? entry.slice(i + 1) : 'admin') as Role;
      if (!ROLES.includes(role)) throw new Error(`unknown role "${role}" in ${source} (use reader, writer or admin)`);
      if (token.length < 8) throw new Error(`API tokens must be at least 8 characters (in ${source})`);
      return { token, role };
    });
}

/** The admin token generated on first start, kept (owner-only) in the data dir across restarts. */
export function loadOrCreateAdminToken(dataDir: string, make: () => string = newAdminToken): { token: string; created: boolean } {
  const file = join(dataDir, 'admin-token');
  // Created exclusively: never written through a link planted there, never over another's.
  const { text, created } = readOrCreatePrivateFile(file, () => `${make()}\n`);
  return { token: text.trim(), created };
}

export function newAdminToken(): string {
  return `orloj_${randomBytes(32).toString('base64url')}`;
}

/** The admin token in the data dir, if one was generated there. */
export function storedAdminToken(dataDir: string): string | undefined {
  try {
    return readFileSync(join(dataDir, 'admin-token'), 'utf8').trim() || undefined;
  } catch {
    return undefined;
  }
}
