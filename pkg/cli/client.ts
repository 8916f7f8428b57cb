import type { KindDef } from '../api/kind.js';
import { CliError, ConnectionError, ServerError, type StatusBody } from './errors.js';

export type Query = Record<string, string | undefined>;

export interface Reply<T> {
  status: number;
  headers: Headers;
  body: T;
}

/** Why a fetch never got an answer, in words (undici hides the errno in `cause`). */
function connectionProblem(e: unknown): string {
  const cause = (e as { cause?: { code?: string; message?: string } }).cause;
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
    const text = await res.text().catch(() => '');
    let status: StatusBody | undefined;
    try {
      const parsed = JSON.parse(text) as StatusBody;
      if (parsed && typeof parsed === 'object') status = parsed;
    } catch {
      // not JSON (a proxy's error page, say): the text is the message
    }
    throw new ServerError(res.status, res.statusText, status, text);
  }

  async request<T>(method: string, path: string, query: Query = {}, body?: unknown): Promise<Reply<T>> {
    const res = await this.fetch(method, path, query, body);
    const text = await res.text();
    return { status: res.status, headers: res.headers, body: (text ? JSON.parse(text) : undefined) as T };
  }

  async get<T>(path: string, query: Query = {}): Promise<T> {
    return (await this.request<T>('GET', path, query)).body;
  }
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
