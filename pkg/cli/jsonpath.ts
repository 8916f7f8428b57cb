// The kubectl JSONPath subset the kinds' columns use: `.a.b`, `\.` inside a key,
// `[N]`, `[*]`, `['key']`, `[?(@.f=="v")]`, `[?(@.f!="v")]`, `[?(@.f)]`.

type Filter = { path: string[]; op: '==' | '!=' | 'exists'; value: string };
type Step = { key: string } | { index: number } | { all: true } | { filter: Filter };

/** Splits `a.b\.c` on unescaped dots, unescaping `\x`. */
function splitKeys(text: string): string[] {
  const keys: string[] = [];
  let cur = '';
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === '\\' && i + 1 < text.length) cur += text[++i];
    else if (c === '.') (keys.push(cur), (cur = ''));
    else cur += c;
  }
  keys.push(cur);
  return keys;
}

function parseFilter(body: string, expr: string): Filter {
  const m = body.match(/^@\.(.+?)\s*(?:(==|!=)\s*(?:"([^"]*)"|'([^']*)'|([^\s]+)))?$/);
  if (!m) throw new Error(`unsupported JSONPath filter in ${expr}`);
  const value = m[3] ?? m[4] ?? m[5] ?? '';
  return { path: splitKeys(m[1]!), op: (m[2] as '==' | '!=' | undefined) ?? 'exists', value };
}

const cache = new Map<string, Step[]>();

export function compile(expr: string): Step[] {
  const hit = cache.get(expr);
  if (hit) return hit;
  const src = expr.trim().replace(/^\{(.*)\}$/, '$1');
  const steps: Step[] = [];
  let i = 0;
  while (i < src.length) {
    if (src[i] === '.') {
      let j = i + 1;
      while (j < src.length && src[j] !== '.' && src[j] !== '[') j += src[j] === '\\' ? 2 : 1;
      const key = splitKeys(src.slice(i + 1, j)).join('.');
      if (key) steps.push({ key });
      i = j;
    } else if (src[i] === '[') {
      const close = src.startsWith('[?(', i) ? src.indexOf(')]', i) + 1 : src.indexOf(']', i);
      if (close <= i) throw new Error(`unterminated [ in JSONPath ${expr}`);
      const body = src.slice(i + 1, close).trim();
      if (body === '*') steps.push({ all: true });
      else if (/^-?\d+$/.test(body)) steps.push({ index: Number(body) });
      else if (/^(['"]).*\1$/.test(body)) steps.push({ key: body.slice(1, -1) });
      else if (body.startsWith('?(') && body.endsWith(')')) steps.push({ filter: parseFilter(body.slice(2, -1).trim(), expr) });
      else throw new Error(`unsupported JSONPath segment [${body}] in ${expr}`);
      i = close + 1;
    } else {
      throw new Error(`JSONPath must start with "." at "${src.slice(i)}" in ${expr}`);
    }
  }
  cache.set(expr, steps);
  return steps;
}

function child(node: unknown, key: string): unknown {
  return node !== null && typeof node === 'object' && !Array.isArray(node) ? (node as Record<string, unknown>)[key] : undefined;
}

function matches(el: unknown, f: Filter): boolean {
  const v = f.path.reduce<unknown>((n, k) => child(n, k), el);
  if (f.op === 'exists') return v !== undefined && v !== null;
  const same = v !== undefined && v !== null && String(v) === f.value;
  return f.op === '==' ? same : !same;
}

/** Every value the expression selects (a filter may select several). */
export function evaluate(obj: unknown, expr: string): unknown[] {
  let nodes: unknown[] = [obj];
  for (const s of compile(expr)) {
    const next: unknown[] = [];
    for (const n of nodes) {
      if ('key' in s) next.push(child(n, s.key));
      else if (!Array.isArray(n)) continue;
      else if ('index' in s) next.push(n[s.index < 0 ? n.length + s.index : s.index]);
      else if ('all' in s) next.push(...n);
      else next.push(...n.filter((el) => matches(el, s.filter)));
    }
    nodes = next.filter((v) => v !== undefined && v !== null);
  }
  return nodes;
}

/** A table cell: values joined by commas, objects as JSON; '' when nothing matched. */
export function cell(obj: unknown, expr: string): string {
  return evaluate(obj, expr)
    .map((v) => (typeof v === 'object' ? JSON.stringify(v) : String(v)))
    .join(',');
}
