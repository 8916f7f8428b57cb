import { UsageError } from './errors.js';

export interface FlagDef {
  name: string;
  short?: string;
  /** bool: a switch; string: one value (last wins); list: repeatable. */
  type: 'bool' | 'string' | 'list';
  help: string;
  /** Placeholder for the value in help text. */
  arg?: string;
}

type Value = boolean | string | string[];

export class Args {
  constructor(
    readonly positionals: string[],
    private readonly values: Map<string, Value>,
  ) {}

  bool(name: string): boolean {
    return this.values.get(name) === true;
  }

  str(name: string): string | undefined {
    const v = this.values.get(name);
    return typeof v === 'string' ? v : undefined;
  }

  list(name: string): string[] {
    const v = this.values.get(name);
    return Array.isArray(v) ? v : [];
  }

  has(name: string): boolean {
    return this.values.has(name);
  }
}

function boolValue(name: string, v: string): boolean {
  // `--dry-run=client|server` (kubectl spellings) mean on; only false/0 mean off.
  if (v === 'false' || v === '0') return false;
  if (['true', '1', 'client', 'server', ''].includes(v)) return true;
  throw new UsageError(`invalid value "${v}" for --${name}`);
}

/** Parses flags anywhere on the line (`--f v`, `--f=v`, `-f v`, `-fv`, `-f=v`); `--` ends flags. */
export function parseArgs(argv: string[], defs: FlagDef[], command?: string): Args {
  const byLong = new Map(defs.map((d) => [d.name, d]));
  const byShort = new Map(defs.filter((d) => d.short).map((d) => [d.short!, d]));
  const values = new Map<string, Value>();
  const positionals: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const tok = argv[i]!;
    if (tok === '--') {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (tok === '-' || !tok.startsWith('-')) {
      positionals.push(tok);
      continue;
    }
    let def: FlagDef | undefined;
    let inline: string | undefined;
    if (tok.startsWith('--')) {
      const eq = tok.indexOf('=');
      def = byLong.get(eq < 0 ? tok.slice(2) : tok.slice(2, eq));
      if (eq >= 0) inline = tok.slice(eq + 1);
    } else {
      def = byShort.get(tok[1]!);
      if (tok.length > 2) inline = tok[2] === '=' ? tok.slice(3) : tok.slice(2);
      if (def?.type === 'bool' && tok.length > 2 && tok[2] !== '=') def = undefined;
    }
    if (!def) throw new UsageError(`unknown flag: ${tok}`, command);
    if (def.type === 'bool') {
      values.set(def.name, inline === undefined ? true : boolValue(def.name, inline));
      continue;
    }
    if (inline === undefined) {
      if (i + 1 >= argv.length) throw new UsageError(`flag --${def.name} needs a value`, command);
      inline = argv[++i]!;
    }
    if (def.type === 'list') values.set(def.name, [...((values.get(def.name) as string[] | undefined) ?? []), inline]);
    else values.set(def.name, inline);
  }
  return new Args(positionals, values);
}

/** Index of the command word: the first positional, skipping global flags and their values. */
export function commandIndex(argv: string[], globals: FlagDef[]): number {
  const takesValue = new Set(globals.filter((d) => d.type !== 'bool').flatMap((d) => [`--${d.name}`, ...(d.short ? [`-${d.short}`] : [])]));
  for (let i = 0; i < argv.length; i++) {
    const tok = argv[i]!;
    if (tok === '--') return i + 1 < argv.length ? i + 1 : -1;
    if (!tok.startsWith('-')) return i;
    if (takesValue.has(tok)) i++;
  }
  return -1;
}

/** `30s`, `2m`, `1h`, `500ms`, or plain seconds → milliseconds. */
export function parseDuration(text: string): number {
  const m = text.trim().match(/^(\d+(?:\.\d+)?)(ms|s|m|h)?$/);
  if (!m) throw new UsageError(`invalid duration "${text}" (use e.g. 30s, 2m, 500ms)`);
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[(m[2] ?? 's') as 'ms' | 's' | 'm' | 'h'];
  return Number(m[1]) * unit;
}

export function flagHelp(defs: FlagDef[]): string {
  const rows = defs.map((d) => [`${d.short ? `-${d.short}, ` : '    '}--${d.name}${d.arg ? ` ${d.arg}` : ''}`, d.help]);
  const w = Math.max(0, ...rows.map((r) => r[0]!.length));
  return rows.map(([a, b]) => `  ${a!.padEnd(w)}  ${b}`).join('\n');
}
