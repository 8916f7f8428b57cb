import type { KindDef } from './kind.js';
import { CollectionKind } from './kinds/collection.js';
import { InboundWebhookKind } from './kinds/inbound-webhook.js';
import { NamespaceKind } from './kinds/namespace.js';
import { SecretKind } from './kinds/secret.js';
import { SourceKind } from './kinds/source.js';
import { TaskKind } from './kinds/task.js';
import { TaskWebhookKind } from './kinds/task-webhook.js';
import { TriggerKind } from './kinds/trigger.js';

/** Every kind the server serves, in apply order (a Namespace before what lives in it). */
export const kinds: readonly KindDef[] = [NamespaceKind, SecretKind, CollectionKind, SourceKind, TaskKind, TaskWebhookKind, InboundWebhookKind, TriggerKind];

const byKind = new Map(kinds.map((k) => [k.kind, k]));
const byName = new Map<string, KindDef>();
for (const k of kinds) {
  for (const n of [k.kind, k.plural, k.singular, ...k.aliases]) byName.set(n.toLowerCase(), k);
}

/** Resolves a kind from any accepted spelling: `TaskWebhook`, `task-webhooks`, `tw`, ... */
export function lookupKind(name: string): KindDef | undefined {
  return byName.get(name.toLowerCase());
}

/** The kind a `kind:` field names: exact and case-sensitive, as in Kubernetes. */
export function kindNamed(kind: string): KindDef | undefined {
  return byKind.get(kind);
}

/** Why a `kind:` field names no kind, with the kind it was probably meant to be (`task`, `tw`). */
export function unknownKind(kind: string): string {
  const near = lookupKind(kind);
  return `unknown kind "${kind}"${near ? `; did you mean "${near.kind}"?` : ''}`;
}

export function kindByPlural(plural: string): KindDef | undefined {
  const k = byName.get(plural.toLowerCase());
  return k && k.plural === plural ? k : undefined;
}

export function applyOrder(kind: string): number {
  const i = kinds.findIndex((k) => k.kind === kind);
  return i < 0 ? kinds.length : i;
}
