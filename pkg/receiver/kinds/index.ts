// Receiver kinds come from the kind registry: a kind whose server side has a `receiver`
// receives deliveries. A new one is its kind file (pkg/api/kinds/), its receiver file
// here, and its line in pkg/api/registry.ts.
import type { KindDef, KindServer } from '../../api/kind.js';
import { kinds } from '../../api/registry.js';
import type { ReceiverKind } from '../types.js';

export type ReceiverKinds = ReadonlyMap<string, ReceiverKind>;

/** Every kind's server side, loaded once. */
export async function loadServers(defs: readonly KindDef[] = kinds): Promise<Array<{ def: KindDef; server: KindServer }>> {
  const loaded = await Promise.all(defs.map(async (def) => ({ def, server: (await def.server?.()) ?? {} })));
  return loaded;
}

export function receiverKindsOf(servers: Array<{ server: KindServer }>): ReceiverKinds {
  return new Map(servers.flatMap(({ server: s }) => (s.receiver ? [[s.receiver.kind, s.receiver] as const] : [])));
}
