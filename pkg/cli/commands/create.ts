import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import type { Args } from '../args.js';
import { checkNames, resourcePath } from '../client.js';
import { DRY_RUN, resolveKind, type Command } from '../command.js';
import type { CliContext } from '../context.js';
import { CliError, UsageError } from '../errors.js';
import { ref } from '../manifests.js';
import { lookupKind } from '../../api/registry.js';
import { createInboundWebhook } from './create-inbound-webhook.js';
import { createTrigger } from './create-trigger.js';

function splitPair(flag: string, v: string): [string, string | undefined] {
  const i = v.indexOf('=');
  if (i === 0) throw new UsageError(`--${flag} "${v}": the key is empty`, 'create');
  return i < 0 ? [v, undefined] : [v.slice(0, i), v.slice(i + 1)];
}

/** Literals go in stringData; files in data as base64, so binary content survives. */
function secretSpec(args: Args): { stringData: Record<string, string>; data: Record<string, string> } {
  const stringData: Record<string, string> = {};
  const data: Record<string, string> = {};
  const seen = new Set<string>();
  const add = (key: string): void => {
    if (seen.has(key)) throw new UsageError(`key "${key}" is given twice`, 'create');
    seen.add(key);
  };
  for (const lit of args.list('from-literal')) {
    const [k, v] = splitPair('from-literal', lit);
    if (v === undefined) throw new UsageError(`--from-literal "${lit}" must be KEY=VALUE`, 'create');
    add(k);
    stringData[k] = v;
  }
  for (const f of args.list('from-file')) {
    const [first, rest] = splitPair('from-file', f);
    const [k, path] = rest === undefined ? [basename(first), first] : [first, rest];
    add(k);
    try {
      data[k] = readFileSync(path).toString('base64');
    } catch (e) {
      throw new CliError(`--from-file ${f}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`);
    }
  }
  if (!seen.size) throw new UsageError('give at least one --from-literal KEY=VALUE or --from-file [KEY=]PATH', 'create');
  return { stringData, data };
}

async function run(ctx: CliContext, args: Args): Promise<number> {
  const [what, type, name, ...extra] = args.positionals;
  if (what && lookupKind(what)?.kind === 'InboundWebhook') {
    if (type === undefined || name !== undefined) throw new UsageError('usage: orlojctl create inbound-webhook NAME --collection C [--secret S] ...', 'create');
    return createInboundWebhook(ctx, args, type);
  }
  if (what && lookupKind(what)?.kind === 'Trigger') {
    if (type === undefined || name !== undefined) throw new UsageError('usage: orlojctl create trigger NAME (--collection C | --resource tasks [--selector SEL]) --url URL ..., or NAME --source NAME ...', 'create');
    return createTrigger(ctx, args, type);
  }
  if (what !== 'secret' || type !== 'generic' || name === undefined || extra.length) {
    throw new UsageError('usage: orlojctl create secret generic NAME --from-literal KEY=VALUE ...', 'create');
  }
  checkNames([name]);
  const def = resolveKind('Secret');
  const obj = { apiVersion: 'orloj.dev/v1', kind: def.kind, metadata: { name, namespace: ctx.namespace }, spec: secretSpec(args) };
  const dryRun = args.bool('dry-run');
  // Create only, as kubectl does: replacing an existing Secret would drop keys a rotation still needs.
  const reply = await ctx.client.request('POST', resourcePath(def), { namespace: ctx.namespace, dryRun: dryRun ? 'true' : undefined }, obj);
  const result = reply.headers.get('x-orloj-result') ?? 'created';
  ctx.out(`${ref(def, name)} ${result}${dryRun ? ' (dry run)' : ''}\n`);
  return 0;
}

export const createCommand: Command = {
  name: 'create',
  summary: 'Create a Secret from literal values or files, or an InboundWebhook or Trigger from flags',
  usage: [
    'orlojctl create secret generic NAME --from-literal KEY=VALUE [--from-literal ...] [--from-file [KEY=]PATH] [--dry-run]',
    'orlojctl create inbound-webhook NAME --collection C [--secret VALUE] [--ingest-auth JSON] [--source-binding JSON | --field-mapping JSON] [--hydration JSON] [--dry-run]',
    'orlojctl create trigger NAME (--collection C | --resource tasks [--selector SEL]) --url URL [--events create,update] [--secret-ref S] [--max-attempts N] [--timeout-seconds N] [--dry-run]',
    'orlojctl create trigger NAME --source NAME [--events create,update] [--max-attempts N] [--timeout-seconds N] [--dry-run]',
  ].join('\n'),
  flags: [
    { name: 'collection', type: 'string', arg: 'NAME', help: 'inbound-webhook: the collection deliveries write to; trigger: the collection it watches' },
    { name: 'secret', type: 'string', arg: 'VALUE', help: 'inbound-webhook: a key, stored in a Secret NAME-secret it creates' },
    { name: 'ingest-auth', type: 'string', arg: 'JSON', help: 'inbound-webhook: e.g. {"type":"static_header","header":"X-Account-Key"} (default hmac, generic profile)' },
    { name: 'source-binding', type: 'string', arg: 'JSON', help: 'inbound-webhook: {"collection":"C","source":"NAME"}: reuse a Source\'s mapping' },
    { name: 'field-mapping', type: 'string', arg: 'JSON', help: 'inbound-webhook: an inline mapping, e.g. {"to_external":{"status":"state"}}' },
    { name: 'hydration', type: 'string', arg: 'JSON', help: 'inbound-webhook: with --source-binding, fetch each record from the Source, e.g. {"id_path":"record_id","merge":true}' },
    { name: 'resource', type: 'string', arg: 'tasks', help: 'trigger: watch run tasks instead of a collection' },
    { name: 'selector', type: 'string', arg: 'SELECTOR', help: 'trigger: with --resource tasks, e.g. orloj.dev/task-webhook=NAME' },
    { name: 'url', type: 'string', arg: 'URL', help: 'trigger: the http(s) URL it POSTs each change to' },
    { name: 'source', type: 'string', arg: 'NAME', help: "trigger: write each change of the Source's collection to its system, instead of --url" },
    { name: 'events', type: 'string', arg: 'LIST', help: "trigger: create,update,delete or a JSON array (default all three)" },
    { name: 'secret-ref', type: 'string', arg: 'SECRET', help: 'trigger: the signing Secret (default: it generates NAME-signing)' },
    { name: 'max-attempts', type: 'string', arg: 'N', help: 'trigger: attempts before a change is dead-lettered (default 1)' },
    { name: 'timeout-seconds', type: 'string', arg: 'N', help: 'trigger: per-attempt timeout (default 15)' },
    { name: 'from-literal', type: 'list', arg: 'K=V', help: 'a key and its value (repeatable)' },
    { name: 'from-file', type: 'list', arg: '[K=]PATH', help: "a key and a file's content; the key defaults to the file name" },
    DRY_RUN,
  ],
  run,
};
