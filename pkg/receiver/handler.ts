import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { DELIVERY_PREFIX } from '../api/endpoint.js';
import { ApiError } from '../api/errors.js';
import { readBody } from '../apiserver/body.js';
import type { Metrics } from '../metrics/metrics.js';
import type { DeliveryRecord, DeliveryStore } from '../store/types.js';
import type { CommitBatcher } from './batcher.js';
import type { ReceiverCache, Receiver } from './receivers.js';
import { buildRunTask } from './run-task.js';
import type { StatusReporter } from './status-reporter.js';

export interface DeliveryDeps {
  receivers: ReceiverCache;
  deliveries: DeliveryStore;
  batcher: CommitBatcher;
  reporter: StatusReporter;
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
  res.writeHead(code, {
    'Content-Type': 'application/json',
    'Content-Length': Buffer.byteLength(json),
    ...(close ? { Connection: 'close' } : {}),
  });
  res.end(json);
}

const rejectionBody = (r: Rejection) => ({ accepted: false, kind: 'Status', status: 'Failure', code: r.code, reason: r.reason, message: r.message });

/** POST /v1/webhook-deliveries/{endpoint_id}: find receiver → cap body → verify → dedup → act → record → answer. */
export function deliveryHandler(deps: DeliveryDeps) {
  return {
    prefix: DELIVERY_PREFIX,
    handle(req: IncomingMessage, res: ServerResponse): void {
      const start = performance.now();
      void deliver(deps, req, res, start);
    },
  };
}

async function deliver(deps: DeliveryDeps, req: IncomingMessage, res: ServerResponse, start: number): Promise<void> {
  let receiver: Receiver | undefined;
  let eventId: string | undefined;
  const receivedAt = new Date().toISOString();
  try {
    if (req.method !== 'POST') throw new Rejection(405, 'MethodNotAllowed', 'deliveries must be POSTed');
    const endpointId = (req.url ?? '').slice(DELIVERY_PREFIX.length).split('?')[0]!;
    receiver = await deps.receivers.lookup(endpointId);
    if (!receiver) throw new Rejection(404, 'NotFound', 'webhook endpoint not found');
    const body = await readBody(req, receiver.spec.max_body_bytes).catch((e: unknown) => {
      if (e instanceof ApiError) throw new Rejection(413, 'RequestEntityTooLarge', 'payload too large', `body exceeds max_body_bytes (${receiver!.spec.max_body_bytes})`);
      throw e;
    });
    if (receiver.spec.suspend) throw new Rejection(409, 'Conflict', 'webhook is suspended', 'delivery refused: webhook is suspended');
    eventId = verify(receiver, req, body);
    const seen = await deps.deliveries.findDuplicate(receiver.webhook.metadata.uid, eventId, Date.now());
    const result = seen ? replay(deps, receiver, eventId, seen, receivedAt, start) : await act(deps, receiver, req, body, eventId, receivedAt, start);
    if (result.outcome === 'untasked') {
      throw new Rejection(400, 'BadRequest', 'webhook task creation failed', `webhook task creation failed: ${receiver.templateProblem ?? 'no template'}`);
    }
    const duplicate = result.outcome === 'duplicate';
    if (!seen) deps.reporter.accepted(keyOf(receiver), receiver.webhook.metadata.uid, eventId, result.task, duplicate, receivedAt);
    deps.metrics.deliveries.inc({ kind: 'TaskWebhook', outcome: result.outcome });
    answer(res, 202, {
      accepted: true,
      duplicate,
      event_id: eventId,
      task: result.task,
      message: duplicate ? 'duplicate delivery: task already created' : 'task created',
    });
  } catch (err) {
    const r = err instanceof Rejection ? err : internalError(deps, err);
    if (receiver && r.code !== 404) reject(deps, receiver, r, eventId, receivedAt, start);
    deps.metrics.deliveries.inc({ kind: 'TaskWebhook', outcome: 'rejected' });
    answer(res, r.code, rejectionBody(r), r.code === 413);
    if (r.code === 413) res.once('finish', () => req.destroy());
  } finally {
    deps.metrics.deliveryDuration.observe((performance.now() - start) / 1000);
  }
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

async function act(deps: DeliveryDeps, r: Receiver, req: IncomingMessage, body: Buffer, eventId: string, receivedAt: string, start: number) {
  let payload: unknown = body.toString('utf8');
  if (r.spec.payload.mode === 'json') {
    try {
      payload = JSON.parse(payload as string);
    } catch {
      throw new Rejection(400, 'BadRequest', 'invalid JSON payload', 'webhook task creation failed: payload.mode is json but the body is not valid JSON');
    }
  }
  const dreq = { headers: req.headers as Record<string, string | undefined>, body };
  const template = r.template;
  const input = { webhook: r.webhook, eventId, eventType: r.profile.eventType(dreq, r.opts), profile: r.profile.name, payload, receivedAt };
  const record: DeliveryRecord = { ts: receivedAt, owner: r.owner, eventId, outcome: 'accepted', httpStatus: 202, durationMs: +(performance.now() - start).toFixed(3) };
  return deps.batcher.submit({
    ownerUid: r.webhook.metadata.uid,
    eventId,
    windowMs: r.dedupeWindowMs,
    nowMs: Date.now(),
    task: template ? buildRunTask({ ...input, template }) : undefined,
    record,
  });
}

/** A replay of an event whose task is already committed: nothing new to make durable. */
function replay(deps: DeliveryDeps, r: Receiver, eventId: string, task: string, ts: string, start: number) {
  const record: DeliveryRecord = { ts, owner: r.owner, eventId, outcome: 'duplicate', httpStatus: 202, durationMs: +(performance.now() - start).toFixed(3), task };
  deps.reporter.duplicate(keyOf(r), r.webhook.metadata.uid, record);
  return { outcome: 'duplicate' as const, task };
}

function reject(deps: DeliveryDeps, r: Receiver, rej: Rejection, eventId: string | undefined, ts: string, start: number): void {
  deps.reporter.rejected(keyOf(r), r.webhook.metadata.uid, {
    ts,
    owner: r.owner,
    eventId,
    outcome: 'rejected',
    reason: rej.detail,
    httpStatus: rej.code,
    durationMs: +(performance.now() - start).toFixed(3),
  });
}

function internalError(deps: DeliveryDeps, err: unknown): Rejection {
  deps.log.error({ err }, 'delivery failed');
  return new Rejection(503, 'ServiceUnavailable', 'delivery could not be stored; retry later', `internal error: ${(err as Error).message}`);
}

const keyOf = (r: Receiver) => ({ kind: 'TaskWebhook', namespace: r.webhook.metadata.namespace, name: r.webhook.metadata.name });
