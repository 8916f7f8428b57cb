import { stringify } from 'yaml';
import type { Args } from '../args.js';
import { checkNames, nsQuery, resourcePath } from '../client.js';
import { resolveKind, type Command } from '../command.js';
import type { CliContext } from '../context.js';
import { UsageError } from '../errors.js';
import { NONE, Table, age, type Obj } from '../table.js';

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

export function describe(o: Obj, events: Event[]): string {
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
    table(
      'Events',
      ['TYPE', 'REASON', 'AGE', 'COUNT', 'MESSAGE'],
      events.map((e) => [e.type, e.reason, age(e.lastTimestamp), String(e.count), e.message]),
    ),
  ].join('');
}

async function run(ctx: CliContext, args: Args): Promise<number> {
  const [kind, ...names] = args.positionals;
  if (!kind || !names.length) throw new UsageError('describe needs KIND NAME [NAME...]', 'describe');
  const def = resolveKind(kind);
  checkNames(names);
  const ns = def.namespaced ? ctx.namespace : '';
  const parts: string[] = [];
  for (const name of names) {
    const o = await ctx.client.get<Obj>(resourcePath(def, name), nsQuery(def, ctx.namespace));
    const ev = await ctx.client.get<{ items?: Event[] }>('/v1/events', { kind: def.kind, namespace: ns, name });
    // The server lists newest first; like kubectl, read them oldest first.
    parts.push(describe(o, [...(ev.items ?? [])].reverse()));
  }
  ctx.out(parts.join('\n'));
  return 0;
}

export const describeCommand: Command = {
  name: 'describe',
  summary: 'Show a resource in detail: metadata, spec, status, conditions and recent events',
  usage: 'orlojctl describe KIND NAME [NAME...]',
  flags: [],
  run,
};
