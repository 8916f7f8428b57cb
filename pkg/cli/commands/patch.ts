// orlojctl patch: one object's merge or JSON patch, applied by the server to the object as it
// stands (kubectl patch, as for custom resources: there is no strategic merge).
import { readFileSync } from 'node:fs';
import type { KindDef } from '../../api/kind.js';
import type { Args } from '../args.js';
import { checkNames, nsQuery, resourcePath } from '../client.js';
import { DRY_RUN, resolveKind, type Command } from '../command.js';
import type { CliContext } from '../context.js';
import { CliError, UsageError } from '../errors.js';
import { ref } from '../manifests.js';
import { makePrinter, parseOutput } from '../printer.js';
import type { Obj } from '../table.js';
import { parse as parseYaml } from '../yaml.js';

export interface Target {
  def: KindDef;
  name: string;
}

/** `KIND NAME [NAME...]` or `KIND/NAME [KIND/NAME...]`, as kubectl names objects. */
export function parseTargets(words: string[], command: string): Target[] {
  const [first, ...rest] = words;
  if (!first) throw new UsageError(`${command} needs KIND NAME (or KIND/NAME)`, command);
  if (!first.includes('/')) {
    if (!rest.length) throw new UsageError(`${command} needs the name of the ${first} (KIND NAME or KIND/NAME)`, command);
    const def = resolveKind(first);
    return checkNames(rest).map((name) => ({ def, name }));
  }
  return words.map((w) => {
    const slash = w.indexOf('/');
    if (slash < 0) throw new UsageError(`"${w}" is not KIND/NAME: name every object as KIND/NAME, or give KIND NAME...`, command);
    return { def: resolveKind(w.slice(0, slash)), name: checkNames([w.slice(slash + 1)])[0]! };
  });
}

/** The one object a command works on. */
export function oneTarget(words: string[], command: string): Target {
  const targets = parseTargets(words, command);
  if (targets.length > 1) throw new UsageError(`${command} works on one object at a time`, command);
  return targets[0]!;
}

/** Commands that address one namespace refuse -A rather than ignore it. */
export function refuseAllNamespaces(ctx: CliContext, command: string): void {
  if (ctx.allNamespaces) throw new UsageError(`${command} works in one namespace: -A is not supported (use -n NS)`, command);
}

const TYPES: Record<string, string> = { merge: 'application/merge-patch+json', json: 'application/json-patch+json' };

function patchType(v: string | undefined): string {
  const type = v ?? 'merge';
  if (type === 'strategic') throw new UsageError('strategic merge patches are for Kubernetes built-in types: use --type merge or --type json', 'patch');
  const media = TYPES[type];
  if (!media) throw new UsageError(`unknown patch type "${type}" (use merge or json)`, 'patch');
  return media;
}

/** `-p` or `--patch-file`: JSON, or YAML (as kubectl takes it). */
function readPatchArg(args: Args): unknown {
  const inline = args.str('patch');
  const file = args.str('patch-file');
  if ((inline === undefined) === (file === undefined)) throw new UsageError('give the patch as -p PATCH or --patch-file FILE (one of them)', 'patch');
  let text = inline;
  if (file !== undefined) {
    try {
      text = readFileSync(file === '-' ? 0 : file, 'utf8');
    } catch (e) {
      throw new CliError(`cannot read ${file === '-' ? 'stdin' : file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
  }
  try {
    return JSON.parse(text!) as unknown;
  } catch {
    try {
      const value: unknown = parseYaml(text!);
      if (value !== null && typeof value === 'object') return value;
    } catch {
      // reported below
    }
    throw new UsageError('the patch is neither JSON nor a YAML object or list', 'patch');
  }
}

async function run(ctx: CliContext, args: Args): Promise<number> {
  refuseAllNamespaces(ctx, 'patch');
  const { def, name } = oneTarget(args.positionals, 'patch');
  const contentType = patchType(args.str('type'));
  const output = args.has('output') ? parseOutput(args.str('output')) : undefined;
  const body = readPatchArg(args);
  const dryRun = args.bool('dry-run');
  const query = { ...nsQuery(def, ctx.namespace), dryRun: dryRun ? 'true' : undefined };
  const reply = await ctx.client.request<Obj>('PATCH', resourcePath(def, name), query, body, contentType);
  if (output) {
    ctx.out(makePrinter(def, output, false).list([reply.body], true));
    return 0;
  }
  const unchanged = reply.headers.get('x-orloj-result') === 'unchanged';
  ctx.out(`${ref(def, name)} patched${unchanged ? ' (no change)' : ''}${dryRun ? ' (dry run)' : ''}\n`);
  return 0;
}

export const patchCommand: Command = {
  name: 'patch',
  summary: "Change an object's spec, labels or annotations with a merge or JSON patch",
  usage: [
    "orlojctl patch KIND NAME -p PATCH [--type merge|json] [--dry-run] [-o yaml|json|name]",
    "orlojctl patch KIND/NAME --patch-file FILE [--type merge|json]",
    '',
    "  orlojctl patch task report -p '{\"spec\":{\"input\":{\"topic\":\"robots\"}}}'",
    "  orlojctl patch tw hook --type json -p '[{\"op\":\"replace\",\"path\":\"/spec/task_ref\",\"value\":\"other\"}]'",
  ].join('\n'),
  flags: [
    { name: 'patch', short: 'p', type: 'string', arg: 'PATCH', help: 'the patch, as JSON or YAML' },
    { name: 'patch-file', type: 'string', arg: 'FILE', help: 'read the patch from a file (- for stdin)' },
    { name: 'type', type: 'string', arg: 'merge|json', help: 'merge: an RFC 7386 merge patch (default); json: an RFC 6902 list of operations' },
    { name: 'output', short: 'o', type: 'string', arg: 'FORMAT', help: 'print the patched object (yaml, json, name, table) instead of a message' },
    DRY_RUN,
  ],
  run,
};
