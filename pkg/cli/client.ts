import { request as httpRequest, type IncomingMessage, type RequestOptions } from 'node:http';
import type { KindDef } from '../api/kind.js';
import { CliError, ConnectionError, ServerError, type StatusBody } from './errors.js';

export type Query = Record<string, string | undefined>;

/** The answer's headers, by case-insensitive name. */
export interface ReplyHeaders {
  get(name: string): string | null;
}

export interface Reply<T> {
  status: number;
  headers: ReplyHeaders;
  body: T;
}

/** Why a request never got an answer, in words (undici hides the errno in `cause`, node:http does not). */
function connectionProblem(e: unknown): string {
  const cause = (e as { cause?: { code?: string; message?: string } }).cause ?? (e as { code?: string; message?: string });
  switch (cause?.code) {
    case 'ECONNREFUSED':
      return 'connection refused (is orlojd running?)';
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return 'host not found';
    case 'ETIMEDOUT':
    case 'UND_ERR_CONNECT_TIMEOUT':
      return 'connection timed out';
    case 'ECONNRESET':
    case 'UND_ERR_SOCKET':
      return 'connection reset';
    default:
      return cause?.message ?? (e as Error).message;
  }
}

/** A thin client for the orlojd HTTP API; every non-2xx answer becomes a ServerError. */
export class Client {
  constructor(
    readonly server: string,
    private readonly token: string | undefined,
  ) {}

  url(path: string, query: Query = {}): string {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(query)) if (v !== undefined) q.set(k, v);
    const qs = q.toString();
    return `${this.server.replace(/\/+$/, '')}${path}${qs ? `?${qs}` : ''}`;
  }

  async fetch(method: string, path: string, query: Query = {}, body?: unknown, signal?: AbortSignal): Promise<Response> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (this.token) headers.authorization = `Bearer ${this.token}`;
    if (body !== undefined) headers['content-type'] = 'application/json';
    let res: Response;
    try {
      res = await fetch(this.url(path, query), { method, headers, body: body === undefined ? undefined : JSON.stringify(body), signal });
    } catch (e) {
      if ((e as Error).name === 'AbortError') throw e;
      throw new ConnectionError(`cannot reach orlojd at ${this.server}: ${connectionProblem(e)}`);
    }
    if (res.ok) return res;
    throw serverError(res.status, res.statusText, await res.text().catch(() => ''));
  }

  /**
   * One request and its whole answer, over node:http(s) rather than fetch: the first fetch of
   * a process loads undici, which costs about 0.1 s, more than the rest of a `get`. A body is
   * sent as JSON (under `contentType`, a patch's media type say, when given); a Buffer as it is.
   */
  async request<T>(method: string, path: string, query: Query = {}, body?: unknown, contentType?: string): Promise<Reply<T>> {
    const url = new URL(this.url(path, query));
    const headers: Record<string, string> = { accept: 'application/json' };
    if (this.token) headers.authorization = `Bearer ${this.token}`;
    const payload = body === undefined ? undefined : Buffer.isBuffer(body) ? body : Buffer.from(JSON.stringify(body));
    if (payload) {
      const type = contentType ?? (Buffer.isBuffer(body) ? undefined : 'application/json');
      if (type) headers['content-type'] = type;
      headers['content-length'] = String(payload.length);
    }
    let res: IncomingMessage;
    let text: string;
    try {
      res = await send(url, { method, headers }, payload);
      text = await readText(res);
    } catch (e) {
      throw new ConnectionError(`cannot reach orlojd at ${this.server}: ${connectionProblem(e)}`);
    }
    const status = res.statusCode ?? 0;
    if (status < 200 || status > 299) throw serverError(status, res.statusMessage ?? '', text);
    const h = res.headers;
    const get = (name: string): string | null => {
      const v = h[name.toLowerCase()];
      return v === undefined ? null : Array.isArray(v) ? v.join(', ') : v;
    };
    return { status, headers: { get }, body: (text ? JSON.parse(text) : undefined) as T };
  }

  async get<T>(path: string, query: Query = {}): Promise<T> {
    return (await this.request<T>('GET', path, query)).body;
  }
}

/** A non-2xx answer: its Status body when it has one, else its text. */
function serverError(code: number, statusText: string, text: string): ServerError {
  let status: StatusBody | undefined;
  try {
    const parsed = JSON.parse(text) as StatusBody;
    if (parsed && typeof parsed === 'object') status = parsed;
  } catch {
    // not JSON (a proxy's error page, say): the text is the message
  }
  return new ServerError(code, statusText, status, text);
}

/** Sends one request; https is loaded only for an https server. */
function send(url: URL, opts: RequestOptions, payload?: Buffer): Promise<IncomingMessage> {
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error(`unsupported URL scheme "${url.protocol}"`);
  const request = url.protocol === 'https:' ? process.getBuiltinModule('node:https').request : httpRequest;
  return new Promise((resolve, reject) => {
    const req = request(url, opts, resolve);
    req.on('error', reject);
    req.end(payload);
  });
}

function readText(res: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    res.on('data', (c: Buffer) => chunks.push(c));
    res.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    res.on('error', reject);
    // Closed before its end: the connection went away mid-answer.
    res.on('close', () => res.complete || reject(Object.assign(new Error('the answer was cut off'), { code: 'ECONNRESET' })));
  });
}

/**
 * Names from the command line, checked as kubectl does before anything is sent: an empty
 * name would address the whole collection (a list, or a watch of every object), and `.`
 * or `..` would be resolved away from the URL path.
 */
export function checkNames(names: string[]): string[] {
  for (const n of names) {
    if (n === '') throw new CliError('resource name may not be empty');
    if (n === '.' || n === '..') throw new CliError(`resource name may not be "${n}"`);
  }
  return names;
}

/** `/v1/{plural}[/{name}]` and the namespace query for one kind. */
export function resourcePath(def: KindDef, name?: string): string {
  if (name !== undefined) checkNames([name]);
  return `/v1/${def.plural}${name === undefined ? '' : `/${encodeURIComponent(name)}`}`;
}

export function nsQuery(def: KindDef, namespace: string): Query {
  return def.namespaced ? { namespace } : {};
}
