import { stringify } from '../yaml.js';
import type { Args } from '../args.js';
import type { Query } from '../client.js';
import type { CliContext } from '../context.js';
import { ConnectionError, UsageError } from '../errors.js';
import { NONE, Table, age } from '../table.js';

/** A delivery record as the API lists it. */
export interface Delivery {
  id: number;
  ts: string;
  owner: string;
  eventId?: string;
  outcome: string;
  reason?: string;
  httpStatus?: number;
  durationMs?: number;
  task?: string;
  response?: string;
  result?: string;
  /** Attempts (a trigger's sends, a hydration's fetches): which of the chain this was. */
  attempt?: number;
  /** A test delivery orlojd signed itself (`webhook send` without the secret). */
  test?: boolean;
}

/** The outcome, marked when the delivery was a test. */
export const outcomeOf = (d: Delivery): string => (d.test ? `${d.outcome} (test)` : d.outcome);

type Layout = 'attempts' | 'deliveries';

/** A trigger's records, or hydration's (its fetches are attempts too): by the ids redelivery takes. */
const layoutOf = (items: Delivery[]): Layout => (items.some((d) => d.owner.startsWith('Trigger/') || d.attempt !== undefined) ? 'attempts' : 'deliveries');

function header(layout: Layout, wide: boolean): string[] {
  if (layout === 'attempts') return ['ID', 'AGE', 'OWNER', 'EVENT', 'OUTCOME', 'ATTEMPT', 'HTTP', ...(wide ? ['MS'] : []), 'REASON'];
  return ['AGE', 'OWNER', 'EVENT', 'OUTCOME', 'HTTP', 'RESULT', ...(wide ? ['MS', 'REASON'] : [])];
}

function row(layout: Layout, d: Delivery, wide: boolean): string[] {
  const ms = d.durationMs?.toFixed(2) ?? NONE;
  if (layout === 'attempts') {
    return [String(d.id), age(d.ts), d.owner, d.eventId ?? NONE, outcomeOf(d), String(d.attempt ?? NONE), String(d.httpStatus ?? NONE), ...(wide ? [ms] : []), d.reason ?? ''];
  }
  return [age(d.ts), d.owner, d.eventId ?? NONE, outcomeOf(d), String(d.httpStatus ?? NONE), d.result ?? d.task ?? NONE, ...(wide ? [ms, d.reason ?? ''] : [])];
}

/** Records as text, batch after batch: a table keeps the layout and widths of its first batch. */
function recordPrinter(output: string, noHeaders: boolean): (batch: Delivery[]) => string {
  if (output === 'json') return (batch) => batch.map((d) => `${JSON.stringify(d, null, 2)}\n`).join('');
  let printed = 0;
  if (output === 'yaml') return (batch) => batch.map((d) => (printed++ ? '---\n' : '') + stringify(d)).join('');
  let table: { t: Table; layout: Layout } | undefined;
  return (batch) => {
    if (!batch.length) return '';
    const wide = output === 'wide';
    if (table) return batch.map((d) => table!.t.line(row(table!.layout, d, wide))).join('');
    const layout = layoutOf(batch);
    table = { t: new Table(header(layout, wide), noHeaders), layout };
    return table.t.render(batch.map((d) => row(layout, d, wide)));
  };
}

const POLL_MS = 500;

/**
 * -w: the records listed, then each new one as it is recorded, polling for those after the
 * newest seen (the API has no watch of records). A server that went away is asked again.
 */
async function follow(ctx: CliContext, query: Query, listed: Delivery[], print: (batch: Delivery[]) => string): Promise<never> {
  let after = listed.reduce((max, d) => Math.max(max, d.id), 0);
  let full = false;
  for (;;) {
    if (!full) await new Promise((r) => setTimeout(r, POLL_MS));
    let batch: Delivery[];
    try {
      ({ items: batch } = await ctx.client.get<{ items: Delivery[] }>('/v1/deliveries', { ...query, after: String(after), limit: '1000' }));
    } catch (e) {
      if (!(e instanceof ConnectionError)) throw e;
      full = false;
      continue;
    }
    ctx.out(print(batch));
    after = batch.at(-1)?.id ?? after;
    full = batch.length === 1000;
  }
}

/** `orlojctl get deliveries [--for task-webhook/NAME] [--outcome X] [--limit N] [-w]`: newest first. */
export async function getDeliveries(ctx: CliContext, args: Args, owner = args.str('for')): Promise<number> {
  const output = args.str('output') ?? 'table';
  if (!['table', 'wide', 'json', 'yaml'].includes(output)) throw new UsageError(`deliveries print as table, wide, json or yaml, not "${output}"`, 'get');
  const query: Query = { namespace: ctx.namespace, allNamespaces: ctx.allNamespaces ? 'true' : undefined, owner, outcome: args.str('outcome') };
  const { items } = await ctx.client.get<{ items: Delivery[] }>('/v1/deliveries', { ...query, limit: args.str('limit') });
  const print = recordPrinter(output, args.bool('no-headers'));
  if (args.bool('watch')) {
    if (items.length) ctx.out(print(items));
    else if (output === 'table' || output === 'wide') process.stderr.write('No deliveries found.\n');
    return follow(ctx, query, items, print);
  }
  if (output === 'json') return ctx.out(`${JSON.stringify({ kind: 'DeliveryList', items }, null, 2)}\n`), 0;
  if (output === 'yaml') return ctx.out(stringify({ kind: 'DeliveryList', items })), 0;
  if (!items.length) process.stderr.write('No deliveries found.\n');
  else ctx.out(print(items));
  return 0;
}
