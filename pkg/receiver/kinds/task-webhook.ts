// TaskWebhook: a verified, new event creates one run task from the webhook's template task.
import type { TaskWebhookSpec } from '../../api/kinds/task-webhook.js';
import type { Status, StoredResource } from '../../api/types.js';
import { signature } from '../auth.js';
import { keysOf } from '../keys.js';
import { ReceiverBase } from './base.js';
import { headerList, idHeadersOf } from '../profiles/index.js';
import { buildRunTask, runTaskTemplate, type RunTaskTemplate } from '../run-task.js';
import type { ProfileOptions, SignatureProfile } from '../profiles/types.js';
import {
  Rejection, type Action, type Authenticator, type DeliveryRequest, type Fetch, type Outcome, type Problem, type Receiver, type ReceiverKind, type VerifiedDelivery,
} from '../types.js';
import { webhookProfile } from '../webhook-options.js';

function keyProblem(name: string, secret: StoredResource | undefined, keys: Buffer[]): string | undefined {
  if (!secret) return `secret "${name}" not found`;
  return keys.length ? undefined : `secret "${name}" has no keys`;
}

function templateProblem(name: string, template: StoredResource | undefined): string | undefined {
  if (!template) return `template task "${name}" not found`;
  return template.spec.mode === 'template' ? undefined : `task "${name}" is not a template`;
}

const NO_PROBLEMS: Problem[] = [];

/** For Ready: the template first (without it nothing can be created), then the signing keys. */
function problems(spec: TaskWebhookSpec, ns: string, template: StoredResource | undefined, secret: StoredResource | undefined, keys: Buffer[]): Problem[] {
  const out: Problem[] = [];
  if (!template) out.push({ reason: 'TemplateNotFound', message: `task "${spec.task_ref}" not found in namespace "${ns}"` });
  else if (template.spec.mode !== 'template') out.push({ reason: 'TaskNotTemplate', message: `task "${spec.task_ref}" is not a template (spec.mode: template)` });
  if (!secret) out.push({ reason: 'SecretNotFound', message: `secret "${spec.auth.secret_ref}" not found in namespace "${ns}"` });
  else if (!keys.length) out.push({ reason: 'SecretEmpty', message: `secret "${spec.auth.secret_ref}" has no non-empty key` });
  return out.length ? out : NO_PROBLEMS;
}

function payloadOf(spec: TaskWebhookSpec, body: Buffer): unknown {
  const text = body.toString('utf8');
  if (spec.payload.mode !== 'json') return text;
  try {
    return JSON.parse(text);
  } catch {
    throw new Rejection(400, 'BadRequest', 'invalid JSON payload', 'webhook task creation failed: payload.mode is json but the body is not valid JSON');
  }
}

class TaskWebhookReceiver extends ReceiverBase implements Receiver {
  readonly authenticators: Authenticator[];
  readonly eventIdSource: string;
  readonly eventIdHeaders: readonly string[];
  readonly dedupeWindowMs: number;

  constructor(
    w: StoredResource,
    private readonly spec: TaskWebhookSpec,
    private readonly profile: SignatureProfile,
    private readonly opts: ProfileOptions,
    keys: Buffer[],
    private readonly runTask: RunTaskTemplate | undefined,
    private readonly tplProblem: string | undefined,
    readonly authProblem: string | undefined,
    readonly problems: Problem[],
  ) {
    super(w, spec);
    this.authenticators = [signature(profile, keys, opts)];
    this.eventIdSource = opts.eventIdHeader || 'the payload';
    this.eventIdHeaders = headerList(idHeadersOf(profile, opts));
    this.dedupeWindowMs = (spec.idempotency?.dedupe_window_seconds ?? profile.defaults.dedupeWindowSeconds) * 1000;
  }

  eventId(req: DeliveryRequest): string | undefined {
    return this.profile.eventId(req, this.opts);
  }

  act(d: VerifiedDelivery): Action {
    const payload = payloadOf(this.spec, d.req.body);
    if (!this.runTask) throw new Rejection(400, 'BadRequest', 'webhook task creation failed', `webhook task creation failed: ${this.tplProblem}`);
    const eventType = this.profile.eventType(d.req, this.opts);
    const task = buildRunTask(this.runTask, { eventId: d.eventId, eventType, profile: this.profile.name, payload, receivedAt: d.receivedAt, nowMs: d.nowMs });
    // A replay accepted again after its window gets the next free name: `<name>-2`, ...
    return { ops: [{ op: 'create', object: task, uniqueName: true }] };
  }

  answer(o: Outcome): object {
    return {
      accepted: true,
      duplicate: o.duplicate,
      event_id: o.eventId,
      task: o.result,
      message: o.duplicate ? 'duplicate delivery: task already created' : 'task created',
    };
  }

  lastDelivery(o: Outcome): Status {
    return o.duplicate ? {} : { lastTriggeredTask: o.result };
  }
}

async function compile(w: StoredResource, fetch: Fetch): Promise<Receiver> {
  const spec = w.spec as TaskWebhookSpec;
  const ns = w.metadata.namespace;
  const { profile, opts } = webhookProfile(spec);
  const secret = await fetch('Secret', ns, spec.auth.secret_ref);
  const keys = keysOf(secret);
  const template = await fetch('Task', ns, spec.task_ref);
  const tplProblem = templateProblem(spec.task_ref, template);
  const runTask = tplProblem ? undefined : runTaskTemplate(w, template!);
  const authProblem = keyProblem(spec.auth.secret_ref, secret, keys);
  return new TaskWebhookReceiver(w, spec, profile, opts, keys, runTask, tplProblem, authProblem, problems(spec, ns, template, secret, keys));
}

export const taskWebhookReceiver: ReceiverKind = { kind: 'TaskWebhook', compile };
