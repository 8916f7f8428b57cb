// The contract between the delivery handler and receiver kinds. The handler runs the same
// steps for every kind (find → cap body → suspended? → authenticate → event id → dedup →
// act → commit → answer); a kind compiles its object into a Receiver that fills them in.
import type { Status, StoredResource } from '../api/types.js';
import type { Objects } from '../store/objects.js';
import type { Op } from '../store/types.js';
import type { DeliveryRequest, VerifyResult } from './profiles/types.js';

export type { DeliveryRequest, VerifyResult } from './profiles/types.js';

/** One check a delivery must pass; a receiver's authenticators must all pass. */
export interface Authenticator {
  /** `reason` is for status.lastError only and never names a secret. */
  verify(req: DeliveryRequest, nowMs: number): VerifyResult;
}

/** A refusal: `message` goes to the sender, `detail` only to status.lastError and the record. */
export class Rejection extends Error {
  constructor(
    readonly code: number,
    readonly reason: string,
    message: string,
    readonly detail: string = message,
  ) {
    super(message);
  }
}

/** A delivery that passed authentication and has an event id. */
export interface VerifiedDelivery {
  req: DeliveryRequest;
  eventId: string;
  receivedAt: string;
  nowMs: number;
}

/** What a kind wants committed for a new event (after the handler's claim, before its record and count). */
export interface Action {
  ops: Op[];
  /** Facts about this delivery for its answer (e.g. the fields a document got). */
  detail?: Record<string, unknown>;
  /** The delivery's record: `accepted` (done), or `queued` when work it asked for follows (a job). */
  outcome?: 'accepted' | 'queued';
  /** Called once the unit committed (e.g. to wake the worker of the job it added). */
  committed?: () => void;
}

/** The outcome the sender is answered with: a new event, or a duplicate of an earlier one. */
export interface Outcome {
  duplicate: boolean;
  eventId: string;
  /** What the event's unit created (a run task's name, a document's id, a job's id), as its claim remembers it. */
  result: string;
  /** The action's detail, for a new event. */
  detail?: Record<string, unknown>;
}

export interface Receiver {
  /** `Kind/namespace/name`, as delivery records name their owner. */
  readonly owner: string;
  /** The object it was compiled from (without its status). */
  readonly object: StoredResource;
  readonly maxBodyBytes: number;
  readonly suspended: boolean;
  readonly authenticators: Authenticator[];
  /** Why authentication cannot succeed (its Secret is missing), for lastError. */
  readonly authProblem?: string;
  /** The sender's event id, or undefined; `eventIdSource` names where it was expected. */
  eventId(req: DeliveryRequest): string | undefined;
  readonly eventIdSource: string;
  /**
   * Lower-cased names of the headers an event id may come from, first the preferred one.
   * The handler reads them before anything else (so even a refusal's record names its
   * event), refuses one sent twice, and decodes them as UTF-8.
   */
  readonly eventIdHeaders: readonly string[];
  readonly dedupeWindowMs: number;
  /** Without an event id every delivery is new (nothing to deduplicate on) instead of refused. */
  readonly eventIdOptional?: boolean;
  /** Its only credential is its endpoint's id in the URL: a URL naming it otherwise cannot serve it. */
  readonly credentialInPath?: boolean;
  /** Decides what a new event commits, or refuses it. */
  act(d: VerifiedDelivery): Action;
  /** The 202 body for an accepted or duplicate delivery. */
  answer(o: Outcome): object;
  /** Status fields a delivery moves besides the counters (e.g. lastTriggeredTask). */
  lastDelivery(o: Outcome): Status;
  /** What keeps it from accepting deliveries, most pressing first (its reconciler shows the first in Ready). */
  readonly problems: Problem[];
}

/** A configuration problem: `reason` is the Ready condition's, `message` goes to lastError. */
export interface Problem {
  reason: string;
  message: string;
}

/** A kind whose objects receive deliveries: one file in pkg/receiver/kinds/ and one registry line. */
export interface ReceiverKind {
  readonly kind: string;
  compile(obj: StoredResource, fetch: Fetch): Promise<Receiver>;
  /** Status fields of the kind's own that follow from the object and its endpoint ID (e.g. the URLs a sender uses). */
  statusOf?(obj: StoredResource, endpointID: string): Status;
  /** Creates what the object needs before it compiles (e.g. a generated key Secret); returns status fields naming it. */
  prepare?(obj: StoredResource, store: Objects): Promise<Status>;
}

/** Reads a referenced object through the receiver cache (one copy serves every receiver naming it). */
export type Fetch = (kind: string, namespace: string, name: string) => Promise<StoredResource | undefined>;

