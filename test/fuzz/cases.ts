// The requests the fuzzer sends, each drawn from its own seeded stream: resource writes and
// reads, lists, status writes, other routes, bodies around the request limit, deliveries, and
// header trouble on top of any of them.
import { kinds } from '../../pkg/api/registry.js';
import type { KindDef } from '../../pkg/api/kind.js';
import { getProfile, resolveOptions } from '../../pkg/receiver/profiles/index.js';
import type { RawRequest } from './http.js';
import type { Rng } from './prng.js';
import { containers, fieldsOf, kindFields, validObject, wrongValue } from './schema.js';
import { NUMBERS, deletePath, escape, name, nameSegment, nested, oddString, selector, setPath, toJson, toYaml } from './values.js';

export interface Hook {
  endpointId: string;
  profile: string;
  maxBodyBytes: number;
  key: Buffer;
  /** An InboundWebhook's name: it is also served on the seed-shaped routes. */
  inbound?: string;
}

/** The URL a delivery goes to: the native route, or for an InboundWebhook any of its routes. */
function deliveryPath(rng: Rng, hook: Hook, id: string): string {
  if (!hook.inbound || rng.bool(0.4)) return `/v1/webhook-deliveries/${id}`;
  const idField = rng.bool(0.3) ? `idField=${rng.pick(['id', 'type', '', 'x'.repeat(300), '__proto__', 'a.b'])}` : '';
  return rng.pick([
    `/ingest/src_${id}${idField ? `?${idField}` : ''}`,
    `/ingest/${id}`,
    `/inbound/orloj/${rng.pick(['fixture', 'default', '', '..'])}/${id}/ingest`,
    `/api/webhook/${rng.bool(0.8) ? hook.inbound : nameSegment(rng)}?namespace=${rng.pick(['fixture', 'default', ''])}${idField ? `&${idField}` : ''}`,
  ]);
}

/** What the cases aim at: the server's tokens and limits, and the fixture webhooks. */
export interface Target {
  tokens: { admin: string; writer: string; reader: string };
  maxRequestBytes: number;
  hooks: Hook[];
}

export interface Case {
  category: string;
  req: RawRequest;
}

type Headers = RawRequest['headers'];

const PLURALS = kinds.map((k) => k.plural);
const NAMESPACES = ['default', 'fuzz', 'fuzz-ns'];

function auth(rng: Rng, t: Target): Headers {
  if (rng.bool(0.85)) return [['Authorization', `Bearer ${t.tokens.admin}`]];
  const value = rng.pick([
    `Bearer ${t.tokens.writer}`, `Bearer ${t.tokens.reader}`, 'Bearer', 'Bearer ', `bearer ${t.tokens.admin}`, `Bearer  ${t.tokens.admin}`,
    'Basic YTpi', `Bearer ${'x'.repeat(5000)}`, `Bearer ${t.tokens.admin} extra`, 'Bearer ünï', '',
  ]);
  return rng.bool(0.1) ? [] : [['Authorization', value]];
}

/** `?k=v&...`: the parameters a route reads, with odd values, repeats, unknown and prototype keys. */
function query(rng: Rng, keys: readonly string[]): string {
  const value = (): string => rng.oneOf([() => rng.pick(NUMBERS), () => oddString(rng), () => 'true', () => rng.pick(NAMESPACES), () => selector(rng), () => 'x'.repeat(rng.pick([8192, 8193, 20_000]))]);
  const parts: string[] = [];
  const left = [...keys];
  for (let i = rng.bool(0.4) ? 0 : rng.range(1, 3); i > 0 && left.length; i--) {
    const k = rng.bool(0.85) ? left.splice(rng.int(left.length), 1)[0]! : rng.pick(['__proto__', 'constructor', 'hasOwnProperty', 'toString', 'a[b]', '', oddString(rng)]);
    parts.push(rng.oneOf([() => `${escape(k)}=${escape(value())}`, () => escape(k), () => `${escape(k)}=`, () => `${escape(k)}=%zz`]));
    if (rng.bool(0.1)) parts.push(`${escape(k)}=${escape(value())}`); // given twice
  }
  return parts.length ? `?${parts.join('&')}` : '';
}

const READ_KEYS = ['namespace', 'reveal', 'resourceVersion', 'dryRun'];
const LIST_KEYS = ['namespace', 'labelSelector', 'limit', 'continue', 'allNamespaces', 'resourceVersion', 'fieldSelector', 'watch'];

function plural(rng: Rng): string {
  return rng.bool(0.9) ? rng.pick(PLURALS) : rng.pick(['Tasks', 'task', 'tw', 'widgets', 'events', 'deliveries', 'webhook-deliveries', '', '%2E%2E', 'task-webhooks%2F']);
}

/** A body of the kind, mutated at a few fields its schema names (or left well-formed). */
function mutatedObject(rng: Rng, def: KindDef, objName: string): Record<string, unknown> {
  const obj = validObject(def, objName);
  const fields = kindFields(def);
  const oddKeys = ['unknown', '__proto__', 'constructor', 'prototype', 'taskRef', 'secretRef', 'toString', '', 'x'.repeat(300), '../x', 'a/b'];
  for (let i = rng.bool(0.3) ? 0 : rng.range(1, 3); i > 0; i--) {
    rng.oneOf([
      () => (({ path, schema }) => setPath(obj, path, wrongValue(rng, schema)))(rng.pick(fields)),
      () => deletePath(obj, rng.pick(fields).path),
      () => setPath(obj, [...rng.pick(containers(def)), rng.pick(oddKeys)], rng.pick([1, {}, 'x', { task_ref: 'y' }, null])),
      () => setPath(obj, ['kind'], rng.pick([def.kind.toLowerCase(), def.plural, def.kind.toUpperCase(), 'Widget', 'List', `${def.kind}List`, '', 1, null])),
      () => setPath(obj, ['metadata', 'namespace'], rng.pick([...NAMESPACES, oddString(rng)])),
      () => setPath(obj, ['metadata', 'resourceVersion'], rng.pick(['1', '0', 'abc', '99999999999999999', '-1', '1.5', ''])),
    ]);
  }
  return obj;
}

const YAML_NASTIES: readonly string[] = [
  `a: &a ["x","x","x","x","x","x","x","x","x"]\n${Array.from({ length: 8 }, (_, i) => `${String.fromCharCode(98 + i)}: &${String.fromCharCode(98 + i)} [${Array(9).fill(`*${String.fromCharCode(97 + i)}`).join(',')}]`).join('\n')}\nkind: Task\n`,
  'kind: Task\nmetadata: {name: a}\nspec: !!binary aGVsbG8=\n',
  "kind: Task\nmetadata: {name: a}\nspec: {input: !!js/function 'function(){}'}\n",
  'kind: Task\n\tmetadata: {name: a}\n',
  'kind: Task\nkind: Task\nmetadata: {name: a}\n',
  '---\nkind: Task\n---\nkind: Secret\n',
  '%YAML 1.1\n---\nkind: Task\nmetadata: {name: a}\nspec: {input: {<<: {a: 1}}}\n',
  'kind: Task\nmetadata: {name: a}\nspec: {input: {? [1, 2] : x}}\n',
  'kind: Task\nmetadata: {name: a}\nspec: {input: {n: .inf, m: .nan, o: 0o777, t: ~}}\n',
  'kind: Task\nmetadata: {name: a}\nspec: !!set {a, b}\n',
  'kind: Task\nmetadata: {name: a, labels: {? {x: 1} : y}}\n',
  `kind: Task\nmetadata: {name: a}\nspec: {input: ${'['.repeat(20_000)}`,
  'kind: Task\nmetadata: {name: a}\nspec: {input: {__proto__: {polluted: 1}}}\n',
  'kind: Task\nmetadata: &m {name: a, labels: *m}\n',
  'kind: Task\nmetadata:\n  name: a\n   bad: indent\n',
  "kind: Task\nmetadata: {name: a}\nspec: {input: 'unterminated\n",
];

/** The value as a request body: JSON or YAML, broken or not, or something else altogether. */
function encodeBody(rng: Rng, value: unknown): { body: Buffer; type?: string } {
  const json = toJson(value);
  if (rng.bool(0.5)) return { body: Buffer.from(json), type: 'application/json' };
  return rng.oneOf<{ body: Buffer; type?: string }>([
    () => ({ body: Buffer.from(json), type: rng.pick(['application/json; charset=utf-8', 'application/merge-patch+json', 'APPLICATION/JSON', undefined]) }),
    () => ({ body: Buffer.from(toYaml(value)), type: rng.pick(['application/yaml', 'application/x-yaml', 'text/yaml']) }),
    () => ({ body: Buffer.from(toYaml(value)), type: 'application/yaml' }),
    () => ({ body: Buffer.from(json.slice(0, rng.int(json.length))), type: 'application/json' }),
    () => ({ body: Buffer.from(`${json.slice(0, rng.int(json.length))}${rng.pick(['\u0000', '}', ']]', ',', '"', '\\', '\ud800', '{"a":'])}${json.slice(rng.int(json.length))}`), type: 'application/json' }),
    () => ({ body: Buffer.from(rng.pick(YAML_NASTIES)), type: 'application/yaml' }),
    () => ({ body: Buffer.from(toJson({ kind: 'Task', metadata: { name: 'deep' }, spec: { input: { d: nested(rng.pick([63, 64, 65, 1000, 30_000]), rng.bool()) } } })), type: 'application/json' }),
    () => ({ body: Buffer.from(Array.from({ length: rng.range(0, 2000) }, () => rng.int(256))), type: rng.pick(['application/json', 'application/yaml']) }),
    () => ({ body: Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(json)]), type: 'application/json' }),
    () => ({ body: Buffer.from(json, 'utf16le'), type: 'application/json' }),
    () => ({ body: Buffer.from(json), type: rng.pick(['text/plain', 'multipart/form-data', 'application/x-www-form-urlencoded', '', ';;', 'application/json\u0000']) }),
    () => ({ body: Buffer.from(rng.pick(['', ' ', 'null', '[]', '"x"', '1', 'true', '{}', '[{}]'])), type: 'application/json' }),
  ]);
}

function withBody(headers: Headers, enc: { body: Buffer; type?: string }): { headers: Headers; body: Buffer } {
  return { headers: enc.type === undefined ? headers : [...headers, ['Content-Type', enc.type]], body: enc.body };
}

function resourceWrite(rng: Rng, t: Target): Case {
  const def = rng.pick(kinds);
  const objName = name(rng);
  const p = rng.bool(0.9) ? def.plural : plural(rng);
  const post = rng.bool(0.3);
  const path = post ? `/v1/${p}` : `/v1/${p}/${rng.bool(0.9) ? escape(objName) : nameSegment(rng)}`;
  const { headers, body } = withBody(auth(rng, t), encodeBody(rng, mutatedObject(rng, def, objName)));
  return { category: 'write', req: { method: post ? 'POST' : 'PUT', path: path + query(rng, READ_KEYS), headers, body } };
}

/** A status of the kind's status schema, with a field of it set wrong now and then. */
function statusOf(rng: Rng, def: KindDef): unknown {
  const status = { phase: 'Running' } as Record<string, unknown>;
  const fields = fieldsOf(def.statusSchema!, []);
  if (fields.length && rng.bool(0.7)) (({ path, schema }) => setPath(status, path, wrongValue(rng, schema)))(rng.pick(fields));
  return status;
}

function statusWrite(rng: Rng, t: Target): Case {
  const def = rng.pick(kinds);
  const status = rng.bool(0.6) && def.statusSchema ? statusOf(rng, def) : wrongValue(rng, { type: 'object' });
  const value = rng.pick([{ status }, { status, metadata: { resourceVersion: rng.pick(NUMBERS) } }, status, { metadata: {} }]);
  const { headers, body } = withBody(auth(rng, t), encodeBody(rng, value));
  return { category: 'status', req: { method: 'PUT', path: `/v1/${def.plural}/${nameSegment(rng)}/status${query(rng, READ_KEYS)}`, headers, body } };
}

function resourceRead(rng: Rng, t: Target): Case {
  const method = rng.pick(['GET', 'GET', 'DELETE', 'HEAD', 'OPTIONS', 'PATCH', 'TRACE', 'PROPFIND']);
  const tail = rng.pick(['', '', '/status', '/rotate-endpoint', '/', '/x/y', '//']);
  return { category: 'read', req: { method, path: `/v1/${plural(rng)}/${nameSegment(rng)}${tail}${query(rng, READ_KEYS)}`, headers: auth(rng, t) } };
}

function list(rng: Rng, t: Target): Case {
  const accept: Headers = rng.bool(0.1) ? [['Accept', rng.pick(['text/event-stream', 'application/x-ndjson', '*/*', oddString(rng)])]] : [];
  return { category: 'list', req: { method: 'GET', path: `/v1/${plural(rng)}${rng.bool(0.05) ? '/' : ''}${query(rng, LIST_KEYS)}`, headers: [...auth(rng, t), ...accept] } };
}

/** The routes besides resources: events, deliveries, rotation, health, metrics, unknown paths. */
function otherRoute(rng: Rng, t: Target): Case {
  const path = rng.oneOf([
    () => `/v1/events${query(rng, ['kind', 'namespace', 'name', 'limit'])}`,
    () => `/v1/deliveries${query(rng, ['namespace', 'owner', 'outcome', 'limit', 'before', 'allNamespaces'])}`,
    () => `/v1/task-webhooks/${nameSegment(rng)}/rotate-endpoint${query(rng, ['namespace'])}`,
    () => rng.pick(['/healthz', '/version', '/metrics', '/', '/v1', '/v1/', '/healthz/', '/v2/tasks', '/%', '/v1/%zz', '*', '/v1/tasks/a/b/c/d']),
  ]);
  const method = rng.pick(['GET', 'GET', 'POST', 'PUT', 'DELETE', 'HEAD', 'OPTIONS', 'PATCH']);
  return { category: 'other', req: { method, path, headers: auth(rng, t), body: method === 'POST' || method === 'PUT' ? Buffer.from('{}') : undefined } };
}

/** `obj` as JSON of exactly `size` bytes (at least its own), padded in its `pad` field. */
function padded(obj: Record<string, unknown>, size: number): Buffer {
  const base = toJson({ ...obj, pad: '' });
  return Buffer.from(base.replace('"pad":""', `"pad":"${'x'.repeat(Math.max(0, size - base.length))}"`));
}

function sizedWrite(rng: Rng, t: Target): Case {
  const size = t.maxRequestBytes + rng.pick([-1, 0, 1, 2, 1000, t.maxRequestBytes]);
  const req: RawRequest = { method: 'PUT', path: '/v1/tasks/sized', headers: [...auth(rng, t), ['Content-Type', 'application/json']], body: padded({ kind: 'Task', metadata: { name: 'sized' }, spec: {} }, size), chunked: rng.bool(0.3) };
  return { category: 'size', req };
}

/** A delivery signed with the hook's key by its own profile (or left unsigned, or signed wrong). */
function signature(rng: Rng, hook: Hook, body: Buffer): Headers {
  const profile = getProfile(hook.profile)!;
  const opts = resolveOptions(profile, {});
  const eventId = rng.pick(['evt-1', 'evt-2', `evt-${rng.int(1e9)}`, '', 'x'.repeat(10_000), 'ünï', ' ']);
  const nowMs = Date.now() + rng.pick([0, 0, 0, -1e6, 1e6, -1e12]);
  const signed = Object.entries(profile.sign(body, rng.bool(0.8) ? hook.key : Buffer.from('wrong'), opts, nowMs, eventId));
  return rng.bool(0.8) ? signed : signed.map(([k, v]) => [k, rng.bool(0.5) ? v : rng.pick(['', 'sha256=', 'sha256=zz', `${v},${v}`, 't=1,v1=00', 'v1,!!!', oddString(rng)])]);
}

function delivery(rng: Rng, t: Target): Case {
  const hook = rng.pick(t.hooks);
  const id = rng.bool(0.85) ? hook.endpointId : rng.pick(['', 'x', 'A'.repeat(22), 'A'.repeat(65), '..', '%2F', '%zz', nameSegment(rng)]);
  const tail = rng.bool(0.9) ? '' : rng.pick(['/', '/x', '?a=b', '%2F', '?', '#x']);
  const size = hook.maxBodyBytes + rng.pick([-1, 0, 1, 2, -hook.maxBodyBytes, hook.maxBodyBytes * 3]);
  const body = rng.bool(0.5) ? padded({ id: `evt_${rng.int(1e6)}`, type: 'x' }, size) : Buffer.from(Array.from({ length: rng.range(0, 300) }, () => rng.int(256)));
  const method = rng.bool(0.9) ? 'POST' : rng.pick(['GET', 'PUT', 'DELETE', 'HEAD', 'OPTIONS']);
  const headers: Headers = [['Content-Type', rng.pick(['application/json', 'text/plain', 'application/x-www-form-urlencoded'])], ...(rng.bool(0.9) ? signature(rng, hook, body) : [])];
  return { category: 'delivery', req: { method, path: `${deliveryPath(rng, hook, id)}${tail}`, headers, body, chunked: rng.bool(0.2) } };
}

/** Request lines the HTTP parser must refuse, or take: methods, targets, versions. */
function protocol(rng: Rng, t: Target): Case {
  const method = rng.pick(['GET', 'get', 'FOO', 'CONNECT', 'G\u0000T', 'PRI', 'M-SEARCH', 'PURGE', 'LINK', 'QUERY', 'SEARCH']);
  const path = rng.pick(['/v1/tasks', '*', 'http://127.0.0.1/v1/tasks', '127.0.0.1:1', 'v1/tasks', '/v1/tasks\u0000', '/v1/ta sks', '/v1/tasks#frag', '//v1//tasks', '', `/${'x'.repeat(rng.pick([8000, 20_000, 100_000]))}`]);
  const version = rng.pick(['HTTP/1.1', 'HTTP/1.1', 'HTTP/1.0', 'HTTP/2.0', 'HTTP/0.9', 'http/1.1', 'HTTP/1.1 extra', 'HTTP/9.9', '']);
  return { category: 'protocol', req: { method, path, version, headers: auth(rng, t) } };
}

/** Header trouble on top of any case: duplicates, huge or odd values, framing that contradicts itself. */
function headerTrouble(rng: Rng, c: Case): Case {
  const req: RawRequest = { ...c.req, headers: [...c.req.headers] };
  const h = req.headers;
  rng.oneOf([
    () => h.push(['Content-Type', rng.pick(['application/yaml', 'text/plain', 'application/json'])]),
    () => h.push(['Authorization', 'Bearer wrong-token']),
    () => h.push(['X-Request-Id', rng.pick(['a', 'x'.repeat(200), 'ünï', 'a b'])], ['X-Request-Id', 'b']),
    () => h.push(['X-Big', 'x'.repeat(rng.pick([8000, 17_000, 70_000]))]),
    () => h.push(...Array.from({ length: rng.pick([100, 2500]) }, (_, i): [string, string] => [`X-H${i}`, 'v'])),
    () => h.push(['X-Odd', Buffer.from([rng.pick([0x00, 0x01, 0x7f, 0x80, 0xff, 0x0d])])]),
    () => h.push([rng.pick(['X Bad', 'X:Colon', 'ünï', '(paren)', '']), 'v']),
    () => {
      // Two lengths that disagree: the parser must refuse, not pick one.
      Object.assign(req, { noLength: true, chunked: false });
      h.push(['Content-Length', String(req.body?.length ?? 0)], ['Content-Length', String((req.body?.length ?? 0) + 1)]);
    },
    () => {
      Object.assign(req, { chunked: true });
      h.push(['Content-Length', '5']);
    },
    () => h.push(['Transfer-Encoding', rng.pick(['gzip', 'identity', 'chunked, chunked'])]),
    () => h.push(['Content-Encoding', 'gzip']),
    () => h.push(['Expect', rng.pick(['100-continue', 'bogus'])]),
    () => h.push(['Upgrade', 'websocket'], ['Connection', 'Upgrade']),
    () => h.push(['Accept', oddString(rng)], ['Accept-Encoding', 'br, gzip;q=NaN']),
  ]);
  return { category: `${c.category}+headers`, req };
}

const GENERATORS: ReadonlyArray<[number, (rng: Rng, t: Target) => Case]> = [
  [30, resourceWrite], [8, statusWrite], [14, resourceRead], [12, list], [8, otherRoute], [4, sizedWrite], [24, delivery], [4, protocol],
];
const TOTAL = GENERATORS.reduce((n, [w]) => n + w, 0);

/** One case: a generator by weight, sometimes with header trouble on top. */
export function makeCase(rng: Rng, t: Target): Case {
  let pick = rng.int(TOTAL);
  const gen = GENERATORS.find(([w]) => (pick -= w) < 0)![1];
  const c = gen(rng, t);
  return rng.bool(0.12) ? headerTrouble(rng, c) : c;
}

