// `orlojctl promote --from PREVIEW_NS --to PRODUCTION_NS`: copies a preview namespace's
// receivers and triggers, with what they reference, into a production namespace in one
// atomic step (POST /v1/promotions; pkg/promotion/).
import { lookupKind } from '../../api/registry.js';
import type { Args } from '../args.js';
import { DRY_RUN, kindNames, type Command } from '../command.js';
import type { CliContext } from '../context.js';
import { UsageError } from '../errors.js';

export interface PromotionItem {
  kind: string;
  name: string;
  action: 'create' | 'update' | 'unchanged' | 'delete' | 'keep';
  diff?: string;
  reason?: string;
}

export interface PromotionProblem {
  kind?: string;
  name?: string;
  field?: string;
  message: string;
}

export interface Promotion {
  dryRun?: boolean;
  from?: string;
  to?: string;
  items?: PromotionItem[];
  problems?: PromotionProblem[];
}

/** `trigger/notify-p1`: the kind as kubectl prints it (lower-case singular), then the name. */
function label(kind: string | undefined, name: string | undefined): string {
  const singular = kind ? (lookupKind(kind)?.singular ?? kind.toLowerCase()) : '';
  return [singular, name].filter(Boolean).join('/');
}

/** `--only trigger/a,iw/b --only tw/c` → every KIND/NAME, each checked before anything is sent. */
function onlyList(args: Args): string[] | undefined {
  if (!args.has('only')) return undefined;
  const refs = args
    .list('only')
    .flatMap((v) => v.split(','))
    .map((s) => s.trim())
    .filter(Boolean);
  if (!refs.length) throw new UsageError('--only needs at least one KIND/NAME', 'promote');
  for (const r of refs) {
    const m = /^([^/\s]+)\/([^/\s]+)$/.exec(r);
    if (!m) throw new UsageError(`--only takes KIND/NAME (e.g. trigger/notify-p1), not "${r}"`, 'promote');
    if (!lookupKind(m[1]!)) throw new UsageError(`unknown resource type "${m[1]}" in --only ${r} (known: ${kindNames()})`, 'promote');
    if (m[2] === '.' || m[2] === '..') throw new UsageError(`resource name may not be "${m[2]}" (--only ${r})`, 'promote');
  }
  return refs;
}

function namespaceFlag(args: Args, flag: 'from' | 'to'): string {
  const v = args.str(flag)?.trim();
  if (!v) throw new UsageError(`--${flag} ${flag === 'from' ? 'PREVIEW_NS' : 'PRODUCTION_NS'} is required`, 'promote');
  return v;
}

const indent = (text: string, by = '    '): string =>
  text
    .replace(/\n$/, '')
    .split('\n')
    .map((l) => `${by}${l}`)
    .join('\n');

function problemLine(p: PromotionProblem): string {
  const where = label(p.kind, p.name);
  return `error: ${[where, p.field, p.message ?? 'invalid'].filter(Boolean).join(': ')}`;
}

async function run(ctx: CliContext, args: Args): Promise<number> {
  if (args.positionals.length) throw new UsageError(`unexpected argument "${args.positionals[0]}"`, 'promote');
  const from = namespaceFlag(args, 'from');
  const to = namespaceFlag(args, 'to');
  if (from === to) throw new UsageError(`--from and --to name the same namespace "${from}"`, 'promote');
  const only = onlyList(args);
  const dryRun = args.bool('dry-run');
  const body = { from, to, dryRun, prune: args.bool('prune'), ...(only ? { only } : {}) };
  // A refusal of the request itself (403 for a non-admin, 400 for a namespace of the wrong
  // environment) is a ServerError: printed by main, exit 1.
  const reply = (await ctx.client.request<Promotion>('POST', '/v1/promotions', {}, body)).body ?? {};
  const items = reply.items ?? [];
  const problems = reply.problems ?? [];
  for (const it of items) {
    ctx.out(`${label(it.kind, it.name)} ${it.action}${it.reason ? ` (${it.reason})` : ''}\n`);
    if (dryRun && it.action === 'update' && it.diff) ctx.out(`${indent(it.diff)}\n`);
  }
  for (const p of problems) process.stderr.write(`${problemLine(p)}\n`);
  if (problems.length) {
    if (!dryRun) process.stderr.write(`nothing was written to namespace "${to}": fix the problems above and promote again\n`);
    return 1;
  }
  if (!items.length) process.stderr.write(`nothing to promote from namespace "${from}"\n`);
  return 0;
}

export const promoteCommand: Command = {
  name: 'promote',
  summary: "Copy a preview namespace's receivers and triggers (and what they reference) into a production namespace, all or nothing",
  usage: 'orlojctl promote --from PREVIEW_NS --to PRODUCTION_NS [--dry-run] [--prune] [--only KIND/NAME,...]',
  flags: [
    { name: 'from', type: 'string', arg: 'NS', help: 'the preview namespace to promote from' },
    { name: 'to', type: 'string', arg: 'NS', help: 'the production namespace to promote into' },
    DRY_RUN,
    { name: 'prune', type: 'bool', help: 'also delete what an earlier promotion from --from created and preview no longer has' },
    { name: 'only', type: 'list', arg: 'KIND/NAME,...', help: 'promote only these (and what they reference); comma-separated or repeated' },
  ],
  run,
};
