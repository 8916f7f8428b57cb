// `orlojctl config ...`: the contexts of the client config file, as kubectl's `config` edits a
// kubeconfig. Only the file is read and written: no server is called.
import { loadClientConfig, withScheme, writeClientConfig, type ClientConfig, type ContextConfig } from '../../config/client-config.js';
import { nameProblem } from '../../api/meta.js';
import type { Args, FlagDef } from '../args.js';
import type { Command } from '../command.js';
import { knownContexts, type CliContext } from '../context.js';
import { CliError, UsageError } from '../errors.js';
import { Table } from '../table.js';
import { stringify } from '../yaml.js';

const usage = (message: string): UsageError => new UsageError(message, 'config');

/** The file's config (an empty one when there is none); a broken file is refused, never overwritten. */
function load(ctx: CliContext): ClientConfig {
  const loaded = loadClientConfig(ctx.configPath);
  if (loaded.state === 'invalid') throw new CliError(`the client config ${ctx.configPath} is unusable: ${loaded.problem}; fix or remove it`);
  return loaded.state === 'ok' ? loaded.config : { contexts: {} };
}

function existing(ctx: CliContext, cfg: ClientConfig, name: string): ContextConfig {
  const c = cfg.contexts[name];
  if (!c) throw new CliError(`no context named "${name}" in ${ctx.configPath} (${knownContexts(Object.keys(cfg.contexts))})`);
  return c;
}

function arity(args: Args, sub: string, min: number, max: number, shape: string): string[] {
  const rest = args.positionals.slice(1);
  if (rest.length < min || rest.length > max) throw usage(`expected: config ${sub}${shape ? ` ${shape}` : ''}`);
  return rest;
}

function getContexts(ctx: CliContext, args: Args): number {
  const names = arity(args, 'get-contexts', 0, Infinity, '[NAME...]');
  const output = args.str('output');
  if (output !== undefined && output !== 'name') throw usage(`unknown output format "${output}" for get-contexts (use name, or none for a table)`);
  const cfg = load(ctx);
  names.forEach((n) => existing(ctx, cfg, n));
  const shown = names.length ? names : Object.keys(cfg.contexts).sort();
  if (output === 'name') {
    ctx.out(shown.map((n) => `${n}\n`).join(''));
    return 0;
  }
  const rows = shown.map((n) => [n === cfg.currentContext ? '*' : '', n, cfg.contexts[n]!.server ?? '', cfg.contexts[n]!.namespace ?? '']);
  ctx.out(new Table(['CURRENT', 'NAME', 'SERVER', 'NAMESPACE']).render(rows));
  return 0;
}

function currentContext(ctx: CliContext, args: Args): number {
  arity(args, 'current-context', 0, 0, '');
  const { currentContext: name } = load(ctx);
  if (name === undefined) throw new CliError(`current-context is not set in ${ctx.configPath}`);
  ctx.out(`${name}\n`);
  return 0;
}

function useContext(ctx: CliContext, args: Args): number {
  const [name] = arity(args, 'use-context', 1, 1, 'NAME');
  const cfg = load(ctx);
  existing(ctx, cfg, name!);
  writeClientConfig(ctx.configPath, { ...cfg, currentContext: name });
  ctx.out(`Switched to context "${name}".\n`);
  return 0;
}

/** The value a set-context flag gives, checked; '' removes the field (kubectl's `--namespace=`). */
function flagValue(args: Args, field: keyof ContextConfig): string | undefined {
  const v = args.str(field);
  if (!v) return v;
  if (field === 'server') {
    let url: URL | undefined;
    try {
      url = new URL(withScheme(v));
    } catch {
      // reported below
    }
    if (!url || !['http:', 'https:'].includes(url.protocol)) throw usage(`--server "${v}" is not an http(s) URL or host:port`);
  }
  if (field === 'token' && !/^[\x21-\x7e]+$/.test(v)) throw usage('--token must be printable ASCII without spaces');
  const problem = field === 'namespace' ? nameProblem(v) : undefined;
  if (problem) throw usage(`--namespace "${v}" ${problem}`);
  return v;
}

function contextName(cfg: ClientConfig, args: Args): string {
  const [name] = arity(args, 'set-context', 0, 1, '[NAME | --current] [--server URL] [--token T] [--namespace NS]');
  if (name !== undefined && args.bool('current')) throw usage('give a context NAME or --current, not both');
  if (name !== undefined) {
    if (!/^[^\s/]+$/.test(name)) throw usage(`context name "${name}" may not be empty or hold spaces or slashes`);
    return name;
  }
  if (cfg.currentContext === undefined) throw usage('there is no current context: give the context NAME to set');
  return cfg.currentContext;
}

function setContext(ctx: CliContext, args: Args): number {
  const cfg = load(ctx);
  const name = contextName(cfg, args);
  const created = !cfg.contexts[name];
  const next: ContextConfig = { ...cfg.contexts[name] };
  for (const field of ['server', 'token', 'namespace'] as const) {
    if (!args.has(field)) continue;
    const v = flagValue(args, field);
    if (v) next[field] = v;
    else delete next[field];
  }
  writeClientConfig(ctx.configPath, { ...cfg, contexts: { ...cfg.contexts, [name]: next } });
  ctx.out(`Context "${name}" ${created ? 'created' : 'modified'}.\n`);
  return 0;
}

function deleteContext(ctx: CliContext, args: Args): number {
  const [name] = arity(args, 'delete-context', 1, 1, 'NAME');
  const cfg = load(ctx);
  existing(ctx, cfg, name!);
  const { [name!]: _gone, ...contexts } = cfg.contexts;
  const wasCurrent = cfg.currentContext === name;
  writeClientConfig(ctx.configPath, { ...(wasCurrent ? {} : { currentContext: cfg.currentContext }), contexts });
  ctx.out(`deleted context ${name} from ${ctx.configPath}\n`);
  if (wasCurrent) process.stderr.write(`warning: that was the current context; pick another with 'orlojctl config use-context NAME'\n`);
  return 0;
}

/** Tokens are bearer credentials: shown only with --raw, as kubectl hides them. */
function redacted(cfg: ClientConfig): ClientConfig {
  const contexts = Object.fromEntries(Object.entries(cfg.contexts).map(([n, c]) => [n, c.token === undefined ? c : { ...c, token: 'REDACTED' }]));
  return { ...cfg, contexts };
}

function view(ctx: CliContext, args: Args): number {
  arity(args, 'view', 0, 0, '[-o yaml|json] [--raw]');
  const output = args.str('output') ?? 'yaml';
  if (output !== 'yaml' && output !== 'json') throw usage(`unknown output format "${output}" for view (use yaml or json)`);
  const cfg = load(ctx);
  const shown = args.bool('raw') ? cfg : redacted(cfg);
  ctx.out(output === 'json' ? `${JSON.stringify(shown, null, 2)}\n` : stringify(shown, { lineWidth: 0 }));
  return 0;
}

const subcommands: Record<string, (ctx: CliContext, args: Args) => number> = {
  'get-contexts': getContexts,
  'current-context': currentContext,
  'use-context': useContext,
  'set-context': setContext,
  'delete-context': deleteContext,
  view,
};

async function run(ctx: CliContext, args: Args): Promise<number> {
  const sub = args.positionals[0];
  const handler = sub === undefined ? undefined : subcommands[sub];
  if (!handler) throw usage(`${sub === undefined ? 'a subcommand is required' : `unknown subcommand "${sub}"`} (${Object.keys(subcommands).join(', ')})`);
  return handler(ctx, args);
}

const flags: FlagDef[] = [
  { name: 'output', short: 'o', type: 'string', arg: 'FORMAT', help: 'get-contexts: name; view: yaml (default) or json' },
  { name: 'raw', type: 'bool', help: 'view: show tokens instead of REDACTED' },
  { name: 'current', type: 'bool', help: 'set-context: change the current context' },
  { name: 'server', type: 'string', arg: 'URL', help: "set-context: the context's server ('' removes it)" },
  { name: 'token', type: 'string', arg: 'T', help: "set-context: the context's API token ('' removes it)" },
  { name: 'namespace', short: 'n', type: 'string', arg: 'NS', help: "set-context: the context's namespace ('' removes it)" },
];

export const configCommand: Command = {
  name: 'config',
  summary: 'Show and edit the client config: contexts (server, token, namespace) and which one is current',
  usage: [
    'orlojctl config get-contexts [NAME...] [-o name]',
    'orlojctl config current-context',
    'orlojctl config use-context NAME',
    'orlojctl config set-context [NAME | --current] [--server URL] [--token T] [--namespace NS]',
    'orlojctl config delete-context NAME',
    'orlojctl config view [-o yaml|json] [--raw]',
  ].join('\n'),
  flags,
  run,
};
