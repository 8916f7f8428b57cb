import { stringify } from 'yaml';
import type { Args } from '../args.js';
import { checkNames, nsQuery, resourcePath } from '../client.js';
import { resolveKind, type Command } from '../command.js';
import type { CliContext } from '../context.js';
import { UsageError } from '../errors.js';
import { NONE, Table, age, type Obj } from '../table.js';
import { outcomeOf, type Delivery } from './deliveries.js';

interface Condition {
  type?: string;
  status?: string;
  reason?: string;
  message?: string;
  lastTransitionTime?: string;
}

interface Event {
  type: string;
  reason: string;
  message: string;
  count: number;
  lastTimestamp: string;
}

const indent = (text: string, by = '  '): string => text.replace(/\n$/, '').replace(/^/gm, by);

function field(label: string, value: string): string {
  return `${`${label}:`.padEnd(14)}${value}\n`;
}

/** `k=v` one per line, aligned under the first. */
function pairs(label: string, m: Record<string, string> | undefined): string {
  const entries = Object.entries(m ?? {});
  if (!entries.length) return field(label, NONE);
  return entries.map(([k, v], i) => (i === 0 ? field(label, `${k}=${v}`) : `${' '.repeat(14)}${k}=${v}\n`)).join('');
}

function block(label: string, value: Record<string, unknown> | undefined): string {
  if (!value || !Object.keys(value).length) return field(label, NONE);
  return `${label}:\n${indent(stringify(value, { lineWidth: 0 }))}\n`;
}

function table(label: string, header: string[], rows: string[][]): string {
  if (!rows.length) return field(label, NONE);
  return `${label}:\n${indent(new Table(header).render(rows))}\n`;
}

type DeliveryRecord = Delivery;

/** Kinds whose describe ends with their newest delivery records. */
const DELIVERING = new Set(['TaskWebhook', 'InboundWebhook', 'Trigger']);

const deliveryRows = (items: DeliveryRecord[], mark?: number): string[][] =>
  items.map((r) => [`${r.id === mark ? '*' : ''}${r.id}`, age(r.ts), r.eventId ?? NONE, outcomeOf(r), String(r.attempt ?? NONE), String(r.httpStatus ?? NONE), r.result ?? NONE, r.reason || NONE]);
const DELIVERY_HEADER = ['ID', 'AGE', 'EVENT', 'OUTCOME', 'ATTEMPT', 'HTTP', 'RESULT', 'REASON'];

/** What a record's result names, by its owner's kind. */
function resultOf(r: DeliveryRecord): string {
  if (r.result === undefined) return NONE;
  const kind = r.owner.split('/')[0];
  if (kind === 'TaskWebhook') return `task/${r.result}`;
  if (kind === 'Trigger') return `queued message ${r.result}`;
  return r.attempt !== undefined || r.outcome === 'queued' ? `hydration job ${r.result}` : `document ${r.result}`;
}

/** One delivery record end to end, and the others of its event at its owner. */
export function describeDelivery(r: DeliveryRecord & { chain?: DeliveryRecord[] }): string {
  return [
    field('Delivery', String(r.id)),
    field('Owner', r.owner),
    field('Event', r.eventId ?? NONE),
    field('Outcome', r.outcome),
    r.test ? field('Test', 'yes (orlojd signed it with the receiver\'s own secret and profile)') : '',
    field('Reason', r.reason || NONE),
    field('HTTP', String(r.httpStatus ?? NONE)),
    field('Duration', r.durationMs !== undefined ? `${r.durationMs.toFixed(2)} ms` : NONE),
    field('Time', `${r.ts} (${age(r.ts)} ago)`),
    r.attempt !== undefined ? field('Attempt', String(r.attempt)) : '',
    field('Result', resultOf(r)),
    r.response ? field('Response', r.response) : '',
    table('Chain (this event, oldest first; * is this one)', DELIVERY_HEADER, deliveryRows(r.chain ?? [r], r.id)),
  ].join('');
}

async function describeDeliveries(ctx: CliContext, ids: string[]): Promise<number> {
  const parts: string[] = [];
  for (const id of ids) {
    if (!/^[1-9]\d*$/.test(id)) throw new UsageError(`a delivery ID is a positive number (the ID column of get deliveries), not "${id}"`, 'describe');
    parts.push(describeDelivery(await ctx.client.get<DeliveryRecord & { chain?: DeliveryRecord[] }>(`/v1/deliveries/${id}`)));
  }
  ctx.out(parts.join('\n'));
  return 0;
}

export function describe(o: Obj, events: Event[], deliveries: DeliveryRecord[] = []): string {
  const { conditions, ...status } = (o.status ?? {}) as { conditions?: Condition[] } & Record<string, unknown>;
  const md = o.metadata as Obj['metadata'] & { labels?: Record<string, string>; annotations?: Record<string, string> };
  const created = md.creationTimestamp ? `${md.creationTimestamp} (${age(md.creationTimestamp)} ago)` : NONE;
  return [
    field('Name', md.name),
    md.namespace ? field('Namespace', md.namespace) : '',
    field('Kind', String(o.kind ?? '')),
    pairs('Labels', md.labels),
    pairs('Annotations', md.annotations),
    field('Created', created),
    field('Generation', String(md.generation ?? NONE)),
    block('Spec', o.spec),
    block('Status', status),
    table(
      'Conditions',
      ['TYPE', 'STATUS', 'REASON', 'MESSAGE', 'LAST-TRANSITION'],
      (conditions ?? []).map((c) => [c.type ?? '', c.status ?? '', c.reason || NONE, c.message || NONE, age(c.lastTransitionTime)]),
    ),
    DELIVERING.has(String(o.kind)) ? table('Deliveries (newest first)', DELIVERY_HEADER, deliveryRows(deliveries)) : '',
    table(
      'Events',
      ['TYPE', 'REASON', 'AGE', 'COUNT', 'MESSAGE'],
      events.map((e) => [e.type, e.reason, age(e.lastTimestamp), String(e.count), e.message]),
    ),
  ].join('');
}

async function run(ctx: CliContext, args: Args): Promise<number> {
  const [kind, ...names] = args.positionals;
  if (!kind || !names.length) throw new UsageError('describe needs KIND NAME [NAME...], or delivery ID', 'describe');
  if (kind === 'delivery' || kind === 'deliveries') return describeDeliveries(ctx, names);
  const def = resolveKind(kind);
  checkNames(names);
  const ns = def.namespaced ? ctx.namespace : '';
  const parts: string[] = [];
  for (const name of names) {
    const o = await ctx.client.get<Obj>(resourcePath(def, name), nsQuery(def, ctx.namespace));
    const ev = await ctx.client.get<{ items?: Event[] }>('/v1/events', { kind: def.kind, namespace: ns, name });
    const recent = DELIVERING.has(def.kind) ? (await ctx.client.get<{ items: DeliveryRecord[] }>('/v1/deliveries', { namespace: ns, owner: `${def.kind}/${ns}/${name}`, limit: '10' })).items : [];
    // The server lists newest first; like kubectl, read them oldest first.
    parts.push(describe(o, [...(ev.items ?? [])].reverse(), recent));
  }
  ctx.out(parts.join('\n'));
  return 0;
}

export const describeCommand: Command = {
  name: 'describe',
  summary: 'Show a resource in detail (metadata, spec, status, conditions, recent deliveries and events), or one delivery end to end',
  usage: 'orlojctl describe KIND NAME [NAME...] | describe delivery ID [ID...]',
  flags: [],
  run,
};
