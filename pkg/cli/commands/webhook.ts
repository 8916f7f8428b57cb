import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { secretValues } from '../../api/kinds/secret.js';
import type { TaskWebhookSpec } from '../../api/kinds/task-webhook.js';
import type { StoredResource } from '../../api/types.js';
import { webhookProfile } from '../../receiver/webhook-options.js';
import type { Args } from '../args.js';
import { checkNames } from '../client.js';
import type { Command } from '../command.js';
import type { CliContext } from '../context.js';
import { CliError, UsageError } from '../errors.js';
import { signDelivery, type SignedDelivery } from '../signed-delivery.js';

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

async function getWebhook(ctx: CliContext, name: string): Promise<StoredResource> {
  return ctx.client.get<StoredResource>(`/v1/task-webhooks/${encodeURIComponent(name)}`, { namespace: ctx.namespace });
}

/** The signing key: the named key of the webhook's Secret, else its first non-empty key. */
async function signingKey(ctx: CliContext, spec: TaskWebhookSpec, keyName: string | undefined): Promise<Buffer> {
  const secret = await ctx.client.get<StoredResource>(`/v1/secrets/${encodeURIComponent(spec.auth.secret_ref)}`, { namespace: ctx.namespace, reveal: 'true' });
  const data = (secret.spec.data as Record<string, string>) ?? {};
  if (Object.values(data).some((v) => v === '<redacted>')) throw new CliError('reading the signing secret needs an admin token');
  if (keyName) {
    if (!(keyName in data)) throw new CliError(`secret "${spec.auth.secret_ref}" has no key "${keyName}"`);
    return Buffer.from(data[keyName]!, 'base64');
  }
  const key = secretValues(secret).find((k) => k.length > 0);
  if (!key) throw new CliError(`secret "${spec.auth.secret_ref}" has no key to sign with`);
  return key;
}

/** The body and headers to post: signed, with the event id and type where the profile reads them. */
async function signedFor(ctx: CliContext, args: Args, spec: TaskWebhookSpec, body: Buffer): Promise<SignedDelivery> {
  const given = args.str('event-id');
  if (given === '') throw new UsageError('--event-id may not be empty', 'webhook');
  const { profile, opts } = webhookProfile(spec);
  const signing = { profile, opts, key: await signingKey(ctx, spec, args.str('key')), nowMs: Date.now() };
  const signed = signDelivery(signing, body, given ?? `evt-${randomUUID()}`, given !== undefined);
  if (signed.warning) process.stderr.write(`warning: ${signed.warning}\n`);
  const eventType = args.str('event-type');
  if (eventType) signed.headers[profile.defaults.eventTypeHeader ?? 'X-Event-Type'] = eventType;
  return signed;
}

async function send(ctx: CliContext, args: Args, name: string): Promise<number> {
  const body = readData(args.str('data'));
  const webhook = await getWebhook(ctx, name);
  const path = webhook.status.endpointPath as string | undefined;
  if (!path) throw new CliError(`task-webhook/${name} has no endpoint yet (is orlojd reconciling?)`);
  const signed = await signedFor(ctx, args, webhook.spec as TaskWebhookSpec, body);
  let res: Response;
  try {
    res = await fetch(ctx.client.url(path), { method: 'POST', headers: signed.headers, body: new Blob([new Uint8Array(signed.body)]) });
  } catch (e) {
    throw new CliError(`cannot reach orlojd at ${ctx.client.server}: ${(e as Error).message}`);
  }
  ctx.out(`HTTP ${res.status} ${res.statusText}\n${await res.text()}\n`);
  return res.ok ? 0 : 1;
}

async function rotate(ctx: CliContext, name: string): Promise<number> {
  const before = await getWebhook(ctx, name);
  const after = (await ctx.client.request<StoredResource>('POST', `/v1/task-webhooks/${encodeURIComponent(name)}/rotate-endpoint`, { namespace: ctx.namespace })).body;
  ctx.out(`task-webhook/${name} endpoint rotated\n  old: ${String(before.status.endpointPath ?? '<none>')} (now answers 404)\n  new: ${String(after.status.endpointPath)}\n`);
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
  summary: "Send a delivery signed with a TaskWebhook's own secret and profile, or rotate its endpoint",
  usage: 'orlojctl webhook send NAME -d DATA|@FILE|- [--event-id ID] [--event-type TYPE] [--key KEY]\norlojctl webhook rotate-endpoint NAME',
  flags: [
    { name: 'data', short: 'd', type: 'string', arg: 'DATA', help: 'the body: text, @file, or - for stdin' },
    { name: 'event-id', type: 'string', arg: 'ID', help: "event id (default: a random one); where the profile reads it from the body (stripe: id, slack: event_id), it is set in the body's JSON" },
    { name: 'event-type', type: 'string', arg: 'TYPE', help: "event type, in the profile's event type header" },
    { name: 'key', type: 'string', arg: 'KEY', help: 'which key of the Secret signs (default: the first)' },
  ],
  run,
};
