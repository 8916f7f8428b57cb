import type { KindDef } from '../api/kind.js';
import { cell } from './jsonpath.js';
import { ref } from './manifests.js';

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

/**
 * Fixed-width columns separated by three spaces. The widths are kept for later rows (watch):
 * they never shrink, so a row is at least as wide as the header and the rows printed before.
 */
export class Table {
  widths: number[];
  private started = false;
  constructor(
    readonly header: string[],
    readonly noHeaders = false,
  ) {
    this.widths = header.map((h) => (noHeaders ? 0 : h.length));
  }

  fit(rows: string[][]): void {
    for (const r of rows) r.forEach((c, i) => (this.widths[i] = Math.max(this.widths[i] ?? 0, c.length)));
  }

  line(row: string[]): string {
    return `${row.map((c, i) => (i === row.length - 1 ? c : c.padEnd(this.widths[i]!))).join('   ').trimEnd()}\n`;
  }

  /** The header (unless hidden) and the rows, the widths fitted to them. */
  render(rows: string[][]): string {
    this.fit(rows);
    this.started = true;
    return (this.noHeaders ? rows : [this.header, ...rows]).map((r) => this.line(r)).join('');
  }

  /** One more row of a table already printed, in its widths; the first row starts the table. */
  append(row: string[]): string {
    return this.started ? this.line(row) : this.render([row]);
  }
}

/** What `get` adds to a kind's own columns. */
export interface TableExtras {
  /** `kind/name` in NAME, as when several kinds are printed. */
  withKind?: boolean;
  /** -L: a column for each of these label keys. */
  labelColumns?: string[];
  /** --show-labels: every label, in a LABELS column. */
  showLabels?: boolean;
  noHeaders?: boolean;
}

/** kubectl's -L header: the key's name part, upper case (`orloj.dev/tier` → TIER). */
export const labelHeader = (key: string): string => key.slice(key.lastIndexOf('/') + 1).toUpperCase();

/** `k=v,k2=v2`, sorted by key, or <none>. */
export function formatLabels(labels: unknown): string {
  const entries = labels && typeof labels === 'object' ? Object.entries(labels as Record<string, string>) : [];
  return entries.length ? entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([k, v]) => `${k}=${v}`).join(',') : NONE;
}

const labelsOf = (o: Obj): Record<string, string> => (o.metadata.labels as Record<string, string> | undefined) ?? {};

/** NAMESPACE (with -A), NAME, the kind's columns, AGE, then -L and --show-labels columns. */
export function kindTable(def: KindDef, wide: boolean, withNamespace: boolean, extras: TableExtras = {}): { table: Table; row(o: Obj): string[] } {
  const cols = def.columns.filter((c) => wide || !c.wide);
  const labelKeys = extras.labelColumns ?? [];
  const header = [
    ...(withNamespace ? ['NAMESPACE'] : []), 'NAME', ...cols.map((c) => c.name), 'AGE', ...labelKeys.map(labelHeader), ...(extras.showLabels ? ['LABELS'] : []),
  ];
  return {
    table: new Table(header, extras.noHeaders),
    row: (o) => [
      ...(withNamespace ? [o.metadata.namespace || NONE] : []),
      extras.withKind ? ref(def, o.metadata.name) : o.metadata.name,
      ...cols.map((c) => cell(o, c.jsonPath) || NONE),
      age(o.metadata.creationTimestamp),
      // Empty for a missing label, as kubectl leaves it.
      ...labelKeys.map((k) => labelsOf(o)[k] ?? ''),
      ...(extras.showLabels ? [formatLabels(o.metadata.labels)] : []),
    ],
  };
}
