// `orlojctl inbound-webhook deliveries NAME` and `orlojctl inbound-webhook redeliver ID`: an
// InboundWebhook's records, and sending a hydration job that gave up through once more.
import type { Args } from '../args.js';
import { checkNames } from '../client.js';
import type { Command } from '../command.js';
import type { CliContext } from '../context.js';
import { UsageError } from '../errors.js';
import { getDeliveries } from './deliveries.js';

interface Redelivery {
  id?: number | string;
  redelivers: number | string;
}

const USAGE = 'expected: inbound-webhook deliveries NAME, or inbound-webhook redeliver DELIVERY_ID';

/** ID is a record's ID in `inbound-webhook deliveries NAME`: a dead_letter or failed attempt, or its queued delivery. */
async function redeliver(ctx: CliContext, id: string): Promise<number> {
  if (!/^[1-9]\d*$/.test(id)) throw new UsageError(`delivery ID must be a positive number (the ID column of inbound-webhook deliveries NAME), not "${id}"`, 'inbound-webhook');
  const { body } = await ctx.client.request<Redelivery>('POST', `/v1/deliveries/${id}/redeliver`);
  // Without an id the server held the commit; the job is queued again all the same.
  ctx.out(`delivery ${id} redelivered${body.id !== undefined ? ` as ${body.id}` : ''}\n`);
  return 0;
}

async function run(ctx: CliContext, args: Args): Promise<number> {
  const [sub, arg, ...rest] = args.positionals;
  if (arg === undefined || rest.length) throw new UsageError(USAGE, 'inbound-webhook');
  if (sub === 'redeliver') return redeliver(ctx, arg);
  if (sub !== 'deliveries') throw new UsageError(USAGE, 'inbound-webhook');
  checkNames([arg]);
  return getDeliveries(ctx, args, `inbound-webhook/${arg}`);
}

export const inboundWebhookCommand: Command = {
  name: 'inbound-webhook',
  summary: "Show an InboundWebhook's delivery records, newest first, or redeliver a hydration that failed",
  usage: [
    'orlojctl inbound-webhook deliveries NAME [--outcome OUTCOME] [--limit N] [-o wide|json|yaml]',
    'orlojctl inbound-webhook redeliver DELIVERY_ID',
  ].join('\n'),
  flags: [
    { name: 'output', short: 'o', type: 'string', arg: 'FORMAT', help: 'table (default), wide, json or yaml' },
    {
      name: 'outcome',
      type: 'string',
      arg: 'OUTCOME',
      help: 'accepted, duplicate or rejected; with hydration also queued, delivering, delivered, retry_scheduled, failed or dead_letter',
    },
    { name: 'limit', type: 'string', arg: 'N', help: 'how many (default 100)' },
  ],
  run,
};
