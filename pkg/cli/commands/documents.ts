import { stringify } from '../yaml.js';
import type { Args } from '../args.js';
import type { CliContext } from '../context.js';
import { UsageError } from '../errors.js';
import { NONE, Table, age } from '../table.js';

interface Document {
  id: string;
  data: Record<string, unknown> | null;
  meta: { origin: string; version: number; updatedAt: string; eventType?: string; deletedAt?: string; contentType?: string };
}

/** `--where k=v` (repeatable): equality filters on top-level fields. */
function filters(args: Args): Record<string, string> {
  const out: Record<string, string> = {};
  for (const w of args.list('where')) {
    const i = w.indexOf('=');
    if (i <= 0) throw new UsageError(`--where "${w}" must be FIELD=VALUE`, 'get');
    out[w.slice(0, i)] = w.slice(i + 1);
  }
  return out;
}

/** Every page of the list, following continue. */
async function allDocuments(ctx: CliContext, collection: string, where: Record<string, string>, includeDeleted: boolean): Promise<Document[]> {
  const items: Document[] = [];
  let cont: string | undefined;
  do {
    const page = await ctx.client.get<{ items: Document[]; metadata: { continue?: string } }>(`/v1/collections/${encodeURIComponent(collection)}/documents`, {
      ...where, namespace: ctx.namespace, limit: '1000', continue: cont, includeDeleted: includeDeleted ? 'true' : undefined,
    });
    items.push(...page.items);
    cont = page.metadata.continue;
  } while (cont);
  return items;
}

const summary = (d: Document): string => {
  if (d.data === null) return `<${d.meta.contentType ?? 'raw'}>`;
  const text = JSON.stringify(d.data);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
};

/** `orlojctl get documents -c COLLECTION [--where k=v] [-o json|yaml|wide]`. */
export async function getDocuments(ctx: CliContext, args: Args): Promise<number> {
  const collection = args.str('collection');
  if (!collection) throw new UsageError('documents belong to a collection: give -c COLLECTION', 'get');
  const output = args.str('output') ?? 'table';
  if (!['table', 'wide', 'json', 'yaml', 'name'].includes(output)) throw new UsageError(`documents print as table, wide, json, yaml or name, not "${output}"`, 'get');
  const ids = args.positionals.slice(1);
  let items = await allDocuments(ctx, collection, filters(args), args.bool('include-deleted'));
  if (ids.length) items = items.filter((d) => ids.includes(d.id));
  if (output === 'json') return ctx.out(`${JSON.stringify(ids.length === 1 && items.length === 1 ? items[0] : { kind: 'DocumentList', items }, null, 2)}\n`), 0;
  if (output === 'yaml') return ctx.out(stringify(ids.length === 1 && items.length === 1 ? items[0] : { kind: 'DocumentList', items })), 0;
  if (output === 'name') return ctx.out(items.map((d) => `${d.id}\n`).join('')), 0;
  if (!items.length) {
    process.stderr.write(`No documents found in collection "${collection}".\n`);
    return ids.length ? 1 : 0;
  }
  const wide = output === 'wide';
  const table = new Table(['ID', 'VERSION', 'ORIGIN', 'UPDATED', ...(wide ? ['EVENT TYPE', 'DELETED', 'DATA'] : [])]);
  const rows = items.map((d) => [
    d.id, String(d.meta.version), d.meta.origin, age(d.meta.updatedAt),
    ...(wide ? [d.meta.eventType ?? NONE, d.meta.deletedAt ? age(d.meta.deletedAt) : NONE, summary(d)] : []),
  ]);
  ctx.out(table.render(rows));
  return ids.length && items.length < ids.length ? 1 : 0;
}
