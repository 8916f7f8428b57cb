import { stringify } from './yaml.js';
import type { KindDef } from '../api/kind.js';
import { kindNamed } from '../api/registry.js';
import type { Args } from './args.js';
import { customTable, labelColumns, parseCustomColumns, type CustomColumn } from './columns.js';
import { UsageError } from './errors.js';
import { execute, parseTemplate, type Template } from './jsonpath.js';
import { ref } from './manifests.js';
import { kindTable, type Obj, type Table } from './table.js';

export const OUTPUTS = ['table', 'wide', 'yaml', 'json', 'name'] as const;
export type Output = (typeof OUTPUTS)[number];

export function parseOutput(v: string | undefined): Output {
  const o = v ?? 'table';
  if (!(OUTPUTS as readonly string[]).includes(o)) throw new UsageError(`unknown output format "${o}" (use ${OUTPUTS.join(', ')})`, 'get');
  return o as Output;
}

/** Every format `get` prints, and the flags that shape it. */
export interface OutputSpec {
  format: Output | 'jsonpath' | 'custom-columns';
  template?: Template;
  columns?: CustomColumn[];
  noHeaders?: boolean;
  showLabels?: boolean;
  labelColumns?: string[];
}

/** Formats a table prints, where "No resources found." goes to stderr instead of an empty answer. */
export const isTabular = (spec: OutputSpec): boolean => ['table', 'wide', 'name', 'custom-columns'].includes(spec.format);

function template(text: string | undefined): Template {
  if (!text) throw new UsageError('jsonpath format specified but no template given (e.g. -o jsonpath={.metadata.name})', 'get');
  try {
    return parseTemplate(text);
  } catch (e) {
    throw new UsageError(`error parsing jsonpath ${text}: ${(e as Error).message}`, 'get');
  }
}

/** -o (with kubectl's `jsonpath=TEMPLATE` and `custom-columns=SPEC`), --no-headers, --show-labels, -L. */
export function parseOutputSpec(args: Args): OutputSpec {
  const o = args.str('output') ?? 'table';
  const eq = o.indexOf('=');
  const [name, value] = eq < 0 ? [o, undefined] : [o.slice(0, eq), o.slice(eq + 1)];
  const shape = { noHeaders: args.bool('no-headers'), showLabels: args.bool('show-labels'), labelColumns: labelColumns(args.list('label-columns')) };
  if (name === 'jsonpath') return { ...shape, format: 'jsonpath', template: template(value) };
  if (name === 'custom-columns') return { ...shape, format: 'custom-columns', columns: parseCustomColumns(value) };
  if (!(OUTPUTS as readonly string[]).includes(o)) {
    throw new UsageError(`unknown output format "${o}" (use ${OUTPUTS.join(', ')}, jsonpath=TEMPLATE or custom-columns=SPEC)`, 'get');
  }
  return { ...shape, format: o as Output };
}

/**
 * Prints a get's answer, or (watch) what comes first and then one object at a time in the same
 * format: tables keep their widths, documents and template results come one per object.
 */
export interface Printer {
  list(items: Obj[], single: boolean): string;
  /** What -w prints first. */
  first(items: Obj[]): string;
  one(o: Obj): string;
}

const listOf = (items: Obj[]): Record<string, unknown> => ({ apiVersion: 'orloj.dev/v1', kind: 'List', items });

function tablePrinter({ table, row }: { table: Table; row(o: Obj): string[] }): Printer {
  return {
    list: (items) => table.render(items.map(row)),
    first: (items) => (items.length ? table.render(items.map(row)) : ''),
    one: (o) => table.append(row(o)),
  };
}

function documentPrinter(format: 'json' | 'yaml'): Printer {
  const fmt = format === 'json' ? (v: unknown): string => `${JSON.stringify(v, null, 2)}\n` : (v: unknown): string => stringify(v, { lineWidth: 0 });
  let printed = 0;
  // One document per object: JSON objects one after another, YAML separated by `---`.
  const doc = (o: Obj): string => (format === 'yaml' && printed++ ? '---\n' : '') + fmt(o);
  return {
    list: (items, single) => fmt(single && items.length === 1 ? items[0] : listOf(items)),
    first: (items) => items.map(doc).join(''),
    one: doc,
  };
}

/**
 * `withKind`: several kinds are printed, so names are `kind/name`. A plain Output (what commands
 * other than get pass) means that format with nothing added.
 */
export function makePrinter(def: KindDef, output: Output | OutputSpec, withNamespace: boolean, withKind = false): Printer {
  const spec: OutputSpec = typeof output === 'string' ? { format: output } : output;
  switch (spec.format) {
    case 'table':
    case 'wide': {
      const extras = { withKind, labelColumns: spec.labelColumns, showLabels: spec.showLabels, noHeaders: spec.noHeaders };
      return tablePrinter(kindTable(def, spec.format === 'wide', withNamespace, extras));
    }
    case 'custom-columns':
      return tablePrinter(customTable(spec.columns ?? [], spec.noHeaders ?? false));
    case 'name': {
      const name = (o: Obj): string => `${ref((o.kind && kindNamed(o.kind)) || def, o.metadata.name)}\n`;
      return { list: (items) => items.map(name).join(''), first: (items) => items.map(name).join(''), one: name };
    }
    case 'jsonpath': {
      const t = spec.template!;
      return { list: (items, single) => execute(t, single && items.length === 1 ? items[0] : listOf(items)), first: (items) => items.map((o) => execute(t, o)).join(''), one: (o) => execute(t, o) };
    }
    case 'json':
    case 'yaml':
      return documentPrinter(spec.format);
  }
}
