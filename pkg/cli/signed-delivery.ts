// `orlojctl webhook send`: a delivery signed here with the keys an admin token reads, or,
// when the token cannot read them (a writer's), signed by orlojd itself as a test delivery.
// Both sign with one implementation (pkg/receiver/sign-delivery.ts).
import { STATUS_CODES } from 'node:http';
import type { StoredResource } from '../api/types.js';
import { signDelivery, type SignedDelivery, type SignOptions } from '../receiver/sign-delivery.js';
import type { TestDeliveryAnswer } from '../receiver/test-delivery.js';
import { resolveKind } from './command.js';
import type { CliContext } from './context.js';
import { CliError } from './errors.js';
import { SecretRedacted, signingKey } from './signing-key.js';

const warn = (text: string): void => void process.stderr.write(`warning: ${text}\n`);

/**
 * Signs here, with the Secret's keys read through the API. Undefined when the token may not
 * read them: the server signs then, unless `local` insists on signing here.
 */
export async function signLocally(ctx: CliContext, w: StoredResource, body: Buffer, o: SignOptions, local: boolean): Promise<SignedDelivery | undefined> {
  try {
    return await signDelivery(w, body, o, (secret, key) => signingKey(ctx, secret, key));
  } catch (e) {
    if (!(e instanceof SecretRedacted)) throw e;
    if (local) throw new CliError(`${e.message}; without --local, orlojd signs it as a test delivery`);
    return undefined;
  }
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

/** Has orlojd sign and deliver the body as a test (POST .../test-delivery): what the receiver answered, and a line saying so. */
export async function serverSigned(ctx: CliContext, w: StoredResource, body: Buffer, o: SignOptions): Promise<number> {
  const def = resolveKind(w.kind);
  const query = { namespace: ctx.namespace, eventId: o.eventId, eventType: o.eventType, key: o.key };
  const { body: answer } = await ctx.client.request<TestDeliveryAnswer>('POST', `/v1/${def.plural}/${encodeURIComponent(w.metadata.name)}/test-delivery`, query, body);
  (answer.warnings ?? []).forEach(warn);
  ctx.out(`HTTP ${answer.httpStatus} ${STATUS_CODES[answer.httpStatus] ?? ''}\n${JSON.stringify(answer.body)}\n`);
  ctx.out(`(a server-signed test delivery: orlojd signed it with the ${def.singular}'s own secret and profile, and its record is marked test)\n`);
  return answer.httpStatus >= 200 && answer.httpStatus < 300 ? 0 : 1;
}
