// `orlojctl webhook send`: a delivery signed here, with the keys an admin token reads, by the
// implementation the server shares (pkg/receiver/sign-delivery.ts), posted as its sender would.
import type { StoredResource } from '../api/types.js';
import { signDelivery, type SignedDelivery, type SignOptions } from '../receiver/sign-delivery.js';
import type { CliContext } from './context.js';
import { CliError } from './errors.js';
import { signingKey } from './signing-key.js';

const warn = (text: string): void => void process.stderr.write(`warning: ${text}\n`);

/** Signs here, with the Secret's keys read through the API. */
export function signLocally(ctx: CliContext, w: StoredResource, body: Buffer, o: SignOptions): Promise<SignedDelivery> {
  return signDelivery(w, body, o, (secret, key) => signingKey(ctx, secret, key));
}

/** Posts a delivery signed here to the receiver's endpoint, as its sender would. */
export async function postSigned(ctx: CliContext, path: string, d: SignedDelivery): Promise<number> {
  if (d.eventIdNotSent) warn(`--event-id is not sent: ${d.eventIdNotSent}`);
  d.warnings.forEach(warn);
  let res: Response;
  try {
    res = await fetch(ctx.client.url(path), { method: 'POST', headers: d.headers, body: new Blob([new Uint8Array(d.body)]) });
  } catch (e) {
    throw new CliError(`cannot reach orlojd at ${ctx.client.server}: ${(e as Error).message}`);
  }
  ctx.out(`HTTP ${res.status} ${res.statusText}\n${await res.text()}\n`);
  return res.ok ? 0 : 1;
}
