// `orlojctl trigger redeliver ID` and `orlojctl trigger resume NAME`: the two actions on a
// Trigger beyond its manifest (pkg/trigger/routes.ts).
import type { Args } from '../args.js';
import { checkNames, resourcePath } from '../client.js';
import { resolveKind, type Command } from '../command.js';
import type { CliContext } from '../context.js';
import { UsageError } from '../errors.js';
import { ref } from '../manifests.js';

interface Redelivery {
  id?: number;
  messageId: string;
  redelivers: number;
}

async function redeliver(ctx: CliContext, id: string): Promise<number> {
  if (!/^[1-9]\d*$/.test(id)) throw new UsageError(`delivery ID must be a positive number (the ID column of get deliveries --for trigger/NAME), not "${id}"`, 'trigger');
  const { body } = await ctx.client.request<Redelivery>('POST', `/v1/deliveries/${id}/redeliver`);
  // The id is missing only when the server held the commit; the redelivery is queued all the same.
  ctx.out(`delivery ${id} redelivered${body.id !== undefined ? ` as ${body.id}` : ''} (webhook-id ${body.messageId})\n`);
  return 0;
}

async function resume(ctx: CliContext, name: string): Promise<number> {
  checkNames([name]);
  const def = resolveKind('Trigger');
  await ctx.client.request('POST', `${resourcePath(def, name)}/resume`, { namespace: ctx.namespace });
  ctx.out(`${ref(def, name)} resumed\n`);
  return 0;
}

async function run(ctx: CliContext, args: Args): Promise<number> {
  const [sub, arg, ...rest] = args.positionals;
  if (sub === 'redeliver' && arg !== undefined && !rest.length) return redeliver(ctx, arg);
  if (sub === 'resume' && arg !== undefined && !rest.length) return resume(ctx, arg);
  throw new UsageError('expected: trigger redeliver DELIVERY_ID, or trigger resume NAME', 'trigger');
}

export const triggerCommand: Command = {
  name: 'trigger',
  summary: "Redeliver a Trigger's dead-lettered change, or resume a Trigger its destination stopped (410 Gone)",
  usage: ['orlojctl trigger redeliver DELIVERY_ID', 'orlojctl trigger resume NAME [-n NS]'].join('\n'),
  flags: [],
  run,
};
