// POST /v1/{plural}/{name}/test-delivery: the server signs the posted body with the
// receiver's own current key and scheme, as its sender would, and runs it through the same
// receive path in-process, verification included (a broken profile or key shows as a
// refusal). Its records say it was a test. The answer wraps what the sender would have been
// answered: `{kind: TestDelivery, httpStatus, body, warnings}`; refusals of the request
// itself (role, unknown receiver, no endpoint, suspended, too large) are API errors.
import type { IncomingMessage } from 'node:http';
import { ApiError, notFound } from '../api/errors.js';
import { kindByPlural } from '../api/registry.js';
import type { StoredResource } from '../api/types.js';
import { readBody } from '../apiserver/body.js';
import type { Objects } from '../store/objects.js';
import type { LocalDeliveries } from './handler.js';
import type { ReceiverKinds } from './kinds/index.js';
import { keysOf } from './keys.js';
import { signDelivery, type KeySource } from './sign-delivery.js';

export interface TestDeliveryDeps {
  store: Objects;
  receiverKinds: ReceiverKinds;
  local: LocalDeliveries;
}

export interface TestDeliveryRequest {
  plural: string;
  name: string;
  namespace: string;
  query: Record<string, string | undefined>;
  /** The posted body's content type, delivered as it is (absent: what the receiver's payload mode expects). */
  contentType?: string;
  req: IncomingMessage;
}

export interface TestDeliveryAnswer {
  apiVersion: 'orloj.dev/v1';
  kind: 'TestDelivery';
  /** The status the receiver answered, as a sender would have got it. */
  httpStatus: number;
  /** Its body. */
  body: object;
  /** What was not sent as asked (an event id the profile reads elsewhere, a key that is missing). */
  warnings?: string[];
}

/** The receiver named, able to take a delivery now: the answers a sender's delivery would get otherwise. */
async function receiverOf(deps: TestDeliveryDeps, r: TestDeliveryRequest): Promise<{ obj: StoredResource; endpointId: string }> {
  const def = kindByPlural(r.plural);
  if (!def || !deps.receiverKinds.has(def.kind)) throw new ApiError('NotFound', `${r.plural} do not receive deliveries`);
  const obj = await deps.store.get(def.kind, r.namespace, r.name);
  if (!obj) throw notFound(def.kind, r.name, r.namespace);
  const endpointId = obj.status.endpointID;
  if (typeof endpointId !== 'string' || !endpointId) throw new ApiError('Conflict', `${def.kind} "${r.namespace}/${r.name}" has no endpoint yet (is orlojd reconciling?)`);
  if ((obj.spec as { suspend?: boolean }).suspend) throw new ApiError('Conflict', 'webhook is suspended');
  return { obj, endpointId };
}

/** Keys from the store (the server reads Secret values whatever the caller's role; none leave it). */
function storeKeys(store: Objects, namespace: string): KeySource {
  return async (secretName, keyName) => {
    const secret = await store.get('Secret', namespace, secretName);
    if (!secret) return undefined;
    if (keyName === undefined) return keysOf(secret)[0];
    const data = (secret.spec.data as Record<string, string> | undefined) ?? {};
    if (!Object.hasOwn(data, keyName)) throw new ApiError('BadRequest', `secret "${secretName}" has no key "${keyName}"`);
    return Buffer.from(data[keyName]!, 'base64');
  };
}

/** A header value from the query, one a sender could send (the HTTP server trims what surrounds it). */
function headerParam(query: Record<string, string | undefined>, name: string): string | undefined {
  const v = query[name];
  if (v === undefined) return undefined;
  if (!v.trim()) throw new ApiError('BadRequest', `${name} may not be empty`);
  if (/[\0-\x08\x0a-\x1f\x7f]/.test(v)) throw new ApiError('BadRequest', `${name} may not contain control characters`);
  return v.trim();
}

/** Headers as the HTTP server hands them to the receiver: names lower-cased, values as their UTF-8 bytes. */
const onTheWire = (headers: Record<string, string>): Record<string, string> =>
  Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), Buffer.from(v, 'utf8').toString('latin1')]));

export async function testDelivery(deps: TestDeliveryDeps, r: TestDeliveryRequest): Promise<TestDeliveryAnswer> {
  const { obj, endpointId } = await receiverOf(deps, r);
  const eventId = headerParam(r.query, 'eventId');
  const eventType = headerParam(r.query, 'eventType');
  // Capped as the receiver caps a sender's body, before any of it is buffered past the cap.
  const body = await readBody(r.req, (obj.spec as { max_body_bytes: number }).max_body_bytes);
  const opts = { eventId, eventType, key: r.query.key || undefined, contentType: r.contentType, nowMs: deps.local.now() };
  const signed = await signDelivery(obj, body, opts, storeKeys(deps.store, r.namespace));
  const answer = await deps.local.deliver(endpointId, onTheWire(signed.headers), signed.body);
  const warnings = [...(signed.eventIdNotSent ? [`the event id asked for (eventId) is not sent: ${signed.eventIdNotSent}`] : []), ...signed.warnings];
  return { apiVersion: 'orloj.dev/v1', kind: 'TestDelivery', ...answer, ...(warnings.length ? { warnings } : {}) };
}
