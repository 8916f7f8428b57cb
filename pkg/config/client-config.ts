import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
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
