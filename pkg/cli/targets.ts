import type { KindDef } from '../api/kind.js';
import { kindNamed } from '../api/registry.js';
import { checkNames } from './client.js';
import { kindNames, resolveKind } from './command.js';
import { UsageError } from './errors.js';

/** One kind `get` was asked for, and the names given for it (none: list them all). */
export interface Target {
  def: KindDef;
  names: string[];
}

/** What `get all` lists: the kinds users write and watch. Not Secrets, nor Namespaces (as kubectl's `all`). */
export const ALL_KINDS = ['TaskWebhook', 'InboundWebhook', 'Trigger', 'Task', 'Collection', 'Source'];

function kindsOf(arg: string): KindDef[] {
  return arg.split(',').flatMap((k) => (k.toLowerCase() === 'all' ? ALL_KINDS.map((n) => kindNamed(n)!) : [resolveKind(k)]));
}

/** Pairs grouped by kind, kinds and names in the order first given, without repeats. */
function group(pairs: Array<{ def: KindDef; name?: string }>): Target[] {
  const byKind = new Map<KindDef, Target>();
  for (const { def, name } of pairs) {
    const t = byKind.get(def) ?? byKind.set(def, { def, names: [] }).get(def)!;
    if (name !== undefined && !t.names.includes(name)) t.names.push(name);
  }
  return [...byKind.values()];
}

function kindSlashName(arg: string): { def: KindDef; name: string } {
  const parts = arg.split('/');
  if (parts.length !== 2) throw new UsageError(`"${arg}" must be KIND/NAME, e.g. task-webhook/my-hook`, 'get');
  return { def: resolveKind(parts[0]!), name: checkNames([parts[1]!])[0]! };
}

/**
 * kubectl's forms: `KIND [NAME...]`, `KIND,KIND [NAME...]` (the names in each kind), `all`, and
 * `KIND/NAME [KIND/NAME...]`, which cannot be mixed with the others.
 */
export function parseTargets(positionals: string[]): Target[] {
  const [first, ...names] = positionals;
  if (!first) throw new UsageError(`you must name a resource type (${kindNames()})`, 'get');
  if (positionals.some((p) => p.includes('/'))) {
    if (!positionals.every((p) => p.includes('/'))) {
      throw new UsageError(
        "there is no need to specify a resource type as a separate argument when passing arguments in KIND/NAME form (e.g. 'orlojctl get task-webhook/NAME' instead of 'orlojctl get task-webhook task-webhook/NAME')",
        'get',
      );
    }
    return group(positionals.map(kindSlashName));
  }
  checkNames(names);
  return group(kindsOf(first).map((def) => ({ def }))).map((t) => ({ ...t, names: [...new Set(names)] }));
}
