import type { KindDef } from '../api/kind.js';
import { cell } from './jsonpath.js';

/** Objects as the CLI reads them: only what printing needs is typed. */
export interface Obj {
  kind?: string;
  metadata: { name: string; namespace?: string; creationTimestamp?: string; resourceVersion?: string; generation?: number; [k: string]: unknown };
  spec?: Record<string, unknown>;
  status?: Record<string, unknown>;
  [k: string]: unknown;
}

export const NONE = '<none>';

/** kubectl-style age: 5s, 3m, 2h, 4d. */
export function age(timestamp: string | undefined, now = Date.now()): string {
  const t = timestamp ? Date.parse(timestamp) : NaN;
  if (Number.isNaN(t)) return NONE;
  const s = Math.max(0, Math.floor((now - t) / 1000));
  if (s < 120) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m`;
  if (s < 48 * 3600) return `${Math.floor(s / 3600)}h`;
  return `${Math.floor(s / 86400)}d`;
}

/** Fixed-width columns separated by three spaces; widths can be kept for later rows (watch). */
export class Table {
  widths: number[];
  constructor(readonly header: string[]) {
    this.widths = header.map((h) => h.length);
  }

  fit(rows: string[][]): void {
    for (const r of rows) r.forEach((c, i) => (this.widths[i] = Math.max(this.widths[i] ?? 0, c.length)));
  }

  line(row: string[]): string {
    return `${row.map((c, i) => (i === row.length - 1 ? c : c.padEnd(this.widths[i]!))).join('   ').trimEnd()}\n`;
  }

  render(rows: string[][]): string {
    this.fit(rows);
    return [this.header, ...rows].map((r) => this.line(r)).join('');
  }
}

/** NAME (NAMESPACE first with -A), the kind's columns, AGE: driven by the registry only. */
export function kindTable(def: KindDef, wide: boolean, withNamespace: boolean): { table: Table; row(o: Obj): string[] } {
  const cols = def.columns.filter((c) => wide || !c.wide);
  const header = [...(withNamespace ? ['NAMESPACE'] : []), 'NAME', ...cols.map((c) => c.name), 'AGE'];
  return {
    table: new Table(header),
    row: (o) => [
      ...(withNamespace ? [o.metadata.namespace || NONE] : []),
      o.metadata.name,
      ...cols.map((c) => cell(o, c.jsonPath) || NONE),
      age(o.metadata.creationTimestamp),
    ],
  };
}
