import type { Requirement } from '../../api/selector.js';
import { decodeContinue } from '../continue-token.js';
import { RESOURCE_COLUMNS } from '../rows.js';
import type { ListOptions } from '../types.js';

/** SELECT for one page of a list: namespace, label selector (containment, which the label index serves), continue token. */
export function listQuery(kind: string, opts: ListOptions): { sql: string; args: unknown[]; limit?: number } {
  const args: unknown[] = [kind];
  const arg = (v: unknown): string => (args.push(v), `$${args.length}`);
  const where = ['kind = $1'];
  if (opts.namespace !== undefined) where.push(`namespace = ${arg(opts.namespace)}`);
  for (const req of opts.labelSelector ?? []) where.push(selectorClause(req, arg));
  if (opts.continue) {
    const [ns, name] = decodeContinue(opts.continue);
    where.push(`(namespace, name) > (${arg(ns)}, ${arg(name)})`);
  }
  const limit = opts.limit && opts.limit > 0 ? opts.limit : undefined;
  const sql = `SELECT ${RESOURCE_COLUMNS} FROM resources WHERE ${where.join(' AND ')} ORDER BY namespace, name${limit ? ` LIMIT ${limit + 1}` : ''}`;
  return { sql, args, limit };
}

function selectorClause(req: Requirement, arg: (v: unknown) => string): string {
  const test = 'values' in req
    ? `(false${req.values.map((v) => `labels::jsonb @> jsonb_build_object(${arg(req.key)}::text, ${arg(v)}::text)`).map((t) => ` OR ${t}`).join('')})`
    : `jsonb_exists(labels::jsonb, ${arg(req.key)})`;
  const held = `(labels IS NOT NULL AND ${test})`;
  return req.op === 'notin' || req.op === '!exists' ? `NOT ${held}` : held;
}
