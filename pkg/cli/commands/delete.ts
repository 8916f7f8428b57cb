import type { KindDef } from '../../api/kind.js';
import type { Args } from '../args.js';
import { checkNames, nsQuery, resourcePath } from '../client.js';
import { FILENAME, RECURSIVE, resolveKind, type Command } from '../command.js';
import type { CliContext } from '../context.js';
import { ServerError, UsageError, isNotFound } from '../errors.js';
import { loadManifests, manifestNamespace, ref, sortForApply, where } from '../manifests.js';

interface Target {
  def: KindDef;
  name: string;
  namespace: string;
  /** Prefix for error lines (file and document) when the target came from a file. */
  origin?: string;
}

function targets(ctx: CliContext, args: Args): Target[] {
  const files = args.list('filename');
  if (files.length) {
    if (args.positionals.length) throw new UsageError('give either KIND NAME... or -f, not both', 'delete');
    // Reverse apply order: what lives in a namespace goes before the namespace.
    return sortForApply(loadManifests(files))
      .reverse()
      .map((m) => ({ def: m.def, name: m.obj.metadata.name, namespace: manifestNamespace(m, ctx.namespace), origin: where(m) }));
  }
  const [kind, ...names] = args.positionals;
  if (!kind || !names.length) throw new UsageError('delete needs KIND NAME [NAME...] or -f FILE', 'delete');
  const def = resolveKind(kind);
  return checkNames(names).map((name) => ({ def, name, namespace: ctx.namespace }));
}

async function run(ctx: CliContext, args: Args): Promise<number> {
  let failed = 0;
  const cascade = args.bool('cascade') ? { cascade: 'true' } : {};
  for (const t of targets(ctx, args)) {
    try {
      await ctx.client.request('DELETE', resourcePath(t.def, t.name), { ...nsQuery(t.def, t.namespace), ...cascade });
      ctx.out(`${ref(t.def, t.name)} deleted\n`);
    } catch (e) {
      if (!(e instanceof ServerError)) throw e;
      if (isNotFound(e) && args.bool('ignore-not-found')) continue;
      process.stderr.write(`${t.origin ? `${t.origin}: ` : ''}${e.message}\n`);
      failed++;
    }
  }
  return failed ? 1 : 0;
}

export const deleteCommand: Command = {
  name: 'delete',
  summary: 'Delete resources by kind and name, or those named in files',
  usage: 'orlojctl delete KIND NAME [NAME...] [--ignore-not-found] [--cascade]\norlojctl delete -f FILE|DIR [-R] [--ignore-not-found] [--cascade]',
  flags: [FILENAME, RECURSIVE, { name: 'ignore-not-found', type: 'bool', help: 'treat a missing resource as deleted' }, { name: 'cascade', type: 'bool', help: "also delete what it owns (a task-webhook's run tasks); without it they stay" }],
  run,
};
