// The one request hydration makes: the bound Source's read URL, with the record id as one
// path segment, and the Source's method, headers (values from Secrets) and timeout. Nothing
// from the notification but that id ever reaches the request.
import type { SecretValueRef, SourceSpec } from '../api/kinds/source.js';
import type { StoredResource } from '../api/types.js';
import type { OutboundRequest } from '../outbound/client.js';

/** The largest record a fetch reads: the most a delivery may carry. */
export const MAX_RECORD_BYTES = 5 * 1024 * 1024;

/** `encodeURIComponent`, and `.` too: `..` cannot climb out of its segment, even for a server that resolves dot-segments after decoding. */
export const encodeSegment = (id: string): string => encodeURIComponent(id).replace(/\./g, '%2E');

export type SecretLookup = (name: string) => Promise<StoredResource | undefined>;

/** A header value from a Secret key; undefined (with why) when the Secret or key is missing. */
async function headerValue(v: string | SecretValueRef, secret: SecretLookup): Promise<{ value?: string; missing?: string }> {
  if (typeof v === 'string') return { value: v };
  const s = await secret(v.secret_ref);
  const data = s?.spec.data as Record<string, string> | undefined;
  const raw = data?.[v.key];
  if (raw === undefined) return { missing: s ? `secret "${v.secret_ref}" has no key "${v.key}"` : `secret "${v.secret_ref}" not found` };
  return { value: (v.prefix ?? '') + Buffer.from(raw, 'base64').toString('utf8') };
}

/** The read request for record `id`, or why it cannot be made (a header's Secret is missing). */
export async function readRequest(read: NonNullable<SourceSpec['read']>, id: string, secret: SecretLookup): Promise<OutboundRequest | { problem: string }> {
  const headers: Record<string, string> = { Accept: 'application/json' };
  for (const [name, v] of Object.entries(read.headers ?? {})) {
    const h = await headerValue(v, secret);
    if (h.missing) return { problem: `header ${name}: ${h.missing}` };
    headers[name] = h.value!;
  }
  return { ...target(read.url, id), method: read.method, headers, timeoutMs: read.timeout_seconds * 1000, maxResponseBytes: MAX_RECORD_BYTES };
}

/** Stands for the id while the URL is parsed: unreserved characters only, so it stays as it is. */
const SLOT = 'orloj-record-id-slot';

/**
 * The URL with the id in place, and its path as sent: the id goes in after parsing, since a
 * URL parser would resolve an id of `..` (even as `%2E%2E`) as a step up the path.
 */
function target(template: string, id: string): { url: string; path: string } {
  const u = new URL(template.replaceAll('{id}', SLOT));
  const path = (u.pathname + u.search).replaceAll(SLOT, encodeSegment(id));
  return { url: `${u.origin}${path}`, path };
}
