import { chmodSync, readFileSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { replacePrivateFile } from '../util/files.js';

/** Where and as whom orlojctl talks to a server: one named entry of the client config. */
export interface ContextConfig {
  server?: string;
  token?: string;
  namespace?: string;
}

/**
 * The client config file: named contexts and the one orlojctl uses unless told otherwise.
 * The flat `{server, token?, namespace?}` that orlojd wrote before contexts existed reads as
 * one context named `default`, current.
 */
export interface ClientConfig {
  currentContext?: string;
  contexts: Record<string, ContextConfig>;
}

/** The context name a fresh file, or a file of the old flat shape, has. */
export const DEFAULT_CONTEXT = 'default';

export type LoadedConfig =
  | { state: 'missing' }
  | { state: 'invalid'; problem: string }
  /** `flat`: the file has the old shape (orlojd keeps it so when it refreshes the token). */
  | { state: 'ok'; config: ClientConfig; flat: boolean };

export function clientConfigPath(env: NodeJS.ProcessEnv = process.env): string {
  if (env.ORLOJ_CONFIG) return env.ORLOJ_CONFIG;
  const base = env.XDG_CONFIG_HOME || join(homedir(), '.config');
  return join(base, 'orloj', 'config.json');
}

const FIELDS = ['server', 'token', 'namespace'] as const;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The known fields of one context (`prefix`: where it is in the file), or what is wrong with them. */
function parseContext(raw: unknown, prefix: string): ContextConfig | string {
  if (!isObject(raw)) return `${prefix.slice(0, -1)} is not an object`;
  const ctx: ContextConfig = {};
  for (const f of FIELDS) {
    const v = raw[f];
    if (v === undefined) continue;
    if (typeof v !== 'string') return `${prefix}${f} is not a string`;
    ctx[f] = v;
  }
  return ctx;
}

function parseConfig(raw: unknown): LoadedConfig {
  if (!isObject(raw)) return { state: 'invalid', problem: 'it is not a JSON object' };
  if (raw.contexts === undefined && FIELDS.some((f) => f in raw)) {
    const flat = parseContext(raw, '');
    if (typeof flat === 'string') return { state: 'invalid', problem: flat };
    return { state: 'ok', flat: true, config: { currentContext: DEFAULT_CONTEXT, contexts: { [DEFAULT_CONTEXT]: flat } } };
  }
  if (raw.currentContext !== undefined && typeof raw.currentContext !== 'string') return { state: 'invalid', problem: 'currentContext is not a string' };
  if (raw.contexts !== undefined && !isObject(raw.contexts)) return { state: 'invalid', problem: 'contexts is not an object' };
  const contexts: Record<string, ContextConfig> = {};
  for (const [name, c] of Object.entries(raw.contexts ?? {})) {
    const ctx = parseContext(c, `contexts.${name}.`);
    if (typeof ctx === 'string') return { state: 'invalid', problem: ctx };
    contexts[name] = ctx;
  }
  return { state: 'ok', flat: false, config: { ...(raw.currentContext ? { currentContext: raw.currentContext } : {}), contexts } };
}

export function loadClientConfig(path: string): LoadedConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { state: 'missing' };
    return { state: 'invalid', problem: `it cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})` };
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return { state: 'invalid', problem: 'it is not valid JSON' };
  }
  return parseConfig(raw);
}

/** Writes the config in its contexts shape (a file of the old flat shape becomes one). */
export function writeClientConfig(path: string, cfg: ClientConfig): void {
  replacePrivateFile(path, `${JSON.stringify(cfg, null, 2)}\n`);
}

/** `host:port` means plain HTTP on loopback setups; a URL with a scheme is taken as it is. */
export const withScheme = (server: string): string => (/^[a-z][a-z0-9+.-]*:\/\//i.test(server) ? server : `http://${server}`);

/** Whether two server addresses name the same server (`127.0.0.1:8080` and `http://127.0.0.1:8080/`). */
export function sameServer(a: string | undefined, b: string): boolean {
  if (a === undefined) return false;
  const norm = (s: string): string => {
    try {
      const u = new URL(withScheme(s));
      return `${u.origin}${u.pathname.replace(/\/+$/, '')}`;
    } catch {
      return s;
    }
  };
  return norm(a) === norm(b);
}

export type ConfigOutcome = 'written' | 'updated' | 'unchanged' | 'kept';

/**
 * What orlojd does with the client config when it generated the admin token: writes one with
 * a context `default` for this server when there is none; refreshes the token of every
 * context that points at this server, keeping the rest (namespaces, other contexts, which one
 * is current, and the file's shape); a file with no context for this server is left alone.
 * A config readable by others is tightened to 0600.
 */
export function offerClientConfig(path: string, server: string, token: string): ConfigOutcome {
  const loaded = loadClientConfig(path);
  if (loaded.state === 'missing') {
    writeClientConfig(path, { currentContext: DEFAULT_CONTEXT, contexts: { [DEFAULT_CONTEXT]: { server, token } } });
    return 'written';
  }
  const st = statSync(path);
  if (st.isFile() && (st.mode & 0o077) !== 0) chmodSync(path, 0o600);
  if (loaded.state === 'invalid') return 'kept';
  const ours = Object.values(loaded.config.contexts).filter((c) => sameServer(c.server, server));
  if (!ours.length) return 'kept';
  const stale = ours.filter((c) => c.token !== token);
  if (!stale.length) return 'unchanged';
  for (const c of stale) c.token = token;
  if (loaded.flat) replacePrivateFile(path, `${JSON.stringify(loaded.config.contexts[DEFAULT_CONTEXT], null, 2)}\n`);
  else writeClientConfig(path, loaded.config);
  return 'updated';
}
