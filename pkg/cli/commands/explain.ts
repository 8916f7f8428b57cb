// `orlojctl explain KIND[.field[.field...]]`: a kind's fields, from the schema the server
// serves at /openapi/v3 (the one it validates with), as kubectl explain prints them.
import type { Args } from '../args.js';
import { resolveKind, type Command } from '../command.js';
import type { CliContext } from '../context.js';
import { CliError, UsageError } from '../errors.js';

interface Schema {
  type?: string | string[];
  description?: string;
  properties?: Record<string, Schema>;
  items?: Schema;
  additionalProperties?: Schema | boolean;
  required?: string[];
  enum?: unknown[];
  default?: unknown;
  $ref?: string;
}

interface OpenApi {
  components: { schemas: Record<string, Schema> };
}

const typeOf = (s: Schema): string => {
  if (s.$ref) return 'Object';
  const t = Array.isArray(s.type) ? s.type.join('|') : (s.type ?? (s.properties ? 'object' : 'any'));
  if (t === 'array') return `[]${s.items ? typeOf(s.items) : 'any'}`;
  if (t === 'object' && !s.properties && s.additionalProperties && typeof s.additionalProperties === 'object') return `map[string]${typeOf(s.additionalProperties)}`;
  return t;
};

/** A field's schema down a path (arrays are walked through to their items, maps to their values). */
function walk(root: Schema, path: string[], doc: OpenApi): Schema | undefined {
  let s: Schema | undefined = root;
  for (const seg of path) {
    while (s && (s.items || (s.$ref && !s.properties))) s = s.$ref ? doc.components.schemas[s.$ref.split('/').pop()!] : s.items;
    s = s?.properties?.[seg] ?? (s && typeof s.additionalProperties === 'object' ? s.additionalProperties : undefined);
  }
  return s;
}

const indent = (text: string, by: string): string => text.split('\n').map((l) => by + l).join('\n');

function render(kind: string, path: string[], s: Schema, doc: OpenApi): string {
  const out = [`KIND:     ${kind}`, 'VERSION:  orloj.dev/v1', ''];
  if (path.length) out.push(`FIELD:    ${path[path.length - 1]} <${typeOf(s)}>`, '');
  const extra = [s.enum ? `one of: ${s.enum.map((v) => JSON.stringify(v)).join(', ')}` : '', s.default !== undefined ? `default: ${JSON.stringify(s.default)}` : ''].filter(Boolean);
  out.push('DESCRIPTION:', indent([s.description ?? '<empty>', ...extra].join('\n'), '    '), '');
  let inner: Schema | undefined = s;
  while (inner?.items) inner = inner.items;
  const props = inner?.properties ?? (inner?.$ref ? doc.components.schemas[inner.$ref.split('/').pop()!]?.properties : undefined);
  if (props) {
    out.push('FIELDS:');
    for (const [name, f] of Object.entries(props)) {
      const required = inner?.required?.includes(name) ? ' -required-' : '';
      out.push(`   ${name}\t<${typeOf(f)}>${required}`);
      if (f.description) out.push(indent(f.description, '     '));
    }
  }
  return `${out.join('\n').trimEnd()}\n`;
}

async function run(ctx: CliContext, args: Args): Promise<number> {
  const [target, ...rest] = args.positionals;
  if (!target || rest.length) throw new UsageError('expected: explain KIND[.field...], e.g. explain task-webhook.spec.auth', 'explain');
  const [kindName = '', ...path] = target.split('.');
  const def = resolveKind(kindName);
  const doc = await ctx.client.get<OpenApi>('/openapi/v3');
  const root = doc.components.schemas[def.kind];
  if (!root) throw new CliError(`the server describes no kind ${def.kind}`);
  const s = walk(root, path, doc);
  if (!s) throw new CliError(`field "${path.join('.')}" does not exist in ${def.kind}`);
  ctx.out(render(def.kind, path, s, doc));
  return 0;
}

export const explainCommand: Command = {
  name: 'explain',
  summary: "Describe a kind's fields, from the schema the server validates with",
  usage: 'orlojctl explain KIND[.field...]   e.g. explain task-webhook.spec.auth',
  flags: [],
  run,
};
