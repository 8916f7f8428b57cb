// Where orlojd's API tokens come from: --api-tokens, --api-tokens-file, or, with neither,
// the admin token generated on first start.
import { readFileSync, statSync } from 'node:fs';
import type { Logger } from 'pino';
import { loadOrCreateAdminToken, parseTokenList, type Role } from '../apiserver/auth.js';
import type { DaemonOptions } from './options.js';

type Token = { token: string; role: Role };

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

export function resolveTokens(opts: DaemonOptions, log: Logger): { tokens: Token[]; generated?: string } {
  if (opts.apiTokens) return { tokens: parseTokenList(opts.apiTokens) };
  if (opts.apiTokensFile) return { tokens: tokensFromFile(opts.apiTokensFile, log) };
  const { token, created } = loadOrCreateAdminToken(opts.dataDir);
  if (created) log.info('generated an admin API token (kept in the data dir)');
  return { tokens: [{ token, role: 'admin' }], generated: token };
}
