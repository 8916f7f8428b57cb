import { existsSync } from 'node:fs';
import { clientConfigPath, readClientConfig } from '../config/client-config.js';
import type { Args, FlagDef } from './args.js';
import { Client } from './client.js';

export const DEFAULT_SERVER = 'http://127.0.0.1:8080';
export const DEFAULT_NAMESPACE = 'default';

/** Flags accepted anywhere on the line, by every command. */
export const GLOBAL_FLAGS: FlagDef[] = [
  { name: 'server', type: 'string', arg: 'URL', help: `orlojd address (env ORLOJ_SERVER; default ${DEFAULT_SERVER})` },
  { name: 'token', type: 'string', arg: 'T', help: 'API bearer token (env ORLOJ_TOKEN)' },
  { name: 'namespace', short: 'n', type: 'string', arg: 'NS', help: 'namespace (env ORLOJ_NAMESPACE; default default)' },
  { name: 'all-namespaces', short: 'A', type: 'bool', help: 'list across all namespaces (get)' },
  { name: 'help', short: 'h', type: 'bool', help: 'show help' },
];

export interface CliContext {
  client: Client;
  /** The namespace for objects that do not name one. */
  namespace: string;
  allNamespaces: boolean;
  /** Writes to stdout; each call goes out at once (watch latency depends on it). */
  out(text: string): void;
}

/** `host:port` means plain HTTP on loopback setups; a URL with a scheme is taken as it is. */
const withScheme = (server: string): string => (/^[a-z][a-z0-9+.-]*:\/\//i.test(server) ? server : `http://${server}`);

/** Resolution order: flag > environment > client config file > default. */
export function makeContext(args: Args, env: NodeJS.ProcessEnv): CliContext {
  const path = clientConfigPath(env);
  const cfg = readClientConfig(path);
  if (!cfg && existsSync(path)) process.stderr.write(`warning: ignoring the client config ${path}: it is not valid JSON\n`);
  const server = withScheme(args.str('server') || env.ORLOJ_SERVER || cfg?.server || DEFAULT_SERVER);
  const token = args.str('token') || env.ORLOJ_TOKEN || cfg?.token || undefined;
  const namespace = args.str('namespace') || env.ORLOJ_NAMESPACE || cfg?.namespace || DEFAULT_NAMESPACE;
  return {
    client: new Client(server, token),
    namespace,
    allNamespaces: args.bool('all-namespaces'),
    out: (text) => void process.stdout.write(text),
  };
}
