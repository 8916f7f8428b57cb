// orlojctl label / annotate: set (`k=v`) and remove (`k-`) labels or annotations of objects.
// The check that a key keeps its value without --overwrite is made against the object read,
// and the merge patch carries that object's resourceVersion: if someone changed it meanwhile
// the server answers 409, and the object is read and checked again.
import { isValidLabelValue, labelKeyProblem } from '../../api/meta.js';
import type { Args } from '../args.js';
import { nsQuery, resourcePath } from '../client.js';
import { DRY_RUN, type Command } from '../command.js';
import type { CliContext } from '../context.js';
import { CliError, ServerError, UsageError } from '../errors.js';
import { ref } from '../manifests.js';
import type { Obj } from '../table.js';
import { parseTargets, refuseAllNamespaces, type Target } from './patch.js';

/** Read-check-write rounds when another writer changes the object in between. */
const ATTEMPTS = 5;

type Field = 'labels' | 'annotations';

interface Changes {
  set: Map<string, string>;
  remove: string[];
}

const VERBS: Record<Field, { command: string; noun: string; done: string }> = {
  labels: { command: 'label', noun: 'label', done: 'labeled' },
  annotations: { command: 'annotate', noun: 'annotation', done: 'annotated' },
};

/** A word is a change when it has `=` or ends with `-`; the words before are the objects. */
const isChange = (w: string): boolean => w.includes('=') || w.endsWith('-');

/** `k=v` and `k-` words, checked as Kubernetes checks label and annotation keys and values. */
export function parseChanges(words: string[], field: Field): Changes {
  const { command, noun } = VERBS[field];
  const changes: Changes = { set: new Map(), remove: [] };
  for (const w of words) {
    const eq = w.indexOf('=');
    const key = eq >= 0 ? w.slice(0, eq) : w.slice(0, -1);
    const problem = labelKeyProblem(key);
    if (!key || problem) throw new UsageError(`invalid ${noun} key "${key}": ${key ? problem : 'a key is required'}`, command);
    if (eq < 0) {
      changes.remove.push(key);
      continue;
    }
    const value = w.slice(eq + 1);
    if (field === 'labels' && !isValidLabelValue(value)) {
      throw new UsageError(`invalid label value "${value}" for "${key}": at most 63 characters, alphanumeric at both ends, with - _ . inside (or empty)`, command);
    }
    if (changes.set.has(key) || changes.remove.includes(key)) throw new UsageError(`${noun} "${key}" is given more than once`, command);
    changes.set.set(key, value);
  }
  const both = changes.remove.find((k) => changes.set.has(k));
  if (both) throw new UsageError(`${noun} "${both}" is both set and removed`, command);
  return changes;
}

/** The merge patch of `changes` on what the object has now, or why it may not be made. */
function patchFor(obj: Obj, field: Field, changes: Changes, overwrite: boolean): { patch: object; changed: boolean; missing: string[] } {
  const now = (obj.metadata[field] ?? {}) as Record<string, string>;
  const clashes = [...changes.set].filter(([k, v]) => Object.hasOwn(now, k) && now[k] !== v);
  if (clashes.length && !overwrite) {
    throw new CliError(clashes.map(([k]) => `'${k}' already has a value (${now[k]}), and --overwrite is false`).join('\n'));
  }
  const entries: Record<string, string | null> = Object.fromEntries(changes.set);
  const missing = changes.remove.filter((k) => !Object.hasOwn(now, k));
  for (const k of changes.remove) if (Object.hasOwn(now, k)) entries[k] = null;
  const changed = Object.entries(entries).some(([k, v]) => (v === null ? Object.hasOwn(now, k) : now[k] !== v));
  return { patch: { metadata: { resourceVersion: obj.metadata.resourceVersion, [field]: entries } }, changed, missing };
}

async function changeOne(ctx: CliContext, t: Target, field: Field, changes: Changes, args: Args): Promise<void> {
  const path = resourcePath(t.def, t.name);
  const query = nsQuery(t.def, ctx.namespace);
  const dryRun = args.bool('dry-run');
  const { noun, done } = VERBS[field];
  for (let attempt = 1; ; attempt++) {
    const obj = await ctx.client.get<Obj>(path, query);
    const { patch, changed, missing } = patchFor(obj, field, changes, args.bool('overwrite'));
    try {
      if (changed) await ctx.client.request('PATCH', path, { ...query, dryRun: dryRun ? 'true' : undefined }, patch, 'application/merge-patch+json');
    } catch (e) {
      if (e instanceof ServerError && e.code === 409 && attempt < ATTEMPTS) continue;
      throw e;
    }
    for (const k of missing) process.stderr.write(`${noun} "${k}" not found.\n`);
    ctx.out(`${ref(t.def, t.name)} ${changed ? done : `not ${done}`}${dryRun ? ' (dry run)' : ''}\n`);
    return;
  }
}

function command(field: Field): Command {
  const { command: name, noun } = VERBS[field];
  const example = field === 'labels' ? 'tier=web' : "owner='the ops team'";
  return {
    name,
    summary: field === 'labels' ? 'Set or remove labels of objects (k=v, k-)' : 'Set or remove annotations of objects (k=v, k-)',
    usage: [
      `orlojctl ${name} KIND NAME [NAME...] KEY=VALUE... KEY-... [--overwrite] [--dry-run]`,
      `orlojctl ${name} KIND/NAME... KEY=VALUE... KEY-...`,
      '',
      `  orlojctl ${name} task report ${example}`,
      `  orlojctl ${name} task report ${example.split('=')[0]}-`,
    ].join('\n'),
    flags: [{ name: 'overwrite', type: 'bool', help: `change the value of a ${noun} the object already has` }, DRY_RUN],
    run: async (ctx, args) => {
      refuseAllNamespaces(ctx, name);
      const split = args.positionals.findIndex(isChange);
      if (split < 0) throw new UsageError(`at least one ${noun} change is required (KEY=VALUE or KEY-)`, name);
      const later = args.positionals.slice(split).find((w) => !isChange(w));
      if (later) throw new UsageError(`"${later}" is not a ${noun} change (KEY=VALUE or KEY-): objects go before the changes`, name);
      const targets = parseTargets(args.positionals.slice(0, split), name);
      const changes = parseChanges(args.positionals.slice(split), field);
      for (const t of targets) await changeOne(ctx, t, field, changes, args);
      return 0;
    },
  };
}

export const labelCommand = command('labels');
export const annotateCommand = command('annotations');
