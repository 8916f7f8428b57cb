// PATCH of a resource, as Kubernetes serves it for custom resources: an RFC 7386 merge patch
// or an RFC 6902 JSON patch, applied to the stored object. Only spec, labels and annotations
// may change; the route validates the result as it would a PUT and writes it at the
// resourceVersion it was read at, so a concurrent writer is a 409, never a lost update.
import jsonpatch, { type Operation } from 'fast-json-patch';
import { ApiError, conflict, type Cause } from '../api/errors.js';
import type { StoredResource } from '../api/types.js';
import { mergePatch } from '../documents/merge-patch.js';
import { isObject, type Json, type JsonObject } from '../mapping/paths.js';
import { deepEqual } from '../util/json.js';
import { parseObjectBody } from './body.js';

export const MERGE_PATCH = 'application/merge-patch+json';
export const JSON_PATCH = 'application/json-patch+json';

/** Operations one JSON patch may hold (kubectl sends a handful; each may copy a subtree). */
export const MAX_OPERATIONS = 1000;
/** Read-merge-write rounds when another writer got in between (the patch named no resourceVersion). */
const RETRIES = 5;

export type Patch = { type: 'merge'; body: JsonObject } | { type: 'json'; ops: Operation[] };

/** What a caller may do beyond writing (a redacted kind's values stay unreadable to writers). */
export interface PatchGuard {
  /** The kind hides spec values (Secret): no patch may read them out of spec. */
  redacted: boolean;
  /** The caller may read those values (admin). */
  mayRead: boolean;
  /** The patched object may be at most this big as JSON (what a PUT body may be). */
  maxBytes: number;
}

const RFC6902_OPS = new Set(['add', 'remove', 'replace', 'move', 'copy', 'test']);

/** The patch a body holds, by its content type: 415 for any other type, 400 when malformed. */
export function readPatch(contentType: string | undefined, body: Buffer): Patch {
  const type = (contentType ?? '').split(';')[0]!.trim().toLowerCase();
  if (type !== MERGE_PATCH && type !== JSON_PATCH) {
    throw new ApiError('UnsupportedMediaType', `unsupported patch content type "${type}": use ${MERGE_PATCH} or ${JSON_PATCH}`);
  }
  const value = parseObjectBody('application/json', body);
  if (type === MERGE_PATCH) {
    if (!isObject(value)) throw new ApiError('BadRequest', 'a merge patch of a resource must be a JSON object');
    return { type: 'merge', body: value };
  }
  if (!Array.isArray(value)) throw new ApiError('BadRequest', 'a JSON patch must be an array of operations');
  if (value.length > MAX_OPERATIONS) throw new ApiError('RequestEntityTooLarge', `a JSON patch may hold at most ${MAX_OPERATIONS} operations, got ${value.length}`);
  value.forEach((op: unknown, i) => checkShape(op, i));
  return { type: 'json', ops: value as Operation[] };
}

function checkShape(op: unknown, i: number): void {
  if (!isObject(op)) throw badOp(i, 'is not an object');
  if (typeof op.op !== 'string' || !RFC6902_OPS.has(op.op)) throw badOp(i, `has op ${JSON.stringify(op.op)}: use add, remove, replace, move, copy or test`);
  try {
    jsonpatch.validator(op as unknown as Operation, i);
  } catch (e) {
    throw badOp(i, problemOf(e));
  }
}

const badOp = (i: number, problem: string): ApiError => new ApiError('BadRequest', `invalid JSON patch: operation ${i} ${problem}`);

/** The library's own wording of a malformed operation (its message alone: it never quotes the document). */
function problemOf(e: unknown): string {
  if (!(e instanceof jsonpatch.JsonPatchError)) throw e;
  const words: Partial<Record<string, string>> = {
    OPERATION_PATH_INVALID: 'needs a path that is "" or starts with "/"',
    OPERATION_FROM_REQUIRED: 'needs a "from" path',
    OPERATION_VALUE_REQUIRED: 'needs a "value"',
    OPERATION_VALUE_CANNOT_CONTAIN_UNDEFINED: 'needs a "value"',
  };
  return words[e.name] ?? 'is invalid';
}

/**
 * Reads, patches and writes until the write holds: `write` validates and stores the patched
 * object at the resourceVersion it was read at. A 409 is retried when the patch did not name a
 * resourceVersion of its own (it then asked for exactly that version).
 */
export async function patchResource<R>(
  read: () => Promise<StoredResource>,
  patch: Patch,
  guard: PatchGuard,
  write: (input: JsonObject, stored: StoredResource) => Promise<R>,
): Promise<R> {
  for (let attempt = 1; ; attempt++) {
    const stored = await read();
    const { input, pinned } = patched(stored, patch, guard);
    try {
      return await write(input, stored);
    } catch (e) {
      if (pinned || attempt >= RETRIES || !(e instanceof ApiError && e.reason === 'Conflict')) throw e;
    }
  }
}

/** The write a patch makes of `stored`: what a PUT body would hold, at the version read. */
export function patched(stored: StoredResource, patch: Patch, guard: PatchGuard): { input: JsonObject; pinned: boolean } {
  const doc = JSON.parse(JSON.stringify(stored)) as JsonObject;
  const result = patch.type === 'merge' ? mergePatch(doc, patch.body) : applyOps(doc, patch.ops, stored, guard);
  if (!isObject(result)) throw new ApiError('Invalid', `the patched ${stored.kind} is not an object`);
  checkUnpatchable(stored, result);
  const meta = result.metadata as JsonObject;
  const rv = meta.resourceVersion;
  const named = rv !== undefined && rv !== null;
  if (named) checkVersion(stored, rv);
  const input: JsonObject = {
    apiVersion: stored.apiVersion,
    kind: stored.kind,
    metadata: {
      name: stored.metadata.name,
      ...(stored.metadata.namespace ? { namespace: stored.metadata.namespace } : {}),
      ...(meta.labels !== undefined ? { labels: meta.labels } : {}),
      ...(meta.annotations !== undefined ? { annotations: meta.annotations } : {}),
      resourceVersion: stored.metadata.resourceVersion,
    },
    spec: result.spec ?? {},
  };
  if (patch.type === 'json' && JSON.stringify(input).length > guard.maxBytes) throw tooBig(guard);
  return { input, pinned: named && namesVersion(patch) };
}

/** A resourceVersion the patch leaves in metadata is a precondition: the version read, or a 409. */
function checkVersion(stored: StoredResource, rv: Json): void {
  if (typeof rv !== 'string' || !/^\d{1,16}$/.test(rv)) throw new ApiError('BadRequest', 'metadata.resourceVersion must be a revision: a decimal number in a string');
  if (rv !== stored.metadata.resourceVersion) throw conflict(stored.kind, stored.metadata.name);
}

/** Whether the patch itself says which resourceVersion it applies to. */
function namesVersion(patch: Patch): boolean {
  if (patch.type === 'merge') return isObject(patch.body.metadata) && Object.hasOwn(patch.body.metadata, 'resourceVersion');
  const touches = (p: unknown): boolean => typeof p === 'string' && ['', '/metadata', '/metadata/resourceVersion'].includes(p);
  return patch.ops.some((op) => touches(op.path) || ('from' in op && touches(op.from)));
}

/** Status and system metadata are the server's: a patch that changes them is refused, naming them. */
function checkUnpatchable(stored: StoredResource, result: JsonObject): void {
  const causes: Cause[] = [];
  const was = stored as unknown as JsonObject;
  for (const k of new Set([...Object.keys(was), ...Object.keys(result)])) {
    if (k !== 'spec' && k !== 'metadata' && !deepEqual(was[k], result[k])) causes.push({ field: k || '""', message: k === 'status' ? 'is written through the status subresource, not patched' : 'cannot be patched' });
  }
  const meta = isObject(result.metadata) ? result.metadata : {};
  const wasMeta = stored.metadata as unknown as JsonObject;
  for (const k of new Set([...Object.keys(wasMeta), ...Object.keys(meta)])) {
    if (!['labels', 'annotations', 'resourceVersion'].includes(k) && !deepEqual(wasMeta[k], meta[k])) causes.push({ field: `metadata.${k}`, message: 'is set by the server and cannot be patched' });
  }
  if (!isObject(result.metadata)) causes.splice(0, causes.length, { field: 'metadata', message: 'must stay an object' });
  if (causes.length) {
    const summary = causes.map((c) => `${c.field}: ${c.message}`).join('; ');
    throw new ApiError('Invalid', `${stored.kind} "${stored.metadata.name}" cannot be patched that way: ${summary}`, { kind: stored.kind, name: stored.metadata.name, causes });
  }
}

const tooBig = (guard: PatchGuard): ApiError => new ApiError('RequestEntityTooLarge', `the patched object would be larger than ${guard.maxBytes} bytes`);

/** Applies RFC 6902 operations in order; a failure names the operation, never a value. */
function applyOps(doc: JsonObject, ops: Operation[], stored: StoredResource, guard: PatchGuard): Json {
  // `copy` is the one operation that can grow the object past what the body holds: bound what
  // the copies add before making them (the result is measured again once done).
  let grown = JSON.stringify({ metadata: doc.metadata, spec: doc.spec }).length;
  let out: Json = doc;
  ops.forEach((op, i) => {
    guardValues(op, i, guard);
    if (op.op === 'copy') {
      grown += JSON.stringify(valueAt(out, op.from) ?? null).length;
      if (grown > guard.maxBytes) throw tooBig(guard);
    }
    try {
      out = jsonpatch.applyOperation(out, op, validate, true, true, i).newDocument;
    } catch (e) {
      throw cannotApply(e, op, i, stored);
    }
  });
  return out;
}

/** fast-json-patch's checks of an operation against the document, without its copy of the document per move or copy. */
const validate = (op: Operation, i: number, doc: Json, existing: string): void => {
  if (op.op !== 'move' && op.op !== 'copy') return jsonpatch.validator(op, i, doc, existing);
  if (valueAt(doc, op.from) === undefined) throw new jsonpatch.JsonPatchError('from does not exist', 'OPERATION_FROM_UNRESOLVABLE', i);
};

const underSpec = (p: string): boolean => p === '' || p === '/spec' || p.startsWith('/spec/');

/**
 * A redacted kind's spec values are sealed at rest and hidden from writers. No operation may
 * copy one out of spec (labels and annotations are stored plain, and read by anyone); within
 * spec a copy could land in a field the answer shows, and a `test` of one would let a writer
 * guess it: both need a caller who may read the values.
 */
function guardValues(op: Operation, i: number, guard: PatchGuard): void {
  if (!guard.redacted) return;
  const reads = op.op === 'copy' || op.op === 'move' ? op.from : op.op === 'test' ? op.path : undefined;
  if (reads === undefined || !underSpec(reads)) return;
  if (op.op !== 'test' && !(op.path !== '' && underSpec(op.path))) {
    throw new ApiError('Invalid', `operation ${i} (${op.op} from ${reads || '""'} to ${op.path || '""'}) would copy secret values out of spec`, { causes: [{ field: op.path, message: 'secret values stay in spec' }] });
  }
  if (!guard.mayRead) throw new ApiError('Forbidden', `operation ${i} (${op.op} ${reads || '""'}) reads secret values, which needs the admin role`);
}

/** The value a JSON pointer names, through own properties only; undefined when there is none. */
export function valueAt(doc: Json, pointer: string): Json | undefined {
  if (pointer === '') return doc;
  let cur: Json | undefined = doc;
  for (const raw of pointer.slice(1).split('/')) {
    const key = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (Array.isArray(cur)) cur = /^(0|[1-9]\d*)$/.test(key) ? cur[Number(key)] : undefined;
    else if (isObject(cur) && Object.hasOwn(cur, key)) cur = cur[key];
    else return undefined;
    if (cur === undefined) return undefined;
  }
  return cur;
}

/**
 * Why an operation does not apply to this object (422, as Kubernetes answers it). The
 * library's messages quote the whole document, so each is worded here from its code alone.
 */
function cannotApply(e: unknown, op: Operation, i: number, stored: StoredResource): ApiError {
  const at = `operation ${i} (${op.op} ${op.path || '""'})`;
  if (!(e instanceof jsonpatch.JsonPatchError)) {
    if (e instanceof TypeError) return new ApiError('Invalid', `${at} cannot be applied: ${e.message.includes('banned') ? 'the path names an object\'s prototype' : 'the path goes through a value that is not an object or array'}`);
    throw e;
  }
  if (e.name === 'TEST_OPERATION_FAILED') {
    // A stale version is a conflict, as a stale metadata.resourceVersion is everywhere else.
    if (op.path === '/metadata/resourceVersion') return conflict(stored.kind, stored.metadata.name);
    return new ApiError('Invalid', `${at} failed: the value at ${op.path || 'the root'} is not the one tested`, { kind: stored.kind, name: stored.metadata.name, causes: [{ field: op.path, message: 'test failed' }] });
  }
  const words: Partial<Record<string, string>> = {
    OPERATION_PATH_UNRESOLVABLE: 'the path does not exist',
    OPERATION_PATH_CANNOT_ADD: 'the parent of the path does not exist',
    OPERATION_FROM_UNRESOLVABLE: `the from path ${'from' in op ? op.from : ''} does not exist`,
    OPERATION_PATH_ILLEGAL_ARRAY_INDEX: 'an array index must be a whole number or "-"',
    OPERATION_VALUE_OUT_OF_BOUNDS: 'the array index is past the end of the array',
  };
  return new ApiError('Invalid', `${at} cannot be applied: ${words[e.name] ?? 'invalid operation'}`, { kind: stored.kind, name: stored.metadata.name, causes: [{ field: op.path, message: words[e.name] ?? 'invalid operation' }] });
}
