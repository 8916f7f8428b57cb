import type { KindDef } from '../../api/kind.js';
import type { Args } from '../args.js';
import { checkNames, nsQuery, resourcePath, type Query } from '../client.js';
import { kindNames, resolveKind, type Command } from '../command.js';
import type { CliContext } from '../context.js';
import { UsageError, describeError, isNotFound } from '../errors.js';
import { makePrinter, parseOutput, type Printer } from '../printer.js';
import type { Obj } from '../table.js';
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

function noneFound(ctx: CliContext, def: KindDef, allNs: boolean): string {
  return def.namespaced && !allNs ? `No resources found in ${ctx.namespace} namespace.` : 'No resources found.';
}

/** Named objects one GET each; missing ones are reported and make the exit code 1. */
async function getNamed(ctx: CliContext, def: KindDef, names: string[]): Promise<{ items: Obj[]; failed: boolean }> {
  const items: Obj[] = [];
  let failed = false;
  for (const name of names) {
    try {
      items.push(await ctx.client.get<Obj>(resourcePath(def, name), nsQuery(def, ctx.namespace)));
    } catch (e) {
      if (!isNotFound(e)) throw e;
      process.stderr.write(`${describeError(e)}\n`);
      failed = true;
    }
  }
  return { items, failed };
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

async function run(ctx: CliContext, args: Args): Promise<number> {
  const [kindArg, ...names] = args.positionals;
  if (!kindArg) throw new UsageError(`you must name a resource type (${kindNames()})`, 'get');
  const extra = extraResources[kindArg.toLowerCase()];
  if (extra) return extra(ctx, args);
  const def = resolveKind(kindArg);
  checkNames(names);
  const output = parseOutput(args.str('output'));
  const allNs = ctx.allNamespaces && def.namespaced;
  if (names.length && allNs) throw new UsageError('a resource cannot be retrieved by name across all namespaces', 'get');
  if (names.length && args.has('selector')) throw new UsageError('names and -l selector cannot be combined', 'get');
  const printer = makePrinter(def, output, allNs);
  const query = listQuery(ctx, def, args, allNs);

  if (args.bool('watch')) {
    const list = await listAll(ctx.client, resourcePath(def), query);
    const items = names.length ? list.items.filter((o) => names.includes(o.metadata.name)) : list.items;
    // Open the watch before printing: once the table is out, no change can be missed or late.
    const stream = await openWatch(ctx.client, resourcePath(def), { ...query, resourceVersion: list.resourceVersion });
    if (items.length || output === 'yaml' || output === 'json') ctx.out(printer.list(items, false));
    else process.stderr.write(`${noneFound(ctx, def, allNs)}\n`);
    return follow(ctx, stream, { def, query, rv: list.resourceVersion, names, printer });
  }

  const { items, failed } = names.length ? await getNamed(ctx, def, names) : { ...(await listAll(ctx.client, resourcePath(def), query)), failed: false };
  if (!items.length && !names.length && (output === 'table' || output === 'wide' || output === 'name')) {
    process.stderr.write(`${noneFound(ctx, def, allNs)}\n`);
  } else if (items.length || !names.length) {
    ctx.out(printer.list(items, names.length === 1));
  }
  return failed ? 1 : 0;
}

export const getCommand: Command = {
  name: 'get',
  summary: 'List resources or show one, as a table, YAML, JSON or names; -w follows changes',
  usage: 'orlojctl get KIND [NAME...] [-o table|wide|yaml|json|name] [-l SELECTOR] [-A] [-w]\norlojctl get deliveries [--for KIND/NAME] [--outcome OUTCOME] [--limit N] [-o wide|json|yaml]\norlojctl get documents -c COLLECTION [ID...] [--where FIELD=VALUE ...] [--include-deleted] [-o wide|json|yaml|name]',
  flags: [
    { name: 'output', short: 'o', type: 'string', arg: 'FORMAT', help: 'table (default), wide, yaml, json or name' },
    { name: 'selector', short: 'l', type: 'string', arg: 'SEL', help: 'label selector, e.g. app=x,tier!=web' },
    { name: 'watch', short: 'w', type: 'bool', help: 'after listing, print each change as it happens' },
    { name: 'for', type: 'string', arg: 'KIND/NAME', help: 'deliveries: only those of this receiver or trigger, e.g. task-webhook/NAME, trigger/NAME' },
    { name: 'outcome', type: 'string', arg: 'OUTCOME', help: 'deliveries: accepted, duplicate, rejected; a trigger\'s: delivered, retry_scheduled, dead_letter, ...' },
    { name: 'limit', type: 'string', arg: 'N', help: 'deliveries: how many, newest first (default 100)' },
    { name: 'collection', short: 'c', type: 'string', arg: 'NAME', help: 'documents: the collection they belong to' },
    { name: 'where', type: 'list', arg: 'FIELD=VALUE', help: 'documents: only those whose top-level field equals the value (repeatable)' },
    { name: 'include-deleted', type: 'bool', help: 'documents: soft-deleted ones too' },
  ],
  run,
};
