import { parseDuration, type Args } from '../args.js';
import { checkNames, nsQuery, resourcePath } from '../client.js';
import { resolveKind, type Command } from '../command.js';
import type { CliContext } from '../context.js';
import { CliError, UsageError } from '../errors.js';
import { ref } from '../manifests.js';
import type { Obj } from '../table.js';
import { listAll, openWatch } from '../watch.js';

type Goal = { delete: true } | { type: string; status: string };

function parseGoal(v: string | undefined): Goal {
  if (v === 'delete') return { delete: true };
  const m = v?.match(/^condition=([^=]+)(?:=(.+))?$/);
  if (!m) throw new UsageError('--for must be condition=TYPE, condition=TYPE=STATUS or delete', 'wait');
  return { type: m[1]!, status: m[2] ?? 'True' };
}

/** Met when the condition has the wanted status and is not older than the spec. */
function met(goal: Goal, o: Obj | undefined): boolean {
  if ('delete' in goal) return !o;
  const conds = (o?.status?.conditions ?? []) as Array<{ type?: string; status?: string; observedGeneration?: number }>;
  const c = conds.find((x) => x.type?.toLowerCase() === goal.type.toLowerCase());
  if (!c || c.status?.toLowerCase() !== goal.status.toLowerCase()) return false;
  return c.observedGeneration === undefined || o?.metadata.generation === undefined || c.observedGeneration >= o.metadata.generation;
}

async function run(ctx: CliContext, args: Args): Promise<number> {
  const [kind, ...names] = args.positionals;
  if (!kind || !names.length) throw new UsageError('wait needs KIND NAME [NAME...]', 'wait');
  const def = resolveKind(kind);
  checkNames(names);
  const goal = parseGoal(args.str('for'));
  const timeoutMs = parseDuration(args.str('timeout') ?? '30s');
  const path = resourcePath(def);
  const query = nsQuery(def, ctx.namespace);
  const pending = new Set(names);
  const check = (name: string, o: Obj | undefined): void => {
    if (!pending.has(name) || !met(goal, o)) return;
    pending.delete(name);
    ctx.out(`${ref(def, name)} condition met\n`);
  };

  let { items, resourceVersion: rv } = await listAll(ctx.client, path, query);
  for (const name of names) {
    const o = items.find((x) => x.metadata.name === name);
    if (!o && !('delete' in goal)) throw new CliError(`Error from server (NotFound): ${def.kind} "${name}" not found`);
    check(name, o);
  }
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), timeoutMs);
  try {
    // A watch, not polling: the answer comes the moment the server changes the object.
    while (pending.size) {
      const stream = await openWatch(ctx.client, path, { ...query, resourceVersion: rv }, abort.signal);
      for await (const e of stream) {
        rv = e.object.metadata.resourceVersion ?? rv;
        check(e.object.metadata.name, e.type === 'DELETED' ? undefined : e.object);
        if (!pending.size) break;
      }
    }
    return 0;
  } catch (e) {
    if (!abort.signal.aborted) throw e;
    const what = [...pending].map((n) => `${def.plural}/${n}`).join(', ');
    throw new CliError(`timed out after ${args.str('timeout') ?? '30s'} waiting for ${args.str('for')} on ${what}`);
  } finally {
    clearTimeout(timer);
    abort.abort();
  }
}

export const waitCommand: Command = {
  name: 'wait',
  summary: 'Wait until resources meet a condition (or are deleted)',
  usage: 'orlojctl wait KIND NAME [NAME...] --for=condition=Ready[=False] [--timeout=30s]\norlojctl wait KIND NAME --for=delete [--timeout=1m]',
  flags: [
    { name: 'for', type: 'string', arg: 'GOAL', help: 'condition=TYPE[=STATUS] (status defaults to True) or delete' },
    { name: 'timeout', type: 'string', arg: 'DUR', help: 'give up after this long: 30s (default), 2m, 500ms, or seconds' },
  ],
  run,
};
