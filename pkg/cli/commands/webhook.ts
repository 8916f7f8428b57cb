import { readFileSync } from 'node:fs';
import type { StoredResource } from '../../api/types.js';
import type { SignOptions } from '../../receiver/sign-delivery.js';
import type { Args } from '../args.js';
import { checkNames } from '../client.js';
import { resolveKind, type Command } from '../command.js';
import type { CliContext } from '../context.js';
import { CliError, UsageError, isNotFound } from '../errors.js';
import { postSigned, serverSigned, signLocally } from '../signed-delivery.js';

/** `-d '{...}'`, `-d @file` or `-d -` (stdin), as curl takes it. */
function readData(d: string | undefined): Buffer {
  if (d === undefined) throw new UsageError('-d DATA is required (a body, @file, or - for stdin)', 'webhook');
  try {
    if (d === '-') return readFileSync(0);
    if (d.startsWith('@')) return readFileSync(d.slice(1));
  } catch (e) {
    throw new CliError(`cannot read ${d.slice(1) || 'stdin'}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  return Buffer.from(d, 'utf8');
}

async function getWebhook(ctx: CliContext, name: string, plural = 'task-webhooks'): Promise<StoredResource> {
  return ctx.client.get<StoredResource>(`/v1/${plural}/${encodeURIComponent(name)}`, { namespace: ctx.namespace });
}

/** `NAME` is a TaskWebhook, else an InboundWebhook; `KIND/NAME` names the kind. */
async function findReceiver(ctx: CliContext, target: string): Promise<StoredResource> {
  const slash = target.indexOf('/');
  if (slash >= 0) {
    const def = resolveKind(target.slice(0, slash));
    if (def.kind !== 'TaskWebhook' && def.kind !== 'InboundWebhook') throw new UsageError(`${def.plural} do not receive deliveries`, 'webhook');
    return getWebhook(ctx, target.slice(slash + 1), def.plural);
  }
  try {
    return await getWebhook(ctx, target);
  } catch (e) {
    if (!isNotFound(e)) throw e;
    return getWebhook(ctx, target, 'inbound-webhooks').catch((e2: unknown) => {
      throw isNotFound(e2) ? new CliError(`no task-webhook or inbound-webhook named "${target}" in namespace "${ctx.namespace}"`) : e2;
    });
  }
}

/** The event id and type asked for, and which key signs. */
function signOptions(args: Args): SignOptions {
  const eventId = args.str('event-id');
  if (eventId === '') throw new UsageError('--event-id may not be empty', 'webhook');
  return { eventId, eventType: args.str('event-type') || undefined, key: args.str('key'), nowMs: Date.now() };
}

/** Signed here when the token reads the Secret (an admin's) or with --local; else, or with --server-sign, by orlojd as a test delivery. */
async function send(ctx: CliContext, args: Args, name: string): Promise<number> {
  if (args.bool('server-sign') && args.bool('local')) throw new UsageError('--server-sign and --local exclude each other', 'webhook');
  const body = readData(args.str('data'));
  const webhook = await findReceiver(ctx, name);
  const path = webhook.status.endpointPath as string | undefined;
  if (!path) throw new CliError(`${webhook.kind}/${webhook.metadata.name} has no endpoint yet (is orlojd reconciling?)`);
  const o = signOptions(args);
  const signed = args.bool('server-sign') ? undefined : await signLocally(ctx, webhook, body, o, args.bool('local'));
  return signed ? postSigned(ctx, path, signed) : serverSigned(ctx, webhook, body, o);
}

async function rotate(ctx: CliContext, name: string): Promise<number> {
  const before = await findReceiver(ctx, name);
  const def = resolveKind(before.kind);
  const after = (await ctx.client.request<StoredResource>('POST', `/v1/${def.plural}/${encodeURIComponent(before.metadata.name)}/rotate-endpoint`, { namespace: ctx.namespace })).body;
  ctx.out(`${def.singular}/${before.metadata.name} endpoint rotated\n  old: ${String(before.status.endpointPath ?? '<none>')} (now answers 404)\n  new: ${String(after.status.endpointPath)}\n`);
  return 0;
}

async function run(ctx: CliContext, args: Args): Promise<number> {
  const [sub, name, ...rest] = args.positionals;
  if (!sub || name === undefined || rest.length) throw new UsageError('expected: webhook send NAME -d DATA | webhook rotate-endpoint NAME', 'webhook');
  checkNames([name]);
  if (sub === 'send') return send(ctx, args, name);
  if (sub === 'rotate-endpoint') return rotate(ctx, name);
  throw new UsageError(`unknown webhook subcommand "${sub}" (send, rotate-endpoint)`, 'webhook');
}

export const webhookCommand: Command = {
  name: 'webhook',
  summary: "Send a delivery signed with a webhook's own secret and scheme, or rotate its endpoint",
  usage: 'orlojctl webhook send [KIND/]NAME -d DATA|@FILE|- [--event-id ID] [--event-type TYPE] [--key KEY] [--server-sign | --local]\norlojctl webhook rotate-endpoint [KIND/]NAME\n(NAME: a task-webhook, else an inbound-webhook. An admin token signs here; a writer\'s has orlojd sign a test delivery.)',
  flags: [
    { name: 'data', short: 'd', type: 'string', arg: 'DATA', help: 'the body: text, @file, or - for stdin' },
    { name: 'event-id', type: 'string', arg: 'ID', help: "event id (default: a random one); where the profile reads it from the body (stripe: id, slack: event_id), it is set in the body's JSON" },
    { name: 'event-type', type: 'string', arg: 'TYPE', help: "event type, in the profile's event type header" },
    { name: 'key', type: 'string', arg: 'KEY', help: 'which key of the Secret signs (default: the first)' },
    { name: 'server-sign', type: 'bool', help: 'have orlojd sign it as a test delivery (the default when the token cannot read the Secret)' },
    { name: 'local', type: 'bool', help: 'sign here, with the Secret read through the API (needs an admin token)' },
  ],
  run,
};
