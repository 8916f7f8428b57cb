import { eventually, type Orlojd } from '../../helpers/orlojd.js';
import { put, readyOf, resource } from '../../helpers/fixtures.js';

export interface InboundStatus {
  endpointID: string;
  endpointPath: string;
  ingestURLs: Record<string, string>;
  secretRef?: string;
  lastError?: string;
  acceptedCount?: number;
  rejectedCount?: number;
}

/** Applies an InboundWebhook and waits until it is Ready; returns its status. */
export async function readyInbound(d: Orlojd, name: string, spec: Record<string, unknown>): Promise<InboundStatus> {
  await put(d, resource('InboundWebhook', name, spec));
  return eventually(async () => {
    const w = (await d.api('GET', `/v1/inbound-webhooks/${name}`)).body;
    return readyOf(w)?.status === 'True' && w.metadata.generation === w.status.observedGeneration ? (w.status as InboundStatus) : undefined;
  }, 5000);
}

export async function collection(d: Orlojd, name: string, spec: Record<string, unknown> = {}): Promise<void> {
  await put(d, resource('Collection', name, spec));
}

export async function document(d: Orlojd, collection: string, id: string) {
  return d.api('GET', `/v1/collections/${collection}/documents/${encodeURIComponent(id)}`);
}

export async function documents(d: Orlojd, collection: string): Promise<Array<{ id: string; data: Record<string, unknown> | null; raw?: string; meta: Record<string, unknown> }>> {
  return (await d.api('GET', `/v1/collections/${collection}/documents?limit=1000`)).body.items;
}
