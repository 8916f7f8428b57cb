import type { Args } from '../args.js';
import { checkNames } from '../client.js';
import type { Command } from '../command.js';
import type { CliContext } from '../context.js';
import { UsageError } from '../errors.js';
import { getDeliveries } from './deliveries.js';

async function run(ctx: CliContext, args: Args): Promise<number> {
  const [sub, name, ...rest] = args.positionals;
  if (sub !== 'deliveries' || name === undefined || rest.length) throw new UsageError('expected: inbound-webhook deliveries NAME', 'inbound-webhook');
  checkNames([name]);
  return getDeliveries(ctx, args, `inbound-webhook/${name}`);
}

export const inboundWebhookCommand: Command = {
  name: 'inbound-webhook',
  summary: "Show an InboundWebhook's delivery records, newest first",
  usage: 'orlojctl inbound-webhook deliveries NAME [--outcome OUTCOME] [--limit N] [-o wide|json|yaml]',
  flags: [
    { name: 'output', short: 'o', type: 'string', arg: 'FORMAT', help: 'table (default), wide, json or yaml' },
    { name: 'outcome', type: 'string', arg: 'OUTCOME', help: 'accepted, duplicate or rejected' },
    { name: 'limit', type: 'string', arg: 'N', help: 'how many (default 100)' },
  ],
  run,
};
