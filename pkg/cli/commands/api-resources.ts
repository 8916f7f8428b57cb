// `orlojctl api-resources`: the kinds, from the registry compiled into this client. No server
// call: orlojctl and orlojd share the registry, so it works offline and at the speed of --help;
// `version` shows when a server runs another build.
import type { KindDef } from '../../api/kind.js';
import { kinds } from '../../api/registry.js';
import type { Args } from '../args.js';
import type { Command } from '../command.js';
import type { CliContext } from '../context.js';
import { UsageError } from '../errors.js';
import { Table } from '../table.js';

const API_VERSION = 'orloj.dev/v1';

/** Short names proper: the aliases that are not just a name without its dashes (`tw`, not `taskwebhooks`). */
export function shortNames(def: KindDef): string[] {
  const long = new Set([def.kind, def.plural, def.singular].map((n) => n.toLowerCase().replace(/-/g, '')));
  return def.aliases.filter((a) => !long.has(a.toLowerCase().replace(/-/g, '')));
}

function selected(args: Args): KindDef[] {
  const all = [...kinds].sort((a, b) => a.plural.localeCompare(b.plural));
  if (!args.has('namespaced')) return all;
  const namespaced = args.bool('namespaced');
  return all.filter((k) => k.namespaced === namespaced);
}

async function run(ctx: CliContext, args: Args): Promise<number> {
  if (args.positionals.length) throw new UsageError(`api-resources takes no arguments (got "${args.positionals.join(' ')}")`, 'api-resources');
  const output = args.str('output');
  if (output !== undefined && output !== 'name') throw new UsageError(`unknown output format "${output}" (use name, or none for a table)`, 'api-resources');
  const defs = selected(args);
  if (output === 'name') {
    ctx.out(defs.map((k) => `${k.plural}\n`).join(''));
    return 0;
  }
  const rows = defs.map((k) => [k.plural, shortNames(k).join(','), API_VERSION, String(k.namespaced), k.kind]);
  ctx.out(new Table(['NAME', 'SHORTNAMES', 'APIVERSION', 'NAMESPACED', 'KIND']).render(rows));
  return 0;
}

export const apiResourcesCommand: Command = {
  name: 'api-resources',
  summary: 'List the resource types: name, short names, API version, whether namespaced, kind',
  usage: 'orlojctl api-resources [-o name] [--namespaced=true|false]',
  flags: [
    { name: 'output', short: 'o', type: 'string', arg: 'FORMAT', help: 'name: the resource names only' },
    { name: 'namespaced', type: 'bool', help: 'only namespaced kinds (true) or only cluster-wide ones (false)' },
  ],
  run,
};
