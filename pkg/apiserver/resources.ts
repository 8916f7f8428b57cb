import type { Context } from 'koa';
import type Router from '@koa/router';
import { ApiError } from '../api/errors.js';
import type { KindDef } from '../api/kind.js';
import { DEFAULT_NAMESPACE, nameProblem } from '../api/meta.js';
import { kindByPlural } from '../api/registry.js';
import { parseSelector } from '../api/selector.js';
import type { ObjectKey, Resource, Status, StoredResource } from '../api/types.js';
import { invalid, requireKind, validateResource } from '../api/validate.js';
import { requireRole, type Role } from './auth.js';
import { checkDelete, checkWrite, environmentChange } from '../promotion/environment.js';
import { parseObjectBody, readBody } from './body.js';
import type { RequestState, ServerDeps } from './context.js';
import { pageSize } from './input.js';
import { patchResource, readPatch } from './patch.js';
import { serveWatch } from './watch.js';
import { deleteRunTasks } from '../receiver/run-task-range.js';
import { applyThreeWay, type Write, type Written } from './apply.js';
import type { WriteOptions } from '../store/objects.js';

/** A list's page when the client names none: bounded, as kubectl's own default of 500. */
const DEFAULT_PAGE = 500;
/**
 * The largest page a list answers: a larger `limit` gets this many and a continue token,
 * as a server may answer fewer than asked (clients follow `continue` until there is none).
 */
const MAX_PAGE = 1000;

type Ctx = Context & { state: RequestState; params: Record<string, string> };

export function kindOf(ctx: Ctx): KindDef {
  const def = kindByPlural(ctx.params.plural ?? '');
  if (!def) throw new ApiError('NotFound', `the server could not find the requested resource type "${ctx.params.plural}"`);
  return def;
}

/** The namespace a request addresses: `?namespace=`, default `default`; '' for cluster kinds. */
export function namespaceOf(ctx: Ctx, def: KindDef): string {
  if (!def.namespaced) return '';
  const ns = typeof ctx.query.namespace === 'string' && ctx.query.namespace ? ctx.query.namespace : DEFAULT_NAMESPACE;
  const p = nameProblem(ns);
  if (p) throw new ApiError('BadRequest', `namespace ${p}`);
  return ns;
}

export function keyFor(ctx: Ctx, def: KindDef): ObjectKey {
  return { kind: def.kind, namespace: namespaceOf(ctx, def), name: ctx.params.name ?? '' };
}

/** `before`: the object as it was, so a dry-run answer marks the redacted values it changes. */
function present(ctx: Ctx, def: KindDef, o: StoredResource, before?: StoredResource): StoredResource {
  const reveal = ctx.query.reveal === 'true' && ctx.state.role === 'admin';
  return def.redact && !reveal ? def.redact(o, before) : o;
}

async function readObject(ctx: Ctx, deps: ServerDeps): Promise<unknown> {
  return parseObjectBody(ctx.get('content-type') || undefined, await readBody(ctx.req, deps.maxRequestBytes));
}

const flag = (v: unknown): boolean => v === 'true' || v === '1' || v === '';

/** `?cascade`: a flag, checked before anything is deleted. */
function cascadeOf(v: unknown): boolean {
  if (v === undefined || v === 'false' || v === '0') return false;
  if (flag(v)) return true;
  throw new ApiError('BadRequest', `invalid cascade "${String(v).slice(0, 40)}": true or false`);
}

export function resourceRoutes(router: Router, deps: ServerDeps): void {
  const { store } = deps;

  router.get('/v1/:plural', async (ctx) => {
    const c = ctx as unknown as Ctx;
    const def = kindOf(c);
    const all = flag(c.query.allNamespaces) || !def.namespaced;
    const namespace = all ? undefined : namespaceOf(c, def);
    const labelSelector = parseSelector(typeof c.query.labelSelector === 'string' ? c.query.labelSelector : undefined);
    if (flag(c.query.watch)) {
      await serveWatch(c, deps, def, { namespace, labelSelector, since: c.query.resourceVersion as string | undefined });
      return;
    }
    const limit = pageSize(c.query.limit, DEFAULT_PAGE, MAX_PAGE);
    const res = await store.list(def.kind, { namespace, labelSelector, limit, continue: c.query.continue as string | undefined });
    c.body = {
      apiVersion: 'orloj.dev/v1',
      kind: `${def.kind}List`,
      metadata: { resourceVersion: res.resourceVersion, ...(res.continue ? { continue: res.continue } : {}) },
      items: res.items.map((o) => present(c, def, o)),
    };
  });

  router.post('/v1/:plural', async (ctx) => {
    const c = ctx as unknown as Ctx;
    requireRole(c.state.role, 'writer');
    const def = kindOf(c);
    const { obj } = validateBody(await readObject(c, deps), def, namespaceOf(c, def), undefined);
    await checkRefs(deps, def, obj);
    const changed = await admitEnvironment(deps, def, obj, c.state.role);
    const dryRun = flag(c.query.dryRun);
    const res = await store.apply(obj, { createOnly: true, dryRun });
    if (changed && !dryRun) await store.recordEvent({ kind: 'Namespace', namespace: '', name: obj.metadata.name }, 'Normal', 'EnvironmentChanged', changed);
    c.status = 201;
    c.set('X-Orloj-Result', res.outcome);
    c.body = present(c, def, res.object);
  });

  // The status subresource reads the whole object, as in Kubernetes.
  router.get(['/v1/:plural/:name', '/v1/:plural/:name/status'], async (ctx) => {
    const c = ctx as unknown as Ctx;
    c.body = present(c, kindOf(c), await mustGet(deps, keyFor(c, kindOf(c))));
  });

  router.put('/v1/:plural/:name', async (ctx) => {
    const c = ctx as unknown as Ctx;
    requireRole(c.state.role, 'writer');
    const def = kindOf(c);
    const body = await readObject(c, deps);
    const { obj } = validateBody(body, def, namespaceOf(c, def), c.params.name);
    const dryRun = flag(c.query.dryRun);
    const write: Write = (o, opts) => checkedWrite(deps, c.state.role, def, o, { ...opts, dryRun });
    let res: Written;
    // `before`: what a dry run's answer marks the changed Secret values against (what `orlojctl diff` shows).
    let before: StoredResource | undefined;
    if (flag(c.query.apply)) {
      const applied = await applyThreeWay(store, def, obj, body, write);
      res = applied;
      before = applied.live;
    } else {
      before = dryRun && def.redact ? await store.get(def.kind, obj.metadata.namespace ?? '', obj.metadata.name) : undefined;
      res = await write(obj, {});
    }
    c.status = res.outcome === 'created' ? 201 : 200;
    c.set('X-Orloj-Result', res.outcome);
    c.body = present(c, def, res.object, dryRun ? before : undefined);
  });

  router.delete('/v1/:plural/:name', async (ctx) => {
    const c = ctx as unknown as Ctx;
    requireRole(c.state.role, 'writer');
    const def = kindOf(c);
    const rv = typeof c.query.resourceVersion === 'string' ? c.query.resourceVersion : undefined;
    const key = keyFor(c, def);
    const cascade = cascadeOf(c.query.cascade);
    await checkDelete(store, def, key.namespace, key.name);
    const deleted = await store.delete(key, { resourceVersion: rv, force: c.query.force === 'true' });
    // ?cascade=true: what the object owns goes with it (a TaskWebhook's run tasks); without it, it stays.
    if (cascade && def.kind === 'TaskWebhook') await deleteRunTasks(store.store, store.origin, deleted);
    c.body = present(c, def, deleted);
  });

  router.put('/v1/:plural/:name/status', async (ctx) => {
    const c = ctx as unknown as Ctx;
    requireRole(c.state.role, 'writer');
    const def = kindOf(c);
    const body = (await readObject(c, deps)) as { status?: unknown; metadata?: { resourceVersion?: string } } | null;
    const status = body?.status;
    if (!status || typeof status !== 'object' || Array.isArray(status)) throw new ApiError('BadRequest', 'body must be an object with a status object');
    const updated = await store.updateStatus(keyFor(c, def), status as Status, { resourceVersion: body?.metadata?.resourceVersion });
    c.body = present(c, def, updated);
  });

  // A merge or JSON patch of spec, labels and annotations, written as a PUT of the result would be.
  router.patch('/v1/:plural/:name', async (ctx) => {
    const c = ctx as unknown as Ctx;
    requireRole(c.state.role, 'writer');
    const def = kindOf(c);
    const key = keyFor(c, def);
    const patch = readPatch(c.get('content-type') || undefined, await readBody(c.req, deps.maxRequestBytes));
    const dryRun = flag(c.query.dryRun);
    const guard = { redacted: !!def.redact, mayRead: c.state.role === 'admin', maxBytes: deps.maxRequestBytes };
    const { res, before } = await patchResource(() => mustGet(deps, key), patch, guard, async (input, stored) => {
      const { obj } = validateBody(input, def, key.namespace, key.name);
      await checkRefs(deps, def, obj);
      const changed = await admitEnvironment(deps, def, obj, c.state.role);
      const res = await store.apply(obj, { dryRun });
      if (changed && !dryRun && res.outcome !== 'unchanged') await store.recordEvent({ kind: 'Namespace', namespace: '', name: obj.metadata.name }, 'Normal', 'EnvironmentChanged', changed);
      return { res, before: stored };
    });
    c.set('X-Orloj-Result', res.outcome);
    c.body = present(c, def, res.object, dryRun ? before : undefined);
  });
}

/** Validates a request body and checks it addresses the URL's namespace and name. */
function validateBody(input: unknown, def: KindDef, namespace: string, urlName: string | undefined): ReturnType<typeof validateResource> {
  if (input && typeof input === 'object' && !Array.isArray(input)) {
    const o = input as Record<string, unknown>;
    if (o.kind === undefined) o.kind = def.kind;
    const meta = (o.metadata ?? (o.metadata = {})) as Record<string, unknown>;
    if (typeof meta !== 'object' || Array.isArray(meta)) throw new ApiError('Invalid', 'metadata must be an object', { causes: [{ field: 'metadata', message: 'must be an object' }] });
    if (urlName && meta.name === undefined) meta.name = urlName;
    if (urlName && meta.name !== urlName) throw new ApiError('BadRequest', `metadata.name "${String(meta.name)}" does not match the URL name "${urlName}"`);
    if (def.namespaced && meta.namespace !== undefined && meta.namespace !== namespace) {
      throw new ApiError('BadRequest', `metadata.namespace "${String(meta.namespace)}" does not match the request namespace "${namespace}"`);
    }
    if (o.kind !== def.kind) {
      requireKind(o.kind); // an unknown kind (`task`) is refused as such, naming the kind it may mean
      throw new ApiError('BadRequest', `kind "${String(o.kind)}" does not match the URL's resource type ${def.plural}`);
    }
  }
  return validateResource(input, namespace);
}

/** Production takes receivers and triggers only by promotion; a namespace's environment is the admin's to change (what changes, for its event). */
async function admitEnvironment(deps: ServerDeps, def: KindDef, obj: Resource, role: Role): Promise<string | undefined> {
  await checkWrite(deps.store, def, obj);
  return environmentChange(deps.store, obj, role === 'admin');
}

/** A PUT's write of a whole object: reference checks, environment admission, the store's apply and its event. */
async function checkedWrite(deps: ServerDeps, role: Role, def: KindDef, obj: Resource, opts: WriteOptions): Promise<Written> {
  await checkRefs(deps, def, obj);
  const changed = await admitEnvironment(deps, def, obj, role);
  const res = await deps.store.apply(obj, opts);
  if (changed && !opts.dryRun && res.outcome !== 'unchanged') await deps.store.recordEvent({ kind: 'Namespace', namespace: '', name: obj.metadata.name }, 'Normal', 'EnvironmentChanged', changed);
  return res;
}

/** The kind's checks against what it references (422 with their causes). */
async function checkRefs(deps: ServerDeps, def: KindDef, obj: Resource): Promise<void> {
  if (!def.checkRefs) return;
  const ns = obj.metadata.namespace ?? '';
  const causes = await def.checkRefs(obj, (kind, name) => deps.store.get(kind, ns, name));
  if (causes.length) throw invalid(def.kind, obj.metadata.name, causes);
}

export async function mustGet(deps: ServerDeps, key: ObjectKey): Promise<StoredResource> {
  const o = await deps.store.get(key.kind, key.namespace, key.name);
  if (!o) throw new ApiError('NotFound', `${key.kind} "${key.namespace ? `${key.namespace}/` : ''}${key.name}" not found`, { kind: key.kind, name: key.name });
  return o;
}
