import { CliError, UsageError } from './errors.js';
import { evaluate, relaxedPath } from './jsonpath.js';
import type { Obj } from './table.js';

/** --sort-by's path, checked before anything is sent. */
export function sortPath(expr: string | undefined): string | undefined {
  if (expr === undefined) return undefined;
  try {
    return relaxedPath(expr);
  } catch (e) {
    throw new UsageError(`--sort-by: ${(e as Error).message}`, 'get');
  }
}

/** kubectl's natural order: runs of digits compare as numbers (`task-2` before `task-10`). */
function naturalCompare(a: string, b: string): number {
  const ra = a.match(/\d+|\D+/g) ?? [];
  const rb = b.match(/\d+|\D+/g) ?? [];
  for (let i = 0; i < Math.min(ra.length, rb.length); i++) {
    const [x, y] = [ra[i]!, rb[i]!];
    if (x === y) continue;
    if (/^\d/.test(x) && /^\d/.test(y)) {
      const [nx, ny] = [x.replace(/^0+/, ''), y.replace(/^0+/, '')];
      if (nx.length !== ny.length) return nx.length - ny.length;
      if (nx !== ny) return nx < ny ? -1 : 1;
      continue;
    }
    return x < y ? -1 : 1;
  }
  return ra.length - rb.length;
}

const RANK = { boolean: 0, number: 1, string: 2 } as const;

/** Missing values first; numbers numerically, strings naturally, false before true. */
function compareValues(a: unknown, b: unknown): number {
  if (a === undefined || b === undefined) return a === undefined ? (b === undefined ? 0 : -1) : 1;
  const [ta, tb] = [typeof a as keyof typeof RANK, typeof b as keyof typeof RANK];
  if (ta !== tb) return RANK[ta] - RANK[tb];
  if (ta === 'number' || ta === 'boolean') return Number(a) - Number(b);
  return naturalCompare(String(a), String(b));
}

function sortKey(o: Obj, path: string): unknown {
  const [v] = evaluate(o, path);
  if (v !== null && typeof v === 'object') throw new CliError(`--sort-by ${path}: cannot sort by ${Array.isArray(v) ? 'a list' : 'an object'}; name a field inside it`);
  return v;
}

/**
 * Each group (a kind's objects) sorted by the value at `path`, stably. As kubectl does, a path
 * that none of the objects has is an error: it is most likely a typo.
 */
export function sortGroups(groups: Obj[][], path: string): Obj[][] {
  const keyed = groups.map((items) => items.map((o) => ({ o, key: sortKey(o, path) })));
  const all = keyed.flat();
  if (all.length && all.every((k) => k.key === undefined)) throw new CliError(`couldn't find any field with path "${path}" in the list of objects`);
  return keyed.map((items) => items.sort((a, b) => compareValues(a.key, b.key)).map((k) => k.o));
}
