// /v1/collections/{name}/documents[/{id}]?namespace= — the documents API.
import type Router from '@koa/router';
import type { Context } from 'koa';
import { ApiError } from '../api/errors.js';
import { DEFAULT_NAMESPACE, nameProblem } from '../api/meta.js';
import { requireRole } from '../apiserver/auth.js';
import { parseObjectBody, readBody } from '../apiserver/body.js';
import type { RequestState, ServerDeps } from '../apiserver/context.js';
import { intParam } from '../apiserver/input.js';
import type { JsonObject } from '../mapping/paths.js';
import type { DocumentOrigin, StoredDocument } from '../store/types.js';
import { Documents, idOf, idProblem, type BoundCollection, type WriteMeta } from './documents.js';

type Ctx = Context & { state: RequestState; params: Record<string, string> };

/** Query parameters that are not field filters. */
const RESERVED = new Set(['namespace', 'limit', 'continue', 'includeDeleted']);
const DEFAULT_PAGE = 100;
const MAX_PAGE = 1000;

/** The header that marks who wrote a document; `X-Rekor-Source` is the seed's spelling. */
export const SOURCE_HEADER = 'X-Orloj-Source';

function namespaceOf(c: Ctx): string {
  const ns = typeof c.query.namespace === 'string' && c.query.namespace ? c.query.namespace : DEFAULT_NAMESPACE;
  const p = nameProblem(ns);
  if (p) throw new ApiError('BadRequest', `namespace ${p}`);
  return ns;
}

function docId(c: Ctx): string {
  const id = c.params.id ?? '';
  const p = idProblem(id);
  if (p) throw new ApiError('BadRequest', `document id ${p}`);
  return id;
}

/** `If-Match: 3`, `"3"` or `W/"3"`: the version the caller read. */
function ifMatch(c: Ctx): number | undefined {
  const h = c.get('if-match');
  if (!h) return undefined;
  const m = /^(?:W\/)?"?(\d{1,15})"?$/.exec(h.trim());
  if (!m) throw new ApiError('BadRequest', `If-Match must be a document version, got "${h.slice(0, 40)}"`);
  return Number(m[1]);
}

/** An API write marked `X-Orloj-Source: hook` is a hook's, which triggers may skip. */
function writeMeta(c: Ctx): WriteMeta {
  const marked = (c.get('x-orloj-source') || c.get('x-rekor-source')).trim().toLowerCase();
  const origin: DocumentOrigin = marked === 'hook' ? 'hook' : 'api';
  return { origin, ifMatch: ifMatch(c) };
}

async function objectBody(c: Ctx, deps: ServerDeps): Promise<JsonObject> {
  const v = parseObjectBody(c.get('content-type') || undefined, await readBody(c.req, deps.maxRequestBytes));
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new ApiError('BadRequest', 'a document must be a JSON object');
  return v as JsonObject;
}

function present(c: Ctx, d: StoredDocument): StoredDocument {
  c.set('ETag', `"${d.meta.version}"`);
  if (d.meta.origin === 'inbound_webhook') c.set(SOURCE_HEADER, 'inbound_webhook');
  return d;
}

const encodeAfter = (id: string): string => Buffer.from(id, 'utf8').toString('base64url');

function decodeAfter(token: unknown): string | undefined {
  if (typeof token !== 'string' || !token) return undefined;
  const id = Buffer.from(token, 'base64url').toString('utf8');
  if (!id || encodeAfter(id) !== token) throw new ApiError('BadRequest', 'invalid continue token');
  return id;
}

function filtersOf(c: Ctx): Record<string, string> {
  const where: Record<string, string> = {};
  for (const [k, v] of Object.entries(c.query)) if (!RESERVED.has(k) && typeof v === 'string') where[k] = v;
  return where;
}

export function documentRoutes(router: Router, deps: ServerDeps): void {
  const docs = new Documents(deps.store.store);
  const bound = (c: Ctx): Promise<BoundCollection> => docs.collection(namespaceOf(c), c.params.name ?? '');
  const route = (fn: (c: Ctx) => Promise<void>) => (ctx: Context) => fn(ctx as unknown as Ctx);
  const base = '/v1/collections/:name/documents';

  router.get(base, route(async (c) => {
    const col = await bound(c);
    const limit = intParam(c.query.limit, 'limit', DEFAULT_PAGE, MAX_PAGE)!;
    const page = await deps.store.store.data.listDocuments(col.ref.uid, {
      where: filtersOf(c), includeDeleted: c.query.includeDeleted === 'true', limit, after: decodeAfter(c.query.continue),
    });
    const last = page.items[page.items.length - 1];
    c.body = { kind: 'DocumentList', metadata: page.more && last ? { continue: encodeAfter(last.id) } : {}, items: page.items };
  }));

  router.post(base, route(async (c) => {
    requireRole(c.state.role, 'writer');
    const col = await bound(c);
    c.status = 201;
    c.body = present(c, await docs.write(col, undefined, await objectBody(c, deps), writeMeta(c), true));
  }));

  router.get(`${base}/:id`, route(async (c) => {
    const col = await bound(c);
    c.body = present(c, await docs.get(col, docId(c), c.query.includeDeleted === 'true'));
  }));

  router.put(`${base}/:id`, route(async (c) => {
    requireRole(c.state.role, 'writer');
    const col = await bound(c);
    const id = docId(c);
    const data = await objectBody(c, deps);
    const given = idOf(data, col.idField);
    if (given !== undefined && given !== id) throw new ApiError('BadRequest', `the body's ${col.idField} "${given}" does not match the URL's document id "${id}"`);
    c.body = present(c, await docs.write(col, id, data, writeMeta(c), false));
  }));

  router.patch(`${base}/:id`, route(async (c) => {
    requireRole(c.state.role, 'writer');
    const col = await bound(c);
    c.body = present(c, await docs.patch(col, docId(c), await objectBody(c, deps), writeMeta(c)));
  }));

  router.delete(`${base}/:id`, route(async (c) => {
    requireRole(c.state.role, 'writer');
    const col = await bound(c);
    c.body = present(c, await docs.remove(col, docId(c), writeMeta(c)));
  }));
}
