// Leader election on a coordination.k8s.io/v1 Lease, as client-go's leaderelection does it.
// Every retry period each replica reads the Lease: one that is absent, released or expired
// (renewTime + leaseDurationSeconds in the past) is taken, one this replica holds is
// renewed. Writes carry the resourceVersion that was read, so of two replicas racing for
// it one gets 409 and stays a follower. A leader that cannot renew within the renew
// deadline steps down, before the lease (longer) can expire for the others; close() steps
// down and releases the Lease, so that a graceful stop hands over within a retry period.
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { CoordinationV1Api, KubeConfig, V1Lease, V1LeaseSpec, V1MicroTime } from '@kubernetes/client-node';
import { LeadershipState } from '../elector.js';
import type { Elector } from '../types.js';

export const LEASE_NAME = 'orlojd-leader';

export interface LeaseElectorOptions {
  namespace: string;
  /** Default LEASE_NAME. */
  name?: string;
  /** Default hostname_pid_random: unique per process, readable in the Lease. */
  identity?: string;
  /** How long a Lease holds after its last renewal (default 15 s; the Lease keeps whole seconds). */
  leaseDurationMs?: number;
  /** A leader that has not renewed for this long steps down (default 10 s). */
  renewDeadlineMs?: number;
  /** How often each replica tries to acquire or renew (default 2 s). */
  retryPeriodMs?: number;
  log?: { info(obj: object, msg: string): void; warn(obj: object, msg: string): void };
}

/** held: this replica holds the Lease now; taken: another does; conflict: it changed since it was read. */
type Attempt = 'held' | 'taken' | 'conflict';

type LeaseApi = Pick<CoordinationV1Api, 'readNamespacedLease' | 'createNamespacedLease' | 'replaceNamespacedLease'>;

export class LeaseElector extends LeadershipState implements Elector {
  readonly identity: string;
  readonly name: string;
  readonly namespace: string;
  private readonly leaseMs: number;
  private readonly renewDeadlineMs: number;
  private readonly retryMs: number;
  /** When the last successful acquire or renew was sent; 0: never. */
  private renewedAt = 0;
  private timer?: NodeJS.Timeout;
  private inflight?: Promise<void>;
  private closed = false;
  private lastError?: string;

  /** An elector already trying to lead. */
  static async start(kc: KubeConfig, opts: LeaseElectorOptions): Promise<LeaseElector> {
    const k8s = await import('@kubernetes/client-node');
    const elector = new LeaseElector(kc.makeApiClient(k8s.CoordinationV1Api), (d) => new k8s.V1MicroTime(d.getTime()), opts);
    elector.start();
    return elector;
  }

  /** `micro`: the Lease's times must be MicroTime, which client-node makes from a Date. */
  constructor(private readonly api: LeaseApi, private readonly micro: (d: Date) => V1MicroTime, private readonly opts: LeaseElectorOptions) {
    super();
    this.identity = opts.identity ?? `${hostname()}_${process.pid}_${randomBytes(4).toString('hex')}`;
    this.name = opts.name ?? LEASE_NAME;
    this.namespace = opts.namespace;
    this.leaseMs = opts.leaseDurationMs ?? 15_000;
    this.renewDeadlineMs = opts.renewDeadlineMs ?? 10_000;
    this.retryMs = opts.retryPeriodMs ?? 2_000;
    // As client-go insists: a leader must step down before its Lease can expire for the others.
    if (!(this.renewDeadlineMs < this.leaseMs && this.retryMs < this.renewDeadlineMs)) throw new Error('leader election needs retry period < renew deadline < lease duration');
  }

  start(): void {
    this.schedule(0);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.timer);
    await this.inflight;
    // Leader work stops before another replica may start it.
    this.set(false);
    if (!this.renewedAt) return;
    try {
      await within(this.release(), this.renewDeadlineMs);
    } catch (e) {
      this.opts.log?.warn({ lease: this.where(), err: describe(e) }, 'could not release the leader lease; another replica takes over when it expires');
    }
  }

  private schedule(ms: number): void {
    if (this.closed) return;
    this.timer = setTimeout(() => {
      this.inflight = this.tick().finally(() => (this.inflight = undefined));
    }, ms);
  }

  private async tick(): Promise<void> {
    const sent = Date.now();
    if (this.leader && sent >= this.renewedAt + this.renewDeadlineMs) this.set(false);
    // A leader's attempt may take only what is left of its renew deadline: then it steps down.
    const budget = this.leader ? this.renewedAt + this.renewDeadlineMs - sent : this.renewDeadlineMs;
    let outcome: Attempt | 'failed';
    try {
      outcome = await within(this.acquireOrRenew(new Date(sent)), Math.max(budget, 0));
      this.lastError = undefined;
    } catch (e) {
      outcome = 'failed';
      this.report(e);
    }
    if (this.closed) return;
    // A leader's conflict, like a failure, is retried until the deadline: the next read says who holds it.
    if (outcome === 'held') {
      this.renewedAt = sent;
      this.set(true);
    } else if (outcome === 'taken' || Date.now() >= this.renewedAt + this.renewDeadlineMs) {
      this.set(false);
    }
    // A leader whose renewals fail comes back at its deadline at the latest, to step down on time.
    this.schedule(this.leader ? Math.min(this.retryMs, Math.max(0, this.renewedAt + this.renewDeadlineMs - Date.now())) : this.retryMs);
  }

  private async acquireOrRenew(now: Date): Promise<Attempt> {
    const lease = await this.read();
    if (!lease) return this.write(() => this.api.createNamespacedLease({ namespace: this.namespace, body: { metadata: { name: this.name, namespace: this.namespace }, spec: this.spec(now, now, 0) } }));
    const spec = lease.spec ?? {};
    const holder = spec.holderIdentity ?? '';
    const mine = holder === this.identity;
    if (holder && !mine && !expired(spec, now)) return 'taken';
    const next = mine ? { ...spec, ...this.spec(spec.acquireTime ? new Date(String(spec.acquireTime)) : now, now, spec.leaseTransitions ?? 0) } : this.spec(now, now, (spec.leaseTransitions ?? 0) + 1);
    // The resourceVersion read stays in metadata: a write after someone else's gets 409.
    return this.write(() => this.api.replaceNamespacedLease({ name: this.name, namespace: this.namespace, body: { ...lease, spec: next } }));
  }

  /** Hands the Lease over at once: no holder, and a duration already past. */
  private async release(): Promise<void> {
    const lease = await this.read();
    if (!lease || lease.spec?.holderIdentity !== this.identity) return;
    const now = new Date();
    const spec: V1LeaseSpec = { ...lease.spec, holderIdentity: undefined, leaseDurationSeconds: 1, acquireTime: this.micro(now), renewTime: this.micro(now) };
    await this.write(() => this.api.replaceNamespacedLease({ name: this.name, namespace: this.namespace, body: { ...lease, spec } }));
  }

  private spec(acquired: Date, now: Date, transitions: number): V1LeaseSpec {
    return {
      holderIdentity: this.identity,
      leaseDurationSeconds: Math.ceil(this.leaseMs / 1000),
      acquireTime: this.micro(acquired),
      renewTime: this.micro(now),
      leaseTransitions: transitions,
    };
  }

  private async read(): Promise<V1Lease | undefined> {
    try {
      return await this.api.readNamespacedLease({ name: this.name, namespace: this.namespace });
    } catch (e) {
      if (statusOf(e) === 404) return undefined;
      throw e;
    }
  }

  /** A write that lost the race (409: created or changed since it was read) is no error. */
  private async write(fn: () => Promise<V1Lease>): Promise<Attempt> {
    try {
      await fn();
      return 'held';
    } catch (e) {
      if (statusOf(e) === 409) return 'conflict';
      throw e;
    }
  }

  protected override set(leader: boolean): boolean {
    if (leader !== this.leader) this.opts.log?.info({ lease: this.where(), identity: this.identity }, leader ? 'leading' : 'no longer leading');
    return super.set(leader);
  }

  /** One line per kind of failure, not one per retry. */
  private report(e: unknown): void {
    const err = describe(e);
    if (err === this.lastError) return;
    this.lastError = err;
    this.opts.log?.warn({ lease: this.where(), err }, 'leader election: the lease could not be read or written');
  }

  private where(): string {
    return `${this.namespace}/${this.name}`;
  }
}

/** The holder's own promise: its renewTime plus the duration it wrote. */
function expired(spec: V1LeaseSpec, now: Date): boolean {
  const at = spec.renewTime ?? spec.acquireTime;
  if (!at) return true;
  return new Date(String(at)).getTime() + (spec.leaseDurationSeconds ?? 0) * 1000 < now.getTime();
}

function statusOf(e: unknown): number | undefined {
  const code = (e as { code?: unknown })?.code;
  return typeof code === 'number' ? code : undefined;
}

/** Status and the server's message only: client-node's own message spans lines of headers. */
function describe(e: unknown): string {
  const code = statusOf(e);
  if (code === undefined) return String((e as Error)?.message ?? e).split('\n')[0]!;
  const body = (e as { body?: unknown }).body;
  let message: unknown;
  try {
    message = (typeof body === 'string' ? (JSON.parse(body) as { message?: unknown }) : (body as { message?: unknown } | undefined))?.message;
  } catch {
    message = undefined;
  }
  return `HTTP ${code}${typeof message === 'string' ? `: ${message}` : ''}`;
}

/** `p`, or a failure once `ms` pass: an API server that does not answer counts as a failed attempt. */
function within<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms)));
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}
