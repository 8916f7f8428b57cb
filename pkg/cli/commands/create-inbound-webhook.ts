// `orlojctl create inbound-webhook NAME --collection C [--secret S] [--ingest-auth JSON]
// [--source-binding JSON | --field-mapping JSON] [--hydration JSON]`, the flags of seed 000's CLI.
import type { Args } from '../args.js';
import { checkNames, resourcePath } from '../client.js';
import { resolveKind } from '../command.js';
import type { CliContext } from '../context.js';
import { UsageError } from '../errors.js';
import { ref } from '../manifests.js';

/** What each JSON flag's usage error shows as a valid value. */
const JSON_EXAMPLES: Record<string, string> = {
  'ingest-auth': '{"type":"static_header","header":"X-Account-Key"}',
  'source-binding': '{"collection":"orders","source":"shop-api"}',
  'field-mapping': '{"to_external":{"status":"state"}}',
  hydration: '{"id_path":"record_id","event_path":"event","event_map":{"ResourceDeleted":"delete"}}',
};

function jsonFlag(args: Args, flag: string): Record<string, unknown> | undefined {
  const v = args.str(flag);
  if (v === undefined) return undefined;
  try {
    const parsed: unknown = JSON.parse(v);
    if (parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed)) return parsed as Record<string, unknown>;
  } catch {
    // reported below
  }
  throw new UsageError(`--${flag} must be a JSON object, e.g. --${flag} '${JSON_EXAMPLES[flag] ?? '{}'}'`, 'create');
}

/** The InboundWebhook manifest the flags describe; `secretName` is set when --secret was given. */
export function inboundWebhookSpec(args: Args, secretName: string | undefined): Record<string, unknown> {
  const collection = args.str('collection');
  if (!collection) throw new UsageError('--collection is required: the collection deliveries write to', 'create');
  const binding = jsonFlag(args, 'source-binding');
  const mapping = jsonFlag(args, 'field-mapping');
  const hydration = jsonFlag(args, 'hydration');
  if (binding && mapping) throw new UsageError('--source-binding and --field-mapping are mutually exclusive', 'create');
  return {
    collection,
    ...(secretName ? { secret_ref: secretName } : {}),
    ...(args.has('ingest-auth') ? { ingest_auth: jsonFlag(args, 'ingest-auth') } : {}),
    ...(binding ? { source_binding: binding } : {}),
    ...(mapping ? { field_mapping: mapping } : {}),
    ...(hydration ? { hydration } : {}),
  };
}

/**
 * Seed 000 writes source names with underscores (`shop_api`); object names use hyphens, and
 * the server resolves one to the other. The value is sent as given, but the user should know
 * which Source it finds.
 */
function noteSourceName(spec: Record<string, unknown>): void {
  const binding = spec.source_binding as Record<string, unknown> | undefined;
  const source = binding?.source;
  if (typeof source !== 'string' || !source.includes('_')) return;
  process.stderr.write(`note: source "${source}" is named "${source.replace(/_/g, '-')}" (names use hyphens)\n`);
}

/**
 * Creates the Secret holding --secret's value first (as `<name>-secret`, key `value`), then
 * the webhook; both are create-only, so nothing existing is replaced.
 */
export async function createInboundWebhook(ctx: CliContext, args: Args, name: string): Promise<number> {
  checkNames([name]);
  const dryRun = args.bool('dry-run') ? 'true' : undefined;
  const value = args.str('secret');
  if (value === '') throw new UsageError('--secret may not be empty', 'create');
  const secretName = value === undefined ? undefined : `${name}-secret`;
  const spec = inboundWebhookSpec(args, secretName);
  noteSourceName(spec);
  const def = resolveKind('InboundWebhook');
  const q = { namespace: ctx.namespace, dryRun };
  if (secretName) {
    const secretDef = resolveKind('Secret');
    await ctx.client.request('POST', resourcePath(secretDef), q, { apiVersion: 'orloj.dev/v1', kind: 'Secret', metadata: { name: secretName, namespace: ctx.namespace }, spec: { stringData: { value } } });
    ctx.out(`${ref(secretDef, secretName)} created${dryRun ? ' (dry run)' : ''}\n`);
  }
  await ctx.client.request('POST', resourcePath(def), q, { apiVersion: 'orloj.dev/v1', kind: def.kind, metadata: { name, namespace: ctx.namespace }, spec });
  ctx.out(`${ref(def, name)} created${dryRun ? ' (dry run)' : ''}\n`);
  if (!dryRun) ctx.out(`Its ingest URLs, once it is Ready: orlojctl describe inbound-webhook ${name}\n`);
  return 0;
}
