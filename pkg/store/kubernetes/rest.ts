// A small JSON client for the API server: one request shape for CRDs and core kinds alike
// (create, replace, /status, merge patch, delete with preconditions), with the cluster's
// Status errors mapped to ApiError. Authentication and TLS come from the KubeConfig.
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent, request as httpsRequest, type RequestOptions } from 'node:https';
import type { KubeConfig } from '@kubernetes/client-node';
import { ApiError, type StatusReason } from '../../api/errors.js';

export type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export const MERGE_PATCH = 'application/merge-patch+json';

/** A Status body the API server answers a failure with. */
interface KubeStatus {
  kind?: string;
  code?: number;
  reason?: string;
  message?: string;
}

/** A failure as the cluster gave it, before it is worded for an object (see toApiError). */
export class KubeError extends Error {
  constructor(
    readonly code: number,
    readonly reason: string,
    message: string,
  ) {
    super(message);
  }
}

const REASONS: Record<number, StatusReason> = {
  400: 'BadRequest', 401: 'Unauthorized', 403: 'Forbidden', 404: 'NotFound', 405: 'MethodNotAllowed', 408: 'RequestTimeout', 409: 'Conflict',
  410: 'Gone', 412: 'PreconditionFailed', 413: 'RequestEntityTooLarge', 415: 'UnsupportedMediaType', 422: 'Invalid', 429: 'TooManyRequests', 503: 'ServiceUnavailable',
};

/** The reason the drivers use for what the cluster answered; AlreadyExists is a 409 of its own. */
export function reasonOf(e: KubeError): StatusReason {
  if (e.reason === 'AlreadyExists') return 'AlreadyExists';
  return REASONS[e.code] ?? 'InternalError';
}

/** Connections kept open to the API server: enough for a flood's writes, few enough not to be throttled. */
const MAX_SOCKETS = 32;
/** Retries of a request the API server throttled (429), after the delay it asks for. */
const THROTTLE_RETRIES = 5;

const delay = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export class Rest {
  private agent?: Agent;

  private constructor(
    private readonly kc: KubeConfig,
    private readonly server: URL,
  ) {}

  static create(kc: KubeConfig): Rest {
    const cluster = kc.getCurrentCluster();
    if (!cluster) throw new Error('the kubeconfig names no current cluster');
    return new Rest(kc, new URL(cluster.server));
  }

  /**
   * The KubeConfig gives each request its credentials (tokens may rotate) and a fresh agent;
   * requests share one keep-alive agent with the same TLS settings instead.
   */
  private async options(method: Method, url: URL): Promise<RequestOptions> {
    const opts: RequestOptions = { method, hostname: url.hostname, port: url.port, path: url.pathname + url.search, headers: { accept: 'application/json' } };
    await this.kc.applyToHTTPSOptions(opts);
    if (url.protocol === 'https:') {
      this.agent ??= new Agent({ keepAlive: true, maxSockets: MAX_SOCKETS, ca: opts.ca, cert: opts.cert, key: opts.key, rejectUnauthorized: opts.rejectUnauthorized, servername: opts.servername });
      opts.agent = this.agent;
    } else opts.agent = undefined;
    return opts;
  }

  async request<T>(method: Method, path: string, body?: unknown, contentType = 'application/json'): Promise<T> {
    const url = new URL(path, this.server);
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    for (let attempt = 0; ; attempt++) {
      const opts = await this.options(method, url);
      if (payload) opts.headers = { ...opts.headers, 'content-type': contentType, 'content-length': String(payload.length) };
      const res = await send(url.protocol === 'http:' ? httpRequest : httpsRequest, opts, payload);
      if (res.status >= 200 && res.status < 300) return (res.text ? JSON.parse(res.text) : {}) as T;
      if (res.status === 429 && attempt < THROTTLE_RETRIES) {
        await delay(Math.min(5, Number(res.retryAfter) || 1) * 1000);
        continue;
      }
      throw failure(res.status, res.text);
    }
  }

  close(): void {
    this.agent?.destroy();
  }
}

function failure(status: number, text: string): KubeError {
  let s: KubeStatus = {};
  try {
    s = JSON.parse(text) as KubeStatus;
  } catch {
    // not a Status: the HTTP status alone
  }
  return new KubeError(s.code ?? status, s.reason ?? '', s.message ?? `the API server answered ${status}`);
}

type Requester = typeof httpsRequest;

function send(req: Requester, opts: RequestOptions, payload: Buffer | undefined): Promise<{ status: number; text: string; retryAfter?: string }> {
  return new Promise((resolve, reject) => {
    const r = req(opts, (res: IncomingMessage) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8'), retryAfter: res.headers['retry-after'] }));
      res.on('error', reject);
    });
    r.on('error', reject);
    r.end(payload);
  });
}

/** Maps a cluster failure (or anything else) to ApiError; `kind`/`name` word it as the drivers do. */
export function toApiError(e: unknown, kind: string, name: string, make: (reason: StatusReason, message: string) => ApiError): ApiError {
  if (e instanceof ApiError) return e;
  if (e instanceof KubeError) return make(reasonOf(e), e.message);
  return new ApiError('ServiceUnavailable', `the Kubernetes API server is unreachable (${kind} "${name}"): ${(e as Error).message}`);
}
