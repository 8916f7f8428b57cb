import type { KindDef } from '../../api/kind.js';
import { applyOrder, kinds } from '../../api/registry.js';
import { matchesSelector, parseSelector } from '../../api/selector.js';
import { LAST_APPLIED } from '../../api/three-way.js';
import type { Args } from '../args.js';
import { nsQuery, resourcePath } from '../client.js';
import { DRY_RUN, FILENAME, RECURSIVE, needFiles, type Command } from '../command.js';
import type { CliContext } from '../context.js';
import { CliError, ServerError, UsageError, isNotFound } from '../errors.js';
import { inGroups, loadManifests, manifestNamespace, ref, sortForApply, where, type Manifest } from '../manifests.js';
import type { Obj } from '../table.js';
import { listAll } from '../watch.js';
import { stringify } from '../yaml.js';

const OUTPUTS = ['yaml', 'json', 'name'] as const;
type Output = (typeof OUTPUTS)[number];
const isOutput = (v: string): v is Output => (OUTPUTS as readonly string[]).includes(v);

interface Options {
  dryRun: boolean;
  output?: Output;
  selector?: string;
  prune: boolean;
}

/** One document's answer: the object the server wrote (or would), or why it refused. */
type Outcome = { object: Obj; result: string } | { error: ServerError };

function options(args: Args): Options {
  if (args.positionals.length) throw new UsageError(`unexpected argument "${args.positionals[0]}" (files go after -f)`, 'apply');
  const output = args.str('output');
  if (output !== undefined && !isOutput(output)) {
    throw new UsageError(`unknown output format "${output}" for apply (use ${OUTPUTS.join(', ')})`, 'apply');
  }
  const selector = args.str('selector');
  // As kubectl: without a selector, "everything not in the files" would be every object there is.
  if (args.bool('prune') && !selector) throw new UsageError('--prune needs -l SELECTOR: it deletes the objects of that selector that are not in the files', 'apply');
  if (selector !== undefined) {
    try {
      parseSelector(selector);
    } catch (e) {
      throw new UsageError(e instanceof Error ? e.message : String(e), 'apply');
    }
  }
  return { dryRun: args.bool('dry-run'), output, selector, prune: args.bool('prune') };
}

/** A manifest's labels, as far as they are strings (the server refuses the rest anyway). */
function labelsOf(m: Manifest): Record<string, string> {
  const labels = m.obj.metadata.labels;
  if (!labels || typeof labels !== 'object') return {};
  return Object.fromEntries(Object.entries(labels).filter((e): e is [string, string] => typeof e[1] === 'string'));
}

/** The documents to apply: all of them, or (-l, as kubectl) those the selector matches. */
function selected(ms: Manifest[], selector: string | undefined): Manifest[] {
  if (selector === undefined) return ms;
  const reqs = parseSelector(selector);
  const picked = ms.filter((m) => matchesSelector(labelsOf(m), reqs));
  if (!picked.length) throw new CliError(`no objects passed to apply (none in the files matches -l ${selector})`);
  return picked;
}

async function applyOne(ctx: CliContext, m: Manifest, dryRun: boolean): Promise<Outcome> {
  const query = { ...nsQuery(m.def, manifestNamespace(m, ctx.namespace)), apply: 'true', dryRun: dryRun ? 'true' : undefined };
  try {
    const reply = await ctx.client.request<Obj>('PUT', resourcePath(m.def, m.obj.metadata.name), query, m.obj);
    return { object: reply.body, result: reply.headers.get('x-orloj-result') ?? (reply.status === 201 ? 'created' : 'configured') };
  } catch (e) {
    // A server refusal is about this document only: report it and go on with the rest.
    if (e instanceof ServerError) return { error: e };
    throw e;
  }
}

function report(ctx: CliContext, opts: Options, m: Manifest, o: Outcome): void {
  if ('error' in o) return void process.stderr.write(`${where(m)}: ${o.error.message}\n`);
  if (opts.output === 'name') ctx.out(`${ref(m.def, m.obj.metadata.name)}\n`);
  else if (!opts.output) ctx.out(`${ref(m.def, m.obj.metadata.name)} ${o.result}${opts.dryRun ? ' (dry run)' : ''}\n`);
}

/** -o yaml|json: the server's answers, one object alone or a List of several, as kubectl prints them. */
function printObjects(ctx: CliContext, output: 'yaml' | 'json', objects: Obj[]): void {
  const v = objects.length === 1 ? objects[0] : { apiVersion: 'orloj.dev/v1', kind: 'List', items: objects };
  ctx.out(output === 'json' ? `${JSON.stringify(v, null, 2)}\n` : stringify(v, { lineWidth: 0 }));
}

interface Target {
  def: KindDef;
  namespace: string;
  name: string;
}

const keyOf = (def: KindDef, namespace: string, name: string): string => `${def.kind}/${namespace}/${name}`;

function applied(o: Obj): boolean {
  const a = o.metadata.annotations;
  return typeof a === 'object' && a !== null && Object.hasOwn(a, LAST_APPLIED);
}

/**
 * What --prune deletes: objects of the selector that an apply made (they carry its record),
 * in the namespaces the files address (and of cluster-wide kinds), that the files no longer hold.
 */
async function pruneTargets(ctx: CliContext, ms: Manifest[], selector: string): Promise<Target[]> {
  const kept = new Set(ms.map((m) => keyOf(m.def, m.def.namespaced ? manifestNamespace(m, ctx.namespace) : '', m.obj.metadata.name)));
  const namespaces = [...new Set(ms.filter((m) => m.def.namespaced).map((m) => manifestNamespace(m, ctx.namespace)))];
  const scopes = kinds.flatMap((def) => (def.namespaced ? namespaces.map((namespace) => ({ def, namespace })) : [{ def, namespace: '' }]));
  const found = await Promise.all(
    scopes.map(async ({ def, namespace }) => {
      const { items } = await listAll(ctx.client, resourcePath(def), { ...nsQuery(def, namespace), labelSelector: selector });
      return items.filter((o) => applied(o) && !kept.has(keyOf(def, namespace, o.metadata.name))).map((o) => ({ def, namespace, name: o.metadata.name }));
    }),
  );
  // Reverse apply order: what lives in a namespace goes before the namespace.
  return found.flat().sort((a, b) => applyOrder(b.def.kind) - applyOrder(a.def.kind));
}

/** Deletes (or, in a dry run, only names) the prune targets; how many could not be deleted. */
async function prune(ctx: CliContext, opts: Options, ms: Manifest[], selector: string): Promise<number> {
  // yaml and json keep stdout for the one document they print.
  const say = (text: string): void => void (opts.output === 'yaml' || opts.output === 'json' ? process.stderr.write(text) : ctx.out(text));
  let failed = 0;
  const remove = async (t: Target): Promise<string | undefined> => {
    if (opts.dryRun) return `${ref(t.def, t.name)} pruned (dry run)\n`;
    try {
      await ctx.client.request('DELETE', resourcePath(t.def, t.name), nsQuery(t.def, t.namespace));
      return `${ref(t.def, t.name)} pruned\n`;
    } catch (e) {
      if (isNotFound(e)) return undefined; // gone meanwhile: nothing left to prune
      if (!(e instanceof ServerError)) throw e;
      failed++;
      process.stderr.write(`${ref(t.def, t.name)}: ${e.message}\n`);
      return undefined;
    }
  };
  await inGroups(await pruneTargets(ctx, ms, selector), (t) => applyOrder(t.def.kind), remove, (_, line) => line && say(line));
  return failed;
}

async function run(ctx: CliContext, args: Args): Promise<number> {
  const opts = options(args);
  // Parse and resolve every document first: a bad one stops everything before any write.
  const manifests = selected(sortForApply(loadManifests(needFiles(args, 'apply'))), opts.selector);
  const objects: Obj[] = [];
  let failed = 0;
  await inGroups(
    manifests,
    (m) => applyOrder(m.def.kind),
    (m) => applyOne(ctx, m, opts.dryRun),
    (m, o) => {
      if ('error' in o) failed++;
      else objects.push(o.object);
      report(ctx, opts, m, o);
    },
  );
  if ((opts.output === 'yaml' || opts.output === 'json') && objects.length) printObjects(ctx, opts.output, objects);
  if (opts.prune && opts.selector) {
    // As kubectl: a set that did not apply whole prunes nothing.
    if (failed) process.stderr.write(`prune skipped: ${failed} document${failed === 1 ? '' : 's'} failed to apply\n`);
    else failed += await prune(ctx, opts, manifests, opts.selector);
  }
  return failed ? 1 : 0;
}

export const applyCommand: Command = {
  name: 'apply',
  summary: 'Create or update resources from YAML/JSON files (multi-document), in dependency order',
  usage: [
    'orlojctl apply -f FILE|DIR|- [-f ...] [-R] [--dry-run] [-o yaml|json|name]',
    'orlojctl apply -f FILE|DIR|- --prune -l SELECTOR [--dry-run]',
    '',
    'Merges three ways, as kubectl apply does: labels, annotations and fields that other clients',
    `set are kept; what the previous apply sent (annotation ${LAST_APPLIED}) and this one does not is removed.`,
  ].join('\n'),
  flags: [
    FILENAME,
    RECURSIVE,
    DRY_RUN,
    { name: 'output', short: 'o', type: 'string', arg: 'FORMAT', help: 'yaml, json or name: print what the server answered instead of a line per object' },
    { name: 'selector', short: 'l', type: 'string', arg: 'SEL', help: 'only the objects of the files that match this label selector' },
    { name: 'prune', type: 'bool', help: 'then delete the objects of -l SELECTOR, in the namespaces applied to, that an apply made and the files no longer hold' },
  ],
  run,
};
