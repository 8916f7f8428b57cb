import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';

/** What orlojctl needs to reach a server; orlojd writes one on first start. */
export interface ClientConfig {
  server: string;
  token?: string;
  namespace?: string;
}

export function clientConfigPath(env: NodeJS.ProcessEnv = process.env): string {
  if (env.ORLOJ_CONFIG) return env.ORLOJ_CONFIG;
  const base = env.XDG_CONFIG_HOME || join(homedir(), '.config');
  return join(base, 'orloj', 'config.json');
}

export function readClientConfig(path: string): ClientConfig | undefined {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as ClientConfig;
  } catch {
    return undefined;
  }
}

export function writeClientConfig(path: string, cfg: ClientConfig): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  // The file holds a bearer token: readable by its owner only.
  writeFileSync(path, `${JSON.stringify(cfg, null, 2)}\n`, { mode: 0o600 });
}

export type ConfigOutcome = 'written' | 'updated' | 'unchanged' | 'kept';

/**
 * What orlojd does with the client config when it generated the admin token: writes it
 * when there is none; for one that points at this server, refreshes the token and keeps
 * the user's other settings (namespace, ...); one that points elsewhere (another instance,
 * a remote server) is left alone. A config readable by others is tightened to 0600.
 */
export function offerClientConfig(path: string, server: string, token: string): ConfigOutcome {
  if (!existsSync(path)) {
    writeClientConfig(path, { server, token });
    return 'written';
  }
  if ((statSync(path).mode & 0o077) !== 0) chmodSync(path, 0o600);
  const cur = readClientConfig(path);
  if (!cur || cur.server !== server) return 'kept';
  if (cur.token === token) return 'unchanged';
  writeClientConfig(path, { ...cur, token });
  return 'updated';
}
