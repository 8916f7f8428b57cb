import { stringify } from './yaml.js';
import type { KindDef } from '../api/kind.js';
import { UsageError } from './errors.js';
import { ref } from './manifests.js';
import { kindTable, type Obj } from './table.js';

export const OUTPUTS = ['table', 'wide', 'yaml', 'json', 'name'] as const;
export type Output = (typeof OUTPUTS)[number];

export function parseOutput(v: string | undefined): Output {
  const o = v ?? 'table';
  if (!(OUTPUTS as readonly string[]).includes(o)) throw new UsageError(`unknown output format "${o}" (use ${OUTPUTS.join(', ')})`, 'get');
  return o as Output;
}

/** Prints a list once, then (for watch) one object at a time in the same format. */
export interface Printer {
  list(items: Obj[], single: boolean): string;
  one(o: Obj): string;
}

export function makePrinter(def: KindDef, output: Output, withNamespace: boolean): Printer {
  switch (output) {
    case 'table':
    case 'wide': {
      const { table, row } = kindTable(def, output === 'wide', withNamespace);
      return { list: (items) => table.render(items.map(row)), one: (o) => table.line(row(o)) };
    }
    case 'name':
      return { list: (items) => items.map((o) => `${ref(def, o.metadata.name)}\n`).join(''), one: (o) => `${ref(def, o.metadata.name)}\n` };
    case 'json':
    case 'yaml': {
      const fmt = output === 'json' ? (v: unknown): string => `${JSON.stringify(v, null, 2)}\n` : (v: unknown): string => stringify(v, { lineWidth: 0 });
      const sep = output === 'yaml' ? '---\n' : '';
      return {
        list: (items, single) => fmt(single && items.length === 1 ? items[0] : { apiVersion: 'orloj.dev/v1', kind: 'List', items }),
        one: (o) => sep + fmt(o),
      };
    }
  }
}
