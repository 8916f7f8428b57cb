import type { KindDef } from '../../api/kind.js';
import type { Args } from '../args.js';
import { nsQuery, resourcePath, type Query } from '../client.js';
import type { Command } from '../command.js';
import type { CliContext } from '../context.js';
import { UsageError, describeError, isNotFound } from '../errors.js';
import { isTabular, makePrinter, parseOutputSpec, type OutputSpec, type Printer } from '../printer.js';
import { sortGroups, sortPath } from '../sort.js';
import type { Obj } from '../table.js';
import { parseTargets, type Target } from '../targets.js';
import { listAll, openWatch, type WatchEvent } from '../watch.js';
import { getDeliveries } from './deliveries.js';
import { getDocuments } from './documents.js';

/** Things `get` shows that are not registry kinds. */
const extraResources: Record<string, Command['run']> = {
  deliveries: getDeliveries, delivery: getDeliveries, documents: getDocuments, document: getDocuments, docs: getDocuments, doc: getDocuments,
};

function listQuery(ctx: CliContext, def: KindDef, args: Args, allNs: boolean): Query {
  return { ...(allNs ? { allNamespaces: 'true' } : nsQuery(def, ctx.namespace)), labelSelector: args.str('selector') };
}

function noneFound(ctx: CliContext, defs: KindDef[], allNs: boolean): string {
  return defs.every((d) => d.namespaced) && !allNs ? `No resources found in ${ctx.namespace} namespace.` : 'No resources found.';
}

/** A kind's objects as asked for; `missing` holds the NotFound messages of names that are not there. */
interface Fetched {
  def: KindDef;
  items: Obj[];
  missing: string[];
}

async function fetchTarget(ctx: CliContext, t: Target, query: Query): Promise<Fetched> {
  if (!t.names.length) return { def: t.def, items: (await listAll(ctx.client, resourcePath(t.def), query)).items, missing: [] };
  const got = await Promise.all(
    t.names.map((name) =>
      ctx.client.get<Obj>(resourcePath(t.def, name), nsQuery(t.def, ctx.namespace)).catch((e: unknown) => {
        if (!isNotFound(e)) throw e;
        return describeError(e);
      }),
    ),
  );
  return { def: t.def, items: got.filter((g): g is Obj => typeof g !== 'string'), missing: got.filter((g): g is string => typeof g === 'string') };
}

interface Follow {
  def: KindDef;
  query: Query;
  rv: string | undefined;
  names: string[];
  printer: Printer;
}

/** Prints changes as they come, reconnecting from the last seen version if the stream ends. */
async function follow(ctx: CliContext, stream: AsyncGenerator<WatchEvent>, f: Follow): Promise<never> {
  const { query, names, printer } = f;
  let rv = f.rv;
  const path = resourcePath(f.def);
  for (;;) {
    for await (const e of stream) {
      rv = e.object.metadata.resourceVersion ?? rv;
      if (names.length && !names.includes(e.object.metadata.name)) continue;
      ctx.out(printer.one(e.object));
    }
    await new Promise((r) => setTimeout(r, 100));
    stream = await openWatch(ctx.client, path, { ...query, resourceVersion: rv });
  }
}

/** -w: the current objects, then every change; one kind only, as kubectl's watch. */
async function watch(ctx: CliContext, t: Target, spec: OutputSpec, opts: { query: Query; allNs: boolean; sortBy?: string }): Promise<never> {
  const { def, names } = t;
  const printer = makePrinter(def, spec, opts.allNs);
  const list = await listAll(ctx.client, resourcePath(def), opts.query);
  let items = names.length ? list.items.filter((o) => names.includes(o.metadata.name)) : list.items;
  if (opts.sortBy) [items] = sortGroups([items], opts.sortBy);
  // Open the watch before printing: once the table is out, no change can be missed or late.
  const stream = await openWatch(ctx.client, resourcePath(def), { ...opts.query, resourceVersion: list.resourceVersion });
  if (items.length) ctx.out(printer.first(items));
  else if (isTabular(spec)) process.stderr.write(`${noneFound(ctx, [def], opts.allNs)}\n`);
  return follow(ctx, stream, { def, query: opts.query, rv: list.resourceVersion, names, printer });
}

/** Tables one per kind (a blank line between, as kubectl), anything else one answer for all. */
function print(ctx: CliContext, results: Fetched[], spec: OutputSpec, allNs: boolean, single: boolean): void {
  const several = results.length > 1;
  if (spec.format === 'table' || spec.format === 'wide') {
    const tables = results.filter((r) => r.items.length).map((r) => makePrinter(r.def, spec, allNs && r.def.namespaced, several).list(r.items, false));
    ctx.out(tables.join(spec.noHeaders ? '' : '\n'));
    return;
  }
  ctx.out(makePrinter(results[0]!.def, spec, allNs, several).list(results.flatMap((r) => r.items), single));
}

async function run(ctx: CliContext, args: Args): Promise<number> {
  const kindArg = args.positionals[0];
  const extra = kindArg && extraResources[kindArg.toLowerCase()];
  if (extra) return extra(ctx, args);
  const targets = parseTargets(args.positionals);
  const spec = parseOutputSpec(args);
  const sortBy = sortPath(args.str('sort-by'));
  const named = targets.some((t) => t.names.length);
  const allNs = ctx.allNamespaces && targets.some((t) => t.def.namespaced);
  if (named && allNs) throw new UsageError('a resource cannot be retrieved by name across all namespaces', 'get');
  if (named && args.has('selector')) throw new UsageError('names and -l selector cannot be combined', 'get');

  if (args.bool('watch')) {
    if (targets.length > 1) throw new UsageError(`watch is only supported on one resource type at a time, but ${targets.length} were given`, 'get');
    const t = targets[0]!;
    return watch(ctx, t, spec, { query: listQuery(ctx, t.def, args, allNs && t.def.namespaced), allNs: allNs && t.def.namespaced, sortBy });
  }

  let results = await Promise.all(targets.map((t) => fetchTarget(ctx, t, listQuery(ctx, t.def, args, allNs && t.def.namespaced))));
  for (const r of results) for (const m of r.missing) process.stderr.write(`${m}\n`);
  if (sortBy) {
    const sorted = sortGroups(results.map((r) => r.items), sortBy);
    results = results.map((r, i) => ({ ...r, items: sorted[i]! }));
  }
  const found = results.some((r) => r.items.length);
  if (!found && !named && isTabular(spec)) process.stderr.write(`${noneFound(ctx, results.map((r) => r.def), allNs)}\n`);
  else if (found || !named) print(ctx, results, spec, allNs, targets.length === 1 && targets[0]!.names.length === 1);
  return results.some((r) => r.missing.length) ? 1 : 0;
}

export const getCommand: Command = {
  name: 'get',
  summary: 'List resources or show one, as a table, YAML, JSON or names; -w follows changes',
  usage: [
    'orlojctl get KIND [NAME...] [-o FORMAT] [-l SELECTOR] [-A] [-w] [--sort-by PATH] [--no-headers] [--show-labels] [-L KEY]',
    'orlojctl get KIND,KIND... [NAME...]   a table for each kind',
    'orlojctl get KIND/NAME [KIND/NAME...]',
    'orlojctl get all                      task-webhooks, inbound-webhooks, triggers, tasks, collections, sources',
    "orlojctl get tw -o jsonpath='{range .items[*]}{.metadata.name}{\"\\n\"}{end}'",
    'orlojctl get tw -o custom-columns=NAME:.metadata.name,READY:.status.conditions[?(@.type=="Ready")].status',
    'orlojctl get deliveries [--for KIND/NAME] [--outcome OUTCOME] [--limit N] [-o wide|json|yaml] [-w]',
    'orlojctl get documents -c COLLECTION [ID...] [--where FIELD=VALUE ...] [--include-deleted] [-o wide|json|yaml|name]',
  ].join('\n'),
  flags: [
    { name: 'output', short: 'o', type: 'string', arg: 'FORMAT', help: 'table (default), wide, yaml, json, name, jsonpath=TEMPLATE or custom-columns=HEADER:PATH,...' },
    { name: 'selector', short: 'l', type: 'string', arg: 'SEL', help: 'label selector, e.g. app=x,tier!=web' },
    { name: 'watch', short: 'w', type: 'bool', help: 'after listing, print each change as it happens (deliveries: each new record)' },
    { name: 'sort-by', type: 'string', arg: 'PATH', help: 'sort by the value at this JSONPath, e.g. .metadata.name or .metadata.creationTimestamp' },
    { name: 'no-headers', type: 'bool', help: 'tables (default, wide, custom-columns, deliveries): no header line' },
    { name: 'show-labels', type: 'bool', help: 'tables: a LABELS column with every label' },
    { name: 'label-columns', short: 'L', type: 'list', arg: 'KEY,...', help: 'tables: a column for the value of each of these labels (repeatable)' },
    { name: 'for', type: 'string', arg: 'KIND/NAME', help: 'deliveries: only those of this receiver or trigger, e.g. task-webhook/NAME, trigger/NAME' },
    { name: 'outcome', type: 'string', arg: 'OUTCOME', help: 'deliveries: accepted, duplicate, rejected; a trigger\'s: delivered, retry_scheduled, dead_letter, ...' },
    { name: 'limit', type: 'string', arg: 'N', help: 'deliveries: how many, newest first (default 100)' },
    { name: 'collection', short: 'c', type: 'string', arg: 'NAME', help: 'documents: the collection they belong to' },
    { name: 'where', type: 'list', arg: 'FIELD=VALUE', help: 'documents: only those whose top-level field equals the value (repeatable)' },
    { name: 'include-deleted', type: 'bool', help: 'documents: soft-deleted ones too' },
  ],
  run,
};
