import type { Requirement } from '../../api/selector.js';
import { lookupKind } from '../../api/registry.js';
import type { ListOptions } from '../types.js';
import { decodeContinue } from '../continue-token.js';
import { RESOURCE_COLUMNS } from '../rows.js';

/** SELECT for one page of a list: namespace, label selector, continue token. */
export function listQuery(kind: string, opts: ListOptions): { sql: string; args: unknown[]; limit?: number } {
  const where = ['r.kind = ?'];
  const args: unknown[] = [kind];
  if (opts.namespace !== undefined) {
    where.push('r.namespace = ?');
    args.push(opts.namespace);
  }
  for (const req of opts.labelSelector ?? []) selectorClause(kind, req, where, args);
  if (opts.continue) {
    const [ns, name] = decodeContinue(opts.continue);
    where.push('(r.namespace, r.name) > (?, ?)');
    args.push(ns, name);
  }
  const limit = opts.limit && opts.limit > 0 ? opts.limit : undefined;
  const columns = RESOURCE_COLUMNS.split(', ').map((c) => `r.${c}`).join(', ');
  const sql = `SELECT ${columns} FROM resources r WHERE ${where.join(' AND ')} ORDER BY r.namespace, r.name${limit ? ` LIMIT ${limit + 1}` : ''}`;
  return { sql, args, limit };
}

/** Each requirement is a set of create_rv values from the label index, so SQLite may drive the query from it. */
function selectorClause(kind: string, req: Requirement, where: string[], args: unknown[]): void {
  const hasValues = 'values' in req;
  const negate = req.op === 'notin' || req.op === '!exists';
  if (lookupKind(kind)?.unindexedLabels?.includes(req.key)) {
    const label = `json_extract(r.labels, ?)`;
    const test = hasValues ? `${label} IN (${req.values.map(() => '?').join(', ')})` : `${label} IS NOT NULL`;
    where.push(negate ? `NOT coalesce(${test}, 0)` : test);
    args.push(`$."${req.key.replace(/"/g, '""')}"`, ...(hasValues ? req.values : []));
    return;
  }
  const values = hasValues ? ` AND value IN (${req.values.map(() => '?').join(', ')})` : '';
  where.push(`r.create_rv ${negate ? 'NOT ' : ''}IN (SELECT create_rv FROM labels WHERE kind = ? AND key = ?${values})`);
  args.push(kind, req.key, ...(hasValues ? req.values : []));
}
