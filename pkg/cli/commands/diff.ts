import { stringify } from 'yaml';
import { LAST_APPLIED } from '../../api/three-way.js';
import type { Args } from '../args.js';
import { nsQuery, resourcePath } from '../client.js';
import { FILENAME, RECURSIVE, needFiles, type Command } from '../command.js';
import type { CliContext } from '../context.js';
import { ServerError, describeError, isNotFound } from '../errors.js';
import { unifiedDiff } from '../../util/linediff.js';
import { inGroups, loadManifests, manifestNamespace, sortForApply, where, type Manifest } from '../manifests.js';
import type { Obj } from '../table.js';

/** The annotations but apply's own record, which would show as one long line of JSON. */
function userAnnotations(a: unknown): unknown {
  if (!a || typeof a !== 'object') return a;
  const rest = Object.entries(a).filter(([k]) => k !== LAST_APPLIED);
  return rest.length ? Object.fromEntries(rest) : undefined;
}

/** What an apply can change: spec, labels, annotations (status and system metadata are the server's). */
function comparable(o: Obj | undefined): string {
  if (!o) return '';
  const { name, namespace, labels, annotations } = o.metadata;
  const metadata = { name, namespace, labels, annotations: userAnnotations(annotations) };
  return stringify({ apiVersion: o.apiVersion, kind: o.kind, metadata, spec: o.spec }, { sortMapEntries: true, lineWidth: 0 });
}

async function diffOne(ctx: CliContext, m: Manifest): Promise<string> {
  const name = m.obj.metadata.name;
  const ns = manifestNamespace(m, ctx.namespace);
  const path = resourcePath(m.def, name);
  let live: Obj | undefined;
  try {
    live = await ctx.client.get<Obj>(path, nsQuery(m.def, ns));
  } catch (e) {
    if (!isNotFound(e)) throw e;
  }
  // The server's dry run merges with the live object, applies defaults and normalizes exactly as a real apply would.
  const merged = (await ctx.client.request<Obj>('PUT', path, { ...nsQuery(m.def, ns), apply: 'true', dryRun: 'true' }, m.obj)).body;
  const label = [m.def.singular, ...(m.def.namespaced ? [ns] : []), name].join('/');
  return unifiedDiff(comparable(live), comparable(merged), `live/${label}`, `merged/${label}`);
}

/** One document's diff ('' for none), or why the server refused it. */
async function tryDiff(ctx: CliContext, m: Manifest): Promise<{ diff: string } | { error: ServerError }> {
  try {
    return { diff: await diffOne(ctx, m) };
  } catch (e) {
    if (e instanceof ServerError) return { error: e };
    throw e;
  }
}

/** kubectl convention: 0 no differences, 1 differences, 2 trouble. */
async function run(ctx: CliContext, args: Args): Promise<number> {
  let differs = false;
  let failed = false;
  const report = (m: Manifest, r: Awaited<ReturnType<typeof tryDiff>>): void => {
    if ('error' in r) {
      failed = true;
      process.stderr.write(`${where(m)}: ${r.error.message}\n`);
    } else if (r.diff) {
      differs = true;
      ctx.out(r.diff);
    }
  };
  try {
    // A diff writes nothing, so no document waits for another kind's: one group, printed in order.
    await inGroups(sortForApply(loadManifests(needFiles(args, 'diff'))), () => 0, (m) => tryDiff(ctx, m), report);
  } catch (e) {
    process.stderr.write(`${describeError(e)}\n`);
    return 2;
  }
  return failed ? 2 : differs ? 1 : 0;
}

export const diffCommand: Command = {
  name: 'diff',
  summary: 'Show what apply would change (exit 0: none, 1: differences, 2: error)',
  usage: 'orlojctl diff -f FILE|DIR|- [-R]',
  flags: [FILENAME, RECURSIVE],
  run,
};
