import { stringify } from '../yaml.js';
import type { Args } from '../args.js';
import type { CliContext } from '../context.js';
import { UsageError } from '../errors.js';
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

/** Attempts, by record ID (what `trigger redeliver` and `inbound-webhook redeliver` take) and attempt number. */
function attemptTable(items: Delivery[], wide: boolean): string {
  const table = new Table(['ID', 'AGE', 'OWNER', 'EVENT', 'OUTCOME', 'ATTEMPT', 'HTTP', ...(wide ? ['MS'] : []), 'REASON']);
  const rows = items.map((d) => [
    String(d.id),
    age(d.ts),
    d.owner,
    d.eventId ?? NONE,
    outcomeOf(d),
    String(d.attempt ?? NONE),
    String(d.httpStatus ?? NONE),
    ...(wide ? [d.durationMs?.toFixed(2) ?? NONE] : []),
    d.reason ?? '',
  ]);
  return table.render(rows);
}

/** `orlojctl get deliveries [--for task-webhook/NAME] [--outcome X] [--limit N]`: newest first. */
export async function getDeliveries(ctx: CliContext, args: Args, owner = args.str('for')): Promise<number> {
  const output = args.str('output') ?? 'table';
  if (!['table', 'wide', 'json', 'yaml'].includes(output)) throw new UsageError(`deliveries print as table, wide, json or yaml, not "${output}"`, 'get');
  const { items } = await ctx.client.get<{ items: Delivery[] }>('/v1/deliveries', {
    namespace: ctx.namespace,
    allNamespaces: ctx.allNamespaces ? 'true' : undefined,
    owner,
    outcome: args.str('outcome'),
    limit: args.str('limit'),
  });
  if (output === 'json') return ctx.out(`${JSON.stringify({ kind: 'DeliveryList', items }, null, 2)}\n`), 0;
  if (output === 'yaml') return ctx.out(stringify({ kind: 'DeliveryList', items })), 0;
  if (!items.length) {
    process.stderr.write('No deliveries found.\n');
    return 0;
  }
  const wide = output === 'wide';
  // A trigger's records, or hydration's (its fetches are attempts too): the ids redelivery takes.
  if (items.some((d) => d.owner.startsWith('Trigger/') || d.attempt !== undefined)) return ctx.out(attemptTable(items, wide)), 0;
  const table = new Table(['AGE', 'OWNER', 'EVENT', 'OUTCOME', 'HTTP', 'RESULT', ...(wide ? ['MS', 'REASON'] : [])]);
  const rows = items.map((d) => [
    age(d.ts),
    d.owner,
    d.eventId ?? NONE,
    outcomeOf(d),
    String(d.httpStatus ?? NONE),
    d.result ?? d.task ?? NONE,
    ...(wide ? [d.durationMs?.toFixed(2) ?? NONE, d.reason ?? ''] : []),
  ]);
  ctx.out(table.render(rows));
  return 0;
}
