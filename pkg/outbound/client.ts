// The one HTTP client every outbound request of orlojd goes through. It resolves the host
// itself, refuses it when any address is one the guard refuses, and connects only to an
// address it checked, so DNS cannot hand the socket a different one (rebinding).
// Redirects are returned, never followed: a Location could point anywhere.
import type { LookupAddress, LookupOptions } from 'node:dns';
import { lookup } from 'node:dns/promises';
import http from 'node:http';
import https from 'node:https';
import { isIP, type LookupFunction } from 'node:net';
import { performance } from 'node:perf_hooks';
import { memo } from '../util/memo.js';
import { VERSION } from '../version.js';
import type { DestinationGuard } from './guard.js';

export type OutboundErrorReason = 'DestinationNotAllowed' | 'InvalidURL' | 'InvalidRequest' | 'Timeout' | 'ConnectionError';

/** Messages name the origin and the cause, never a path, query, header value or body: those may hold secrets. */
export class OutboundError extends Error {
  override readonly name = 'OutboundError';
  constructor(readonly reason: OutboundErrorReason, message: string) {
    super(message);
  }
}

export interface OutboundRequest {
  url: string;
  method: string;
  headers: Record<string, string>;
  body?: Buffer;
  /**
   * The request target exactly as sent, when the URL's own would be normalised (a URL parser
   * resolves `%2E%2E` as `..`); scheme, host and port still come from `url`.
   */
  path?: string;
  /** Covers the whole exchange: resolving, connecting, the response head and its body. */
  timeoutMs: number;
  /** At most this much of the response body is read (64 KiB by default); the rest is dropped with the connection. */
  maxResponseBytes?: number;
}

export interface OutboundResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
  durationMs: number;
}

const DEFAULT_MAX_RESPONSE_BYTES = 64 * 1024;
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

interface Target { readonly protocol: 'http:' | 'https:'; readonly host: string; readonly port: number; readonly path: string; readonly origin: string }

function parseTarget(url: string): Target {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new OutboundError('InvalidURL', 'not a valid URL');
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new OutboundError('InvalidURL', `scheme ${u.protocol} is not http: or https:`);
  const origin = `${u.protocol}//${u.hostname}:${u.port || (u.protocol === 'https:' ? '443' : '80')}`;
  // node would drop them silently; a secret belongs in a header, where messages never show it.
  if (u.username || u.password) throw new OutboundError('InvalidURL', `${origin}: credentials in the URL are not supported`);
  const host = u.hostname.startsWith('[') ? u.hostname.slice(1, -1) : u.hostname;
  return { protocol: u.protocol, host, port: Number(u.port) || (u.protocol === 'https:' ? 443 : 80), path: u.pathname + u.search, origin };
}

/** Parsed once per URL: a trigger sends to one URL again and again. Bounded, as URLs can come from data. */
const targetOf = memo(parseTarget, 1000);

/** `scheme://host:port` with the default port filled in: the unit of per-destination limits. */
export function origin(url: string): string {
  return targetOf(url).origin;
}

export class OutboundClient {
  private readonly guard: DestinationGuard;
  private readonly userAgent: string;
  // Keep-alive, so repeated sends to one destination reuse their connections.
  private readonly agents = { 'http:': new http.Agent({ keepAlive: true }), 'https:': new https.Agent({ keepAlive: true }) };
  private closed = false;

  constructor(opts: { guard: DestinationGuard; userAgent?: string }) {
    this.guard = opts.guard;
    this.userAgent = opts.userAgent ?? `orloj/${VERSION}`;
  }

  send(req: OutboundRequest): Promise<OutboundResponse> {
    const started = performance.now();
    let target: Target;
    let maxBytes: number;
    try {
      target = targetOf(req.url);
      if (req.path !== undefined) target = { ...target, path: req.path };
      maxBytes = req.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES;
      checkRequest(req, maxBytes);
      if (this.closed) throw new OutboundError('ConnectionError', `${target.origin}: the client is closed`);
    } catch (err) {
      return Promise.reject(err);
    }
    // One deadline for everything: when it passes, the request goes, whatever stage it is in.
    // A timer and destroy(), not an AbortSignal: a signal per request is a measurable share of
    // what sending one costs.
    return new Promise<OutboundResponse>((resolve, reject) => {
      let r: http.ClientRequest | undefined;
      let settled = false;
      const settle = (err: unknown, res?: OutboundResponse): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (res) resolve(res);
        else reject(err);
      };
      const timer = setTimeout(() => {
        settle(new OutboundError('Timeout', `${target.origin}: no complete response within ${req.timeoutMs} ms`));
        r?.destroy();
      }, req.timeoutMs);
      const go = (addresses: LookupAddress[]): void => {
        if (!settled) r = this.request(target, req, addresses, maxBytes, started, settle);
      };
      // An IP literal needs no lookup: it is checked and sent in this turn.
      const family = isIP(target.host);
      if (family === 0) this.lookup(target).then(go, settle);
      else {
        try {
          go(this.checked(target, [{ address: target.host, family }]));
        } catch (err) {
          settle(err);
        }
      }
    });
  }

  /** Drops every connection, idle or in use; later sends are refused. */
  close(): void {
    this.closed = true;
    this.agents['http:'].destroy();
    this.agents['https:'].destroy();
  }

  private async lookup(target: Target): Promise<LookupAddress[]> {
    let addresses: LookupAddress[];
    try {
      addresses = await lookup(target.host, { all: true });
    } catch (err) {
      throw new OutboundError('ConnectionError', `${target.origin}: cannot resolve ${target.host} (${codeOf(err)})`);
    }
    if (addresses.length === 0) throw new OutboundError('ConnectionError', `${target.origin}: ${target.host} has no address`);
    return this.checked(target, addresses);
  }

  /** The addresses, unless the guard refuses any of them. */
  private checked(target: Target, addresses: LookupAddress[]): LookupAddress[] {
    const refused = this.guard.firstRefused(addresses.map((a) => a.address));
    if (refused !== undefined) {
      const via = isIP(target.host) === 0 ? `${target.host} resolves to ${refused}; ` : '';
      throw new OutboundError('DestinationNotAllowed', `${target.origin}: ${via}${this.guard.problem(refused) ?? refused}`);
    }
    return addresses;
  }

  private request(
    target: Target,
    req: OutboundRequest,
    addresses: LookupAddress[],
    maxBytes: number,
    started: number,
    settle: (err: OutboundError | undefined, res?: OutboundResponse) => void,
  ): http.ClientRequest | undefined {
    const failed = (err: unknown) => settle(new OutboundError('ConnectionError', `${target.origin}: ${codeOf(err)}`));
    const headers = Object.keys(req.headers).some((k) => k.toLowerCase() === 'user-agent') ? req.headers : { 'User-Agent': this.userAgent, ...req.headers };
    const transport = target.protocol === 'https:' ? https : http;
    // `host` stays the hostname, so Host and SNI (and certificate checks) name it; `lookup` hands over the checked addresses.
    let r: http.ClientRequest;
    try {
      r = transport.request({
        protocol: target.protocol,
        host: target.host,
        port: target.port,
        path: target.path,
        method: req.method,
        headers,
        agent: this.agents[target.protocol],
        lookup: checkedLookup(addresses),
      });
    } catch (err) {
      settle(new OutboundError('InvalidRequest', `${target.origin}: ${codeOf(err)}`));
      return undefined;
    }
    r.on('error', failed);
    r.on('response', (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      const done = () => settle(undefined, { status: res.statusCode ?? 0, headers: { ...res.headers }, body: Buffer.concat(chunks, size), durationMs: Math.round(performance.now() - started) });
      res.on('data', (chunk: Buffer) => {
        if (size + chunk.length <= maxBytes) {
          chunks.push(chunk);
          size += chunk.length;
          return;
        }
        // Keep what fits and stop reading: the connection goes, the rest of the body with it.
        chunks.push(chunk.subarray(0, maxBytes - size));
        size = maxBytes;
        done();
        res.destroy();
      });
      res.on('end', done);
      res.on('error', failed);
      res.on('close', () => {
        if (!res.complete) failed(Object.assign(new Error('response ended early'), { code: 'ECONNRESET' }));
      });
    });
    r.end(req.body);
    return r;
  }
}

/** Answers the socket's lookup with addresses already checked, instead of asking DNS again. */
function checkedLookup(addresses: LookupAddress[]): LookupFunction {
  return (_hostname: string, options: LookupOptions, callback) => {
    const family = options.family === 'IPv4' ? 4 : options.family === 'IPv6' ? 6 : options.family;
    const usable = family === 4 || family === 6 ? addresses.filter((a) => a.family === family) : addresses;
    const first = usable[0];
    if (!first) return callback(Object.assign(new Error('no checked address of that family'), { code: 'ENOTFOUND' }), '', 0);
    if (options.all) return callback(null, usable);
    callback(null, first.address, first.family);
  };
}

function checkRequest(req: OutboundRequest, maxBytes: number): void {
  if (!TOKEN.test(req.method)) throw new OutboundError('InvalidRequest', `invalid method ${JSON.stringify(req.method)}`);
  if (req.path !== undefined && !/^\/[\x21-\x7e]*$/.test(req.path)) throw new OutboundError('InvalidRequest', 'the path must start with / and hold only printable ASCII');
  if (!(req.timeoutMs > 0) || !Number.isFinite(req.timeoutMs)) throw new OutboundError('InvalidRequest', 'timeoutMs must be a positive number');
  if (!Number.isSafeInteger(maxBytes) || maxBytes < 0) throw new OutboundError('InvalidRequest', 'maxResponseBytes must be a non-negative integer');
  for (const [name, value] of Object.entries(req.headers)) {
    try {
      http.validateHeaderName(name);
      http.validateHeaderValue(name, value);
    } catch {
      // The name is ours or the operator's to fix; the value is not repeated.
      throw new OutboundError('InvalidRequest', `invalid header ${JSON.stringify(name)}`);
    }
  }
}

// Error codes (ECONNREFUSED, CERT_HAS_EXPIRED, ...) say what happened; node's messages can carry more than that.
function codeOf(err: unknown): string {
  const code = err instanceof Error && 'code' in err ? err.code : undefined;
  return typeof code === 'string' ? code : 'connection failed';
}
