// `orlojctl create trigger NAME (--collection C | --resource tasks [--selector SEL]) --url URL,
// or NAME --source NAME [--events create,update] [--secret-ref S] [--max-attempts N]
// [--timeout-seconds N]`: the Trigger manifest from flags, created (never replaced).
import type { Args } from '../args.js';
import { checkNames, resourcePath } from '../client.js';
import { resolveKind } from '../command.js';
import type { CliContext } from '../context.js';
import { UsageError } from '../errors.js';
import { ref } from '../manifests.js';

const EVENTS = ['create', 'update', 'delete'];

/** Flags of the other `create` forms; given with a trigger they would be silently ignored. */
const NOT_FOR_TRIGGERS = ['secret', 'ingest-auth', 'source-binding', 'field-mapping', 'from-literal', 'from-file'];

const usage = (message: string): UsageError => new UsageError(message, 'create');

/** `create,update` or `'["create","update"]'`. */
export function parseEvents(text: string): string[] {
  let events: unknown;
  if (text.trim().startsWith('[')) {
    try {
      events = JSON.parse(text);
    } catch {
      throw usage(`--events "${text}" is not a JSON array, e.g. --events '["create","update"]' or --events create,update`);
    }
    if (!Array.isArray(events) || !events.every((e) => typeof e === 'string')) throw usage('--events must be a JSON array of strings');
  } else {
    events = text.split(',').map((e) => e.trim()).filter((e) => e !== '');
  }
  const list = events as string[];
  if (!list.length) throw usage(`--events may not be empty: give one or more of ${EVENTS.join(', ')}`);
  for (const e of list) if (!EVENTS.includes(e)) throw usage(`--events: unknown event "${e}" (use ${EVENTS.join(', ')})`);
  const dup = list.find((e, i) => list.indexOf(e) !== i);
  if (dup) throw usage(`--events: "${dup}" is given twice`);
  return list;
}

function intFlag(args: Args, flag: string): number | undefined {
  const v = args.str(flag);
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v.trim())) throw usage(`--${flag} must be a whole number, not "${v}"`);
  return Number(v);
}

function nonEmpty(args: Args, flag: string): string | undefined {
  const v = args.str(flag);
  if (v === '') throw usage(`--${flag} may not be empty`);
  return v;
}

/** The Trigger spec the flags describe; the server fills in every default left out. */
export function triggerSpec(args: Args): Record<string, unknown> {
  const extra = NOT_FOR_TRIGGERS.filter((f) => args.has(f));
  if (extra.length) throw usage(`${extra.map((f) => `--${f}`).join(', ')}: not a flag of create trigger`);
  const collection = nonEmpty(args, 'collection');
  const resource = nonEmpty(args, 'resource');
  const selector = nonEmpty(args, 'selector');
  const url = nonEmpty(args, 'url');
  const source = nonEmpty(args, 'source');
  if (url !== undefined && source !== undefined) throw usage('--url and --source are mutually exclusive');
  if (url === undefined && source === undefined) throw usage('where it sends is required: --url URL, or --source NAME');
  if (source !== undefined) {
    // An external write fires on its Source's own collection.
    if (collection !== undefined || resource !== undefined) throw usage("--source fires on the Source's collection: leave --collection and --resource out");
  } else {
    if (collection !== undefined && resource !== undefined) throw usage('--collection and --resource are mutually exclusive');
    if (collection === undefined && resource === undefined) throw usage('what it watches is required: --collection C, or --resource tasks');
  }
  if (resource !== undefined && resource !== 'tasks') throw usage(`--resource: only "tasks" can be watched, not "${resource}"`);
  if (selector !== undefined && resource === undefined) throw usage('--selector selects run tasks: use it with --resource tasks');
  if (url !== undefined && !/^https?:\/\//.test(url)) throw usage(`--url must be an http:// or https:// URL, not "${url}"`);
  const events = args.has('events') ? parseEvents(args.str('events')!) : undefined;
  const maxAttempts = intFlag(args, 'max-attempts');
  const timeout = intFlag(args, 'timeout-seconds');
  const secretRef = nonEmpty(args, 'secret-ref');
  return {
    ...(collection !== undefined ? { collection } : {}),
    ...(resource !== undefined ? { resource } : {}),
    ...(selector !== undefined ? { label_selector: selector } : {}),
    ...(url !== undefined ? { url } : { target: { source } }),
    ...(events ? { events } : {}),
    ...(secretRef !== undefined ? { secret_ref: secretRef } : {}),
    ...(maxAttempts !== undefined ? { retry: { max_attempts: maxAttempts } } : {}),
    ...(timeout !== undefined ? { timeout_seconds: timeout } : {}),
  };
}

export async function createTrigger(ctx: CliContext, args: Args, name: string): Promise<number> {
  checkNames([name]);
  const spec = triggerSpec(args);
  const def = resolveKind('Trigger');
  const dryRun = args.bool('dry-run');
  // Create only, as kubectl does: an existing Trigger answers AlreadyExists.
  await ctx.client.request('POST', resourcePath(def), { namespace: ctx.namespace, dryRun: dryRun ? 'true' : undefined }, { apiVersion: 'orloj.dev/v1', kind: def.kind, metadata: { name, namespace: ctx.namespace }, spec });
  ctx.out(`${ref(def, name)} created${dryRun ? ' (dry run)' : ''}\n`);
  return 0;
}
