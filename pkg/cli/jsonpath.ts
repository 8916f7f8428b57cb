// kubectl's JSONPath: the paths of the kinds' columns, custom-columns and --sort-by, and the
// templates of -o jsonpath. Paths: `.a.b` (`\.` inside a key), `$` (the root), `@` (the current
// node), `..key` (recursive descent), `.*` and `[*]`, `[N]`, `[start:end:step]`, `['key']`,
// `[?(@.f)]` and `[?(@.f OP value)]` with ==, !=, <, <=, >, >=. Templates: text, `{PATH}`,
// `{"literal\n"}`, `{range PATH}...{end}`. Missing keys select nothing, as kubectl's allowMissingKeys.

type Literal = string | number | boolean;
type Op = '==' | '!=' | '<' | '<=' | '>' | '>=';
interface Filter {
  path: Path;
  op?: Op;
  value?: Literal;
}
type Step =
  | { key: string }
  | { descend: string }
  | { index: number }
  | { slice: { start?: number; end?: number; step: number } }
  | { all: true }
  | { filter: Filter };
/** `fromRoot`: it starts at `$`; otherwise at the current node (the root outside a range). */
export interface Path {
  fromRoot: boolean;
  steps: Step[];
}

/** Where the bracket (or parenthesis) opened at `open` closes, skipping quoted text and nested pairs. */
function closing(src: string, open: number): number {
  let depth = 0;
  let quote = '';
  for (let i = open; i < src.length; i++) {
    const c = src[i]!;
    if (quote) {
      if (c === '\\') i++;
      else if (c === quote) quote = '';
    } else if (c === '"' || c === "'") quote = c;
    else if (c === '[' || c === '(') depth++;
    else if ((c === ']' || c === ')') && --depth === 0) return i;
  }
  return -1;
}

/** The end of a key after `.`: the next unescaped `.` or `[`. */
function keyEnd(src: string, from: number): number {
  let j = from;
  while (j < src.length && src[j] !== '.' && src[j] !== '[') j += src[j] === '\\' ? 2 : 1;
  return Math.min(j, src.length);
}

const unescapeKey = (text: string): string => text.replace(/\\(.)/g, '$1');

function literal(text: string): Literal {
  if (/^"(.*)"$/.test(text) || /^'(.*)'$/.test(text)) return text.slice(1, -1);
  if (text === 'true' || text === 'false') return text === 'true';
  if (/^-?\d+(\.\d+)?$/.test(text)) return Number(text);
  return text;
}

/** `@.f`, `@.f == "v"`, `@.n > 3`: the operator is the first one outside brackets and quotes. */
function parseFilter(body: string, expr: string): Filter {
  let quote = '';
  let depth = 0;
  for (let i = 0; i < body.length; i++) {
    const c = body[i]!;
    if (quote) {
      if (c === quote) quote = '';
      continue;
    }
    if (c === '"' || c === "'") quote = c;
    else if (c === '[') depth++;
    else if (c === ']') depth--;
    const op = depth === 0 ? body.slice(i).match(/^(==|!=|<=|>=|<|>)/)?.[1] : undefined;
    if (op) return { path: filterPath(body.slice(0, i), expr), op: op as Op, value: literal(body.slice(i + op.length).trim()) };
  }
  return { path: filterPath(body, expr) };
}

function filterPath(text: string, expr: string): Path {
  const t = text.trim();
  if (!t.startsWith('@')) throw new Error(`a filter must test the current element (@.field) in ${expr}`);
  return parsePath(t, expr);
}

function bracket(body: string, expr: string): Step {
  if (body === '*') return { all: true };
  if (/^-?\d+$/.test(body)) return { index: Number(body) };
  if (/^(['"]).*\1$/.test(body)) return { key: body.slice(1, -1) };
  const slice = body.match(/^(-?\d*):(-?\d*)(?::(\d*))?$/);
  if (slice) {
    const [, start, end, step] = slice;
    if (step === '0') throw new Error(`the step of a slice cannot be 0 in ${expr}`);
    return { slice: { start: start ? Number(start) : undefined, end: end ? Number(end) : undefined, step: step ? Number(step) : 1 } };
  }
  if (body.startsWith('?(') && body.endsWith(')')) return { filter: parseFilter(body.slice(2, -1).trim(), expr) };
  throw new Error(`unsupported JSONPath segment [${body}] in ${expr}`);
}

function parsePath(src: string, expr: string): Path {
  const fromRoot = src.startsWith('$');
  const steps: Step[] = [];
  let i = fromRoot || src.startsWith('@') ? 1 : 0;
  while (i < src.length) {
    if (src.startsWith('..', i)) {
      const j = keyEnd(src, i + 2);
      steps.push({ descend: unescapeKey(src.slice(i + 2, j)) });
      i = j;
    } else if (src[i] === '.') {
      const j = keyEnd(src, i + 1);
      const key = unescapeKey(src.slice(i + 1, j));
      if (src.slice(i + 1, j) === '*') steps.push({ all: true });
      else if (key) steps.push({ key });
      i = j;
    } else if (src[i] === '[') {
      const close = closing(src, i);
      if (close < 0) throw new Error(`unterminated [ in JSONPath ${expr}`);
      steps.push(bracket(src.slice(i + 1, close).trim(), expr));
      i = close + 1;
    } else {
      throw new Error(`JSONPath must start with "." at "${src.slice(i)}" in ${expr}`);
    }
  }
  return { fromRoot, steps };
}

const cache = new Map<string, Path>();

/** A single path, `.a.b` or `{.a.b}` (a column's jsonPath). */
export function compile(expr: string): Path {
  const hit = cache.get(expr);
  if (hit) return hit;
  const path = parsePath(expr.trim().replace(/^\{(.*)\}$/, '$1').trim(), expr);
  cache.set(expr, path);
  return path;
}

/**
 * kubectl's relaxed form, for custom-columns and --sort-by: `.a.b`, `a.b`, `{.a.b}` and `{a.b}`
 * all mean `.a.b`. Throws on anything else.
 */
export function relaxedPath(expr: string): string {
  const trimmed = expr.trim();
  const body = (trimmed.match(/^\{(.*)\}$/)?.[1] ?? trimmed).trim();
  if (!body || /[{}]/.test(body)) throw new Error(`unexpected path "${expr}": use a.b, .a.b, {a.b} or {.a.b}`);
  const path = /^[.[$@]/.test(body) ? body : `.${body}`;
  compile(path);
  return path;
}

const isObject = (n: unknown): n is Record<string, unknown> => n !== null && typeof n === 'object' && !Array.isArray(n);

function child(node: unknown, key: string): unknown {
  return isObject(node) ? node[key] : undefined;
}

/** The node and everything below it, parents before children. */
function descendants(node: unknown): unknown[] {
  const kids = Array.isArray(node) ? node : isObject(node) ? Object.values(node) : [];
  return [node, ...kids.flatMap(descendants)];
}

function sliceOf(list: unknown[], s: { start?: number; end?: number; step: number }): unknown[] {
  const at = (n: number | undefined, dflt: number): number => (n === undefined ? dflt : Math.min(list.length, Math.max(0, n < 0 ? list.length + n : n)));
  const out: unknown[] = [];
  for (let i = at(s.start, 0); i < at(s.end, list.length); i += s.step) out.push(list[i]);
  return out;
}

function compare(v: unknown, op: Op, lit: Literal): boolean {
  if (op === '==' || op === '!=') {
    const same = typeof v === 'number' && typeof lit === 'number' ? v === lit : String(v) === String(lit);
    return op === '==' ? same : !same;
  }
  // Order only like with like: numbers as numbers, strings as strings.
  if (typeof v !== typeof lit || (typeof v !== 'number' && typeof v !== 'string')) return false;
  const a = v as number | string;
  return op === '<' ? a < lit : op === '<=' ? a <= lit : op === '>' ? a > lit : a >= lit;
}

function matches(el: unknown, f: Filter, root: unknown): boolean {
  const [v] = walk(f.path, el, root);
  if (!f.op) return v !== undefined;
  if (v === undefined) return f.op === '!=';
  return compare(v, f.op, f.value!);
}

function step(n: unknown, s: Step, root: unknown): unknown[] {
  if ('key' in s) return [child(n, s.key)];
  if ('descend' in s) return s.descend && s.descend !== '*' ? descendants(n).map((d) => child(d, s.descend)) : descendants(n);
  if ('all' in s) return Array.isArray(n) ? n : isObject(n) ? Object.values(n) : [];
  if (!Array.isArray(n)) return [];
  if ('index' in s) return [n[s.index < 0 ? n.length + s.index : s.index]];
  if ('slice' in s) return sliceOf(n, s.slice);
  return n.filter((el) => matches(el, s.filter, root));
}

function walk(path: Path, current: unknown, root: unknown): unknown[] {
  let nodes: unknown[] = [path.fromRoot ? root : current];
  for (const s of path.steps) nodes = nodes.flatMap((n) => step(n, s, root)).filter((v) => v !== undefined && v !== null);
  return nodes.filter((v) => v !== undefined && v !== null);
}

/** Every value the expression selects (a filter or `[*]` may select several). */
export function evaluate(obj: unknown, expr: string): unknown[] {
  return walk(compile(expr), obj, obj);
}

/** Strings as they are, other scalars as JSON would spell them, objects and lists as compact JSON. */
const text = (v: unknown): string => (typeof v === 'object' ? JSON.stringify(v) : String(v));

/** A table cell: values joined by commas, objects as JSON; '' when nothing matched. */
export function cell(obj: unknown, expr: string): string {
  return evaluate(obj, expr).map(text).join(',');
}

type Node = { text: string } | { path: Path } | { range: Path; body: Node[] };

/** A parsed -o jsonpath template. */
export interface Template {
  nodes: Node[];
}

/** Where the action opened at `open` ends: the first `}` outside quotes. */
function actionEnd(src: string, open: number): number {
  let quote = '';
  for (let i = open + 1; i < src.length; i++) {
    const c = src[i]!;
    if (quote) {
      if (c === '\\') i++;
      else if (c === quote) quote = '';
    } else if (c === '"' || c === "'") quote = c;
    else if (c === '}') return i;
  }
  return -1;
}

function quoted(action: string, src: string): string {
  if (action.startsWith("'")) return action.slice(1, -1);
  try {
    return JSON.parse(action) as string;
  } catch {
    throw new Error(`invalid string literal ${action} in ${src}`);
  }
}

/** Text, `{PATH}`, `{"literal"}` and `{range PATH}...{end}`, as kubectl's -o jsonpath takes them. */
export function parseTemplate(src: string): Template {
  const top: Node[] = [];
  const ranges: Array<{ range: Path; body: Node[] }> = [];
  const add = (n: Node): void => void (ranges.at(-1)?.body ?? top).push(n);
  let i = 0;
  while (i < src.length) {
    const open = src.indexOf('{', i);
    if (open < 0 || open > i) add({ text: src.slice(i, open < 0 ? undefined : open) });
    if (open < 0) break;
    const close = actionEnd(src, open);
    if (close < 0) throw new Error(`unclosed action at "${src.slice(open)}"`);
    const action = src.slice(open + 1, close).trim();
    i = close + 1;
    if (!action) throw new Error(`empty action {} in ${src}`);
    const range = action.match(/^range\s+(.+)$/);
    if (action === 'end') {
      if (!ranges.pop()) throw new Error('{end} without a {range} to end');
    } else if (range) {
      const node = { range: parsePath(range[1]!.trim(), src), body: [] };
      add(node);
      ranges.push(node);
    } else if (/^(["']).*\1$/s.test(action)) add({ text: quoted(action, src) });
    else add({ path: parsePath(action, src) });
  }
  if (ranges.length) throw new Error('{range} without its {end}');
  return { nodes: top };
}

function run(nodes: Node[], current: unknown, root: unknown): string {
  let out = '';
  for (const n of nodes) {
    if ('text' in n) out += n.text;
    else if ('path' in n) out += walk(n.path, current, root).map(text).join(' ');
    else for (const v of walk(n.range, current, root)) out += run(n.body, v, root);
  }
  return out;
}

/** The template applied to `data`: a path's values are joined by spaces, as kubectl prints them. */
export function execute(t: Template, data: unknown): string {
  return run(t.nodes, data, data);
}
