import { labelKeyProblem } from '../api/meta.js';
import { UsageError } from './errors.js';
import { cell, relaxedPath } from './jsonpath.js';
import { NONE, Table, type Obj } from './table.js';

/** One column of -o custom-columns: its header and the path of its cells. */
export interface CustomColumn {
  header: string;
  path: string;
}

/** Splits on commas that are not inside brackets, parentheses or quotes (a filter may hold one). */
function splitTopLevel(spec: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let quote = '';
  let cur = '';
  for (const c of spec) {
    if (quote) quote = c === quote ? '' : quote;
    else if (c === '"' || c === "'") quote = c;
    else if (c === '[' || c === '(') depth++;
    else if (c === ']' || c === ')') depth--;
    else if (c === ',' && depth === 0) {
      parts.push(cur);
      cur = '';
      continue;
    }
    cur += c;
  }
  return [...parts, cur];
}

/** kubectl's spec: `HEADER:PATH,HEADER:PATH`, each path in the relaxed form (`.a.b`, `a.b`, `{.a.b}`). */
export function parseCustomColumns(spec: string | undefined): CustomColumn[] {
  if (!spec) throw new UsageError('custom-columns format specified but no custom columns given (e.g. -o custom-columns=NAME:.metadata.name)', 'get');
  return splitTopLevel(spec).map((part) => {
    const colon = part.indexOf(':');
    if (colon <= 0) throw new UsageError(`unexpected custom-columns spec "${part}": expected <header>:<json-path-expr>`, 'get');
    try {
      return { header: part.slice(0, colon), path: relaxedPath(part.slice(colon + 1)) };
    } catch (e) {
      throw new UsageError(`custom-columns ${part.slice(0, colon)}: ${(e as Error).message}`, 'get');
    }
  });
}

/** The table of -o custom-columns: <none> where a path selects nothing. */
export function customTable(columns: CustomColumn[], noHeaders: boolean): { table: Table; row(o: Obj): string[] } {
  return {
    table: new Table(columns.map((c) => c.header), noHeaders),
    row: (o) => columns.map((c) => cell(o, c.path) || NONE),
  };
}

/** `-L a,b -L c`: the label keys, each checked as the server checks keys. */
export function labelColumns(values: string[]): string[] {
  const keys = values.flatMap((v) => v.split(',')).map((k) => k.trim());
  for (const k of keys) {
    const problem = k ? labelKeyProblem(k) : 'it is empty';
    if (problem) throw new UsageError(`invalid label key "${k}" for -L: ${problem}`, 'get');
  }
  return keys;
}
