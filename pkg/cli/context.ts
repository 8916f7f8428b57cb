import { clientConfigPath, loadClientConfig, withScheme, type ContextConfig } from '../config/client-config.js';
import type { Args, FlagDef } from './args.js';
import { Client } from './client.js';
import { CliError } from './errors.js';

export const DEFAULT_SERVER = 'http://127.0.0.1:8080';
export const DEFAULT_NAMESPACE = 'default';

/** Flags accepted anywhere on the line, by every command. */
export const GLOBAL_FLAGS: FlagDef[] = [
  { name: 'server', type: 'string', arg: 'URL', help: `orlojd address (env ORLOJ_SERVER; default ${DEFAULT_SERVER})` },
  { name: 'token', type: 'string', arg: 'T', help: 'API bearer token (env ORLOJ_TOKEN)' },
  { name: 'namespace', short: 'n', type: 'string', arg: 'NS', help: 'namespace (env ORLOJ_NAMESPACE; default default)' },
  { name: 'context', type: 'string', arg: 'NAME', help: 'the client config context to use for this call (default: its current context)' },
  { name: 'all-namespaces', short: 'A', type: 'bool', help: 'list across all namespaces (get)' },
  { name: 'help', short: 'h', type: 'bool', help: 'show help' },
];

export interface CliContext {
  client: Client;
  /** The namespace for objects that do not name one. */
  namespace: string;
  allNamespaces: boolean;
  /** The client config file (`orlojctl config` edits it). */
  configPath: string;
  /** Writes to stdout; each call goes out at once (watch latency depends on it). */
  out(text: string): void;
}

export function knownContexts(names: string[]): string {
  return names.length ? `known: ${names.join(', ')}` : 'the config has no contexts';
}

/** The context `--context` names, else the config's current one; none when there is neither. */
function chosenContext(args: Args, path: string): ContextConfig {
  const loaded = loadClientConfig(path);
  const wanted = args.str('context') || undefined;
  if (loaded.state === 'invalid') {
    if (wanted) throw new CliError(`cannot use context "${wanted}": the client config ${path} is unusable: ${loaded.problem}`);
    process.stderr.write(`warning: ignoring the client config ${path}: ${loaded.problem}\n`);
    return {};
  }
  const cfg = loaded.state === 'ok' ? loaded.config : { contexts: {} };
  const name = wanted ?? cfg.currentContext;
  if (name === undefined) return {};
  const ctx = cfg.contexts[name];
  if (ctx) return ctx;
  const names = Object.keys(cfg.contexts);
  if (wanted) throw new CliError(`no context named "${wanted}" in ${path} (${knownContexts(names)})`);
  throw new CliError(`the current context "${name}" of ${path} does not exist (${knownContexts(names)}); pick one with 'orlojctl config use-context NAME'`);
}

interface Target {
  client: Client;
  namespace: string;
}

/** Resolution order, field by field: flag > environment > chosen context > default. */
function resolveTarget(args: Args, env: NodeJS.ProcessEnv, path: string): Target {
  const cfg = chosenContext(args, path);
  const server = withScheme(args.str('server') || env.ORLOJ_SERVER || cfg.server || DEFAULT_SERVER);
  const token = args.str('token') || env.ORLOJ_TOKEN || cfg.token || undefined;
  const namespace = args.str('namespace') || env.ORLOJ_NAMESPACE || cfg.namespace || DEFAULT_NAMESPACE;
  return { client: new Client(server, token), namespace };
}

/**
 * The server and namespace are resolved when a command first asks for them: commands that
 * never call the server (`config`, `completion`, `api-resources`) keep working while the
 * chosen context is missing or the file is broken, so `config` can repair it.
 */
export function makeContext(args: Args, env: NodeJS.ProcessEnv): CliContext {
  const configPath = clientConfigPath(env);
  let target: Target | undefined;
  const resolved = (): Target => (target ??= resolveTarget(args, env, configPath));
  return {
    get client() {
      return resolved().client;
    },
    get namespace() {
      return resolved().namespace;
    },
    allNamespaces: args.bool('all-namespaces'),
    configPath,
    out: (text) => void process.stdout.write(text),
  };
}
