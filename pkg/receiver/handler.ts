import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { DELIVERY_PREFIX } from '../api/endpoint.js';
import { ApiError } from '../api/errors.js';
import { readBody } from '../apiserver/body.js';
import type { Metrics } from '../metrics/metrics.js';
import type { DeliveryStore, TaskDeliveryResult } from '../store/types.js';
import type { ReceiverCache, Receiver } from './receivers.js';
import { buildRunTask } from './run-task.js';

export interface DeliveryDeps {
  receivers: ReceiverCache;
  deliveries: DeliveryStore;
  metrics: Metrics;
  log: Logger;
}

/** A refusal: `message` goes to the sender, `detail` only to status.lastError and the record. */
class Rejection extends Error {
  constructor(
    readonly code: number,
    readonly reason: string,
    message: string,
    readonly detail: string = message,
  ) {
    super(message);
  }
}

function answer(res: ServerResponse, code: number, body: object, close = false): void {
  const json = JSON.stringify(body);
  const headers = ['Content-Type', 'application/json', 'Content-Length', String(Buffer.byteLength(json))];
  if (close) headers.push('Connection', 'close');
  res.writeHead(code, headers);
  res.end(json);
}

const rejectionBody = (r: Rejection) => ({ accepted: false, kind: 'Status', status: 'Failure', code: r.code, reason: r.reason, message: r.message });

/** One delivery on its way through the handler. */
interface Delivery {
  req: IncomingMessage;
  start: number;
  receivedAt: string;
  receiver?: Receiver;
  eventId?: string;
}

/** POST /v1/webhook-deliveries/{endpoint_id}: find receiver → cap body → verify → dedup → act → record → answer. */
export function deliveryHandler(deps: DeliveryDeps) {
  const counted = {
    accepted: deps.metrics.deliveries.labels('TaskWebhook', 'accepted'),
    duplicate: deps.metrics.deliveries.labels('TaskWebhook', 'duplicate'),
    rejected: deps.metrics.deliveries.labels('TaskWebhook', 'rejected'),
  };
  async function deliver(d: Delivery, res: ServerResponse): Promise<void> {
    try {
      const result = await accept(deps, d);
      counted[result.outcome].inc();
      const duplicate = result.outcome === 'duplicate';
      answer(res, 202, {
        accepted: true,
        duplicate,
        event_id: d.eventId,
        task: result.task,
        message: duplicate ? 'duplicate delivery: task already created' : 'task created',
      });
    } catch (err) {
      const r = err instanceof Rejection ? err : internalError(deps, err);
      if (d.receiver && r.code !== 404) reject(deps, d, r);
      counted.rejected.inc();
      answer(res, r.code, rejectionBody(r), r.code === 413);
      if (r.code === 413) res.once('finish', () => d.req.destroy());
    } finally {
      deps.metrics.deliveryDuration.observe((performance.now() - d.start) / 1000);
    }
  }
  return {
    prefix: DELIVERY_PREFIX,
    handle(req: IncomingMessage, res: ServerResponse): void {
      void deliver({ req, start: performance.now(), receivedAt: new Date().toISOString() }, res);
    },
  };
}

/** Everything up to a 202: the outcome and its task, or a Rejection. */
async function accept(deps: DeliveryDeps, d: Delivery): Promise<{ outcome: 'accepted' | 'duplicate'; task: string }> {
  const { req } = d;
  if (req.method !== 'POST') throw new Rejection(405, 'MethodNotAllowed', 'deliveries must be POSTed');
  const endpointId = endpointOf(req.url ?? '');
  const r = (d.receiver = deps.receivers.cached(endpointId) ?? (await deps.receivers.lookup(endpointId)));
  if (!r) throw new Rejection(404, 'NotFound', 'webhook endpoint not found');
  let body: Buffer;
  try {
    body = await readBody(req, r.spec.max_body_bytes);
  } catch (e) {
    if (e instanceof ApiError) throw new Rejection(413, 'RequestEntityTooLarge', 'payload too large', `body exceeds max_body_bytes (${r.spec.max_body_bytes})`);
    throw e;
  }
  if (r.spec.suspend) throw new Rejection(409, 'Conflict', 'webhook is suspended', 'delivery refused: webhook is suspended');
  const eventId = (d.eventId = verify(r, req, body));
  const seen = deps.deliveries.recentTask(r.webhook.metadata.uid, eventId, Date.now());
  if (seen) {
    deps.deliveries.note(r.webhook.metadata.uid, { ...recordOf(d, 202), outcome: 'duplicate', task: seen });
    return { outcome: 'duplicate', task: seen };
  }
  const result = await create(deps, r, d, body);
  if (result.outcome === 'untasked') {
    throw new Rejection(400, 'BadRequest', 'webhook task creation failed', `webhook task creation failed: ${r.templateProblem ?? 'no template'}`);
  }
  return result;
}

function endpointOf(url: string): string {
  const q = url.indexOf('?');
  return url.slice(DELIVERY_PREFIX.length, q < 0 ? undefined : q);
}

/** Signature, timestamp and event id, in that order; returns the event id. */
function verify(r: Receiver, req: IncomingMessage, body: Buffer): string {
  const dreq = { headers: req.headers as Record<string, string | undefined>, body };
  if (r.keyProblem) throw new Rejection(401, 'Unauthorized', 'signature verification failed', `signature verification failed: ${r.keyProblem}`);
  const v = r.profile.verify(dreq, r.keys, r.opts, Date.now());
  if (!v.ok) throw new Rejection(401, 'Unauthorized', 'signature verification failed', `signature verification failed: ${v.reason}`);
  const eventId = r.profile.eventId(dreq, r.opts);
  if (!eventId) {
    const where = r.opts.eventIdHeader || 'the payload';
    throw new Rejection(400, 'BadRequest', 'missing event id', `missing event id (expected in ${where})`);
  }
  return eventId;
}

/** Commits the run task with its dedup entry and record; a concurrent or older copy of the event answers duplicate. */
function create(deps: DeliveryDeps, r: Receiver, d: Delivery, body: Buffer): Promise<TaskDeliveryResult> {
  let payload: unknown = body.toString('utf8');
  if (r.spec.payload.mode === 'json') {
    try {
      payload = JSON.parse(payload as string);
    } catch {
      throw new Rejection(400, 'BadRequest', 'invalid JSON payload', 'webhook task creation failed: payload.mode is json but the body is not valid JSON');
    }
  }
  const eventId = d.eventId!;
  const eventType = r.profile.eventType({ headers: d.req.headers as Record<string, string | undefined>, body }, r.opts);
  const nowMs = Date.now();
  return deps.deliveries.commitTaskDelivery({
    ownerUid: r.webhook.metadata.uid,
    eventId,
    windowMs: r.dedupeWindowMs,
    nowMs,
    task: r.runTask && buildRunTask(r.runTask, { eventId, eventType, profile: r.profile.name, payload, receivedAt: d.receivedAt }),
    record: { ...recordOf(d, 202), outcome: 'accepted' },
  });
}

function recordOf(d: Delivery, httpStatus: number) {
  return { ts: d.receivedAt, owner: d.receiver!.owner, eventId: d.eventId, httpStatus, durationMs: +(performance.now() - d.start).toFixed(3) };
}

function reject(deps: DeliveryDeps, d: Delivery, rej: Rejection): void {
  deps.deliveries.note(d.receiver!.webhook.metadata.uid, { ...recordOf(d, rej.code), outcome: 'rejected', reason: rej.detail });
}

function internalError(deps: DeliveryDeps, err: unknown): Rejection {
  deps.log.error({ err }, 'delivery failed');
  return new Rejection(503, 'ServiceUnavailable', 'delivery could not be stored; retry later', `internal error: ${(err as Error).message}`);
}
