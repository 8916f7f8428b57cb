import { secretValues } from '../api/kinds/secret.js';
import type { StoredResource } from '../api/types.js';
import type { CliContext } from './context.js';
import { CliError } from './errors.js';

/** The token may not read Secret values (only an admin's reveals them). */
export class SecretRedacted extends CliError {}

/** The signing key: the named key of the Secret, else its first non-empty key. */
export async function signingKey(ctx: CliContext, secretName: string, keyName: string | undefined): Promise<Buffer> {
  const secret = await ctx.client.get<StoredResource>(`/v1/secrets/${encodeURIComponent(secretName)}`, { namespace: ctx.namespace, reveal: 'true' });
  const data = (secret.spec.data as Record<string, string>) ?? {};
  if (Object.values(data).some((v) => v === '<redacted>')) throw new SecretRedacted('reading the signing secret needs an admin token');
  if (keyName) {
    if (!(keyName in data)) throw new CliError(`secret "${secretName}" has no key "${keyName}"`);
    return Buffer.from(data[keyName]!, 'base64');
  }
  const key = secretValues(secret).find((k) => k.length > 0);
  if (!key) throw new CliError(`secret "${secretName}" has no key to sign with`);
  return key;
}
