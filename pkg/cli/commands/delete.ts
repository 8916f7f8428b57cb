import type { KindDef } from '../../api/kind.js';
import { matchesSelector, parseSelector, type Requirement } from '../../api/selector.js';
import type { Args } from '../args.js';
import { checkNames, nsQuery, resourcePath } from '../client.js';
import { FILENAME, RECURSIVE, resolveKind, type Command } from '../command.js';
import type { CliContext } from '../context.js';
import { ServerError, UsageError, isNotFound } from '../errors.js';
import { loadManifests, manifestNamespace, ref, sortForApply, where } from '../manifests.js';
import type { Obj } from '../table.js';
import { listAll } from '../watch.js';

interface Target {
  def: KindDef;
  name: string;
  namespace: string;
  /** Prefix for error lines (file and document) when the target came from a file. */
  origin?: string;
  /** Chosen by a label selector: deleted only at the version listed, or while it still matches. */
  selected?: { resourceVersion: string | undefined; selector: Requirement[] };
  /** Printed after `deleted` (the namespace, when deleting across all of them). */
  suffix?: string;
}

/** Rounds of delete, 409, read again, when a selected object changes under the delete. */
const ATTEMPTS = 3;

async function targets(ctx: CliContext, args: Args): Promise<Target[]> {
  const files = args.list('filename');
  const bulk = args.has('selector') || args.bool('all');
  if (ctx.allNamespaces && !bulk) throw new UsageError('-A deletes by -l SELECTOR or --all only (a name or file addresses one namespace)', 'delete');
  if (bulk) return selected(ctx, args);
  if (files.length) {
    if (args.positionals.length) throw new UsageError('give either KIND NAME... or -f, not both', 'delete');
    // Reverse apply order: what lives in a namespace goes before the namespace.
    return sortForApply(loadManifests(files))
      .reverse()
      .map((m) => ({ def: m.def, name: m.obj.metadata.name, namespace: manifestNamespace(m, ctx.namespace), origin: where(m) }));
  }
  const [kind, ...names] = args.positionals;
  if (!kind || !names.length) throw new UsageError('delete needs KIND NAME [NAME...], KIND -l SELECTOR, KIND --all or -f FILE', 'delete');
  const def = resolveKind(kind);
  return checkNames(names).map((name) => ({ def, name, namespace: ctx.namespace }));
}

/** `delete KIND -l SELECTOR` and `delete KIND --all`: what the list answers, in this namespace or (-A) every one. */
async function selected(ctx: CliContext, args: Args): Promise<Target[]> {
  const selectorText = args.str('selector');
  if (selectorText !== undefined && args.bool('all')) throw new UsageError('give either -l SELECTOR or --all, not both', 'delete');
  // An empty selector matches everything: that is what --all says, explicitly.
  if (selectorText !== undefined && !selectorText.trim()) throw new UsageError('-l needs a selector (to delete every object of a kind, say --all)', 'delete');
  if (args.list('filename').length) throw new UsageError('-l and --all take a KIND, not -f', 'delete');
  const [kind, ...rest] = args.positionals;
  if (!kind) throw new UsageError(`delete ${selectorText !== undefined ? '-l SELECTOR' : '--all'} needs a KIND`, 'delete');
  if (rest.length) throw new UsageError('names cannot be given with -l or --all', 'delete');
  const def = resolveKind(kind);
  const allNs = ctx.allNamespaces && def.namespaced;
  const query = { ...(allNs ? { allNamespaces: 'true' } : nsQuery(def, ctx.namespace)), labelSelector: selectorText };
  const { items } = await listAll(ctx.client, resourcePath(def), query);
  if (!items.length) {
    process.stderr.write(def.namespaced && !allNs ? `No resources found in ${ctx.namespace} namespace.\n` : 'No resources found.\n');
    return [];
  }
  const selector = selectorText === undefined ? undefined : parseSelector(selectorText);
  return items.map((o) => ({
    def,
    name: o.metadata.name,
    namespace: o.metadata.namespace || ctx.namespace,
    selected: selector && { resourceVersion: o.metadata.resourceVersion, selector },
    suffix: allNs ? ` from namespace ${o.metadata.namespace}` : '',
  }));
}

/**
 * Deletes one object. A selected one is deleted at the version listed; if it changed since, it
 * is read again and deleted only if it still matches (a relabelled object is left alone).
 * Resolves false when there was nothing (left) to delete.
 */
async function deleteOne(ctx: CliContext, t: Target, cascade: boolean): Promise<boolean> {
  const path = resourcePath(t.def, t.name);
  const query = { ...nsQuery(t.def, t.namespace), ...(cascade ? { cascade: 'true' } : {}) };
  let rv = t.selected?.resourceVersion;
  for (let attempt = 1; ; attempt++) {
    try {
      await ctx.client.request('DELETE', path, { ...query, resourceVersion: rv });
      return true;
    } catch (e) {
      if (!t.selected) throw e;
      if (isNotFound(e)) return false; // deleted by someone else meanwhile
      if (!(e instanceof ServerError && e.code === 409) || attempt >= ATTEMPTS) throw e;
    }
    const now = await ctx.client.get<Obj>(path, query).catch((e: unknown) => {
      if (isNotFound(e)) return undefined;
      throw e;
    });
    if (!now || !matchesSelector(now.metadata.labels as Record<string, string> | undefined, t.selected.selector)) return false;
    rv = now.metadata.resourceVersion;
  }
}

async function run(ctx: CliContext, args: Args): Promise<number> {
  let failed = 0;
  const cascade = args.bool('cascade');
  for (const t of await targets(ctx, args)) {
    try {
      if (await deleteOne(ctx, t, cascade)) ctx.out(`${ref(t.def, t.name)} deleted${t.suffix ?? ''}\n`);
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
  summary: 'Delete resources by kind and name, by label selector or all of a kind, or those named in files',
  usage: [
    'orlojctl delete KIND NAME [NAME...] [--ignore-not-found] [--cascade]',
    'orlojctl delete KIND -l SELECTOR [-A] [--cascade]',
    'orlojctl delete KIND --all [-A] [--cascade]',
    'orlojctl delete -f FILE|DIR [-R] [--ignore-not-found] [--cascade]',
  ].join('\n'),
  flags: [
    FILENAME,
    RECURSIVE,
    { name: 'selector', short: 'l', type: 'string', arg: 'SEL', help: 'delete the objects of KIND whose labels match, e.g. app=x,tier!=web' },
    { name: 'all', type: 'bool', help: 'delete every object of KIND in the namespace (with -A: in every namespace)' },
    { name: 'ignore-not-found', type: 'bool', help: 'treat a missing resource as deleted' },
    { name: 'cascade', type: 'bool', help: "also delete what it owns (a task-webhook's run tasks); without it they stay" },
  ],
  run,
};
