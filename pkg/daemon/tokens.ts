// Where orlojd's API tokens come from: --api-tokens, --api-tokens-file, or, with neither,
// the admin token generated on first start. On a shared store the first replica's token is
// kept there as a digest, so every replica accepts it.
import { readFileSync, statSync } from 'node:fs';
import type { Logger } from 'pino';
import { digest, loadOrCreateAdminToken, newAdminToken, parseTokenList, storedAdminToken, type Role } from '../apiserver/auth.js';
import type { SharedSettings, Store } from '../store/types.js';
import type { DaemonOptions } from './options.js';

type Token = { token: string; role: Role };

export interface ResolvedTokens {
  tokens: Token[];
  digests: Array<{ digest: string; role: Role }>;
  /** The generated admin token, when this replica has it in its data dir. */
  generated?: string;
}

function tokensFromFile(path: string, log: Logger): Token[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new Error(`cannot read the API tokens file ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  if (statSync(path).mode & 0o077) log.warn({ path }, 'the API tokens file can be read by other users');
  const tokens = parseTokenList(text, path);
  if (!tokens.length) throw new Error(`the API tokens file ${path} holds no token`);
  return tokens;
}

export async function resolveTokens(opts: DaemonOptions, store: Store, log: Logger): Promise<ResolvedTokens> {
  if (opts.apiTokens) return { tokens: parseTokenList(opts.apiTokens), digests: [] };
  if (opts.apiTokensFile) return { tokens: tokensFromFile(opts.apiTokensFile, log), digests: [] };
  if (store.shared) return sharedAdminToken(opts.dataDir, store.shared, log);
  const { token, created } = loadOrCreateAdminToken(opts.dataDir);
  if (created) log.info('generated an admin API token (kept in the data dir)');
  return { tokens: [{ token, role: 'admin' }], digests: [], generated: token };
}

/** The first replica's admin token wins; only that replica's data dir holds it in full. */
async function sharedAdminToken(dataDir: string, shared: SharedSettings, log: Logger): Promise<ResolvedTokens> {
  const candidate = storedAdminToken(dataDir) ?? newAdminToken();
  const kept = await shared.setOnce('admin-token-sha256', digest(candidate));
  if (kept !== digest(candidate)) {
    log.info('accepting the admin API token another replica generated (its data dir holds it)');
    return { tokens: [], digests: [{ digest: kept, role: 'admin' }] };
  }
  const { token, created } = loadOrCreateAdminToken(dataDir, () => candidate);
  if (created) log.info('generated an admin API token (kept in the data dir and, as a digest, in the shared store)');
  return { tokens: [{ token, role: 'admin' }], digests: [], generated: token };
}
