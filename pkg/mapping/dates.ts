// Date formats a mapping converts between. Patterns (YYYY, MM, DD, HH, mm, ss) are read
// and written in UTC; `rfc3339` is written without fractional seconds when there are none.

import type { Json } from './paths.js';

export const NAMED_FORMATS = ['rfc3339', 'unix', 'unix_ms'] as const;
const TOKENS: Record<string, { re: string; part: keyof Parts }> = {
  YYYY: { re: '(\\d{4})', part: 'year' },
  MM: { re: '(\\d{1,2})', part: 'month' },
  DD: { re: '(\\d{1,2})', part: 'day' },
  HH: { re: '(\\d{1,2})', part: 'hour' },
  mm: { re: '(\\d{1,2})', part: 'minute' },
  ss: { re: '(\\d{1,2})', part: 'second' },
};
const TOKEN_RE = /YYYY|MM|DD|HH|mm|ss/g;

interface Parts {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
}

/** Why a format cannot be used, or undefined. */
export function formatProblem(format: unknown): string | undefined {
  if (typeof format !== 'string' || !format) return 'must be a date format';
  if ((NAMED_FORMATS as readonly string[]).includes(format)) return undefined;
  const tokens: string[] = format.match(TOKEN_RE) ?? [];
  if (!tokens.includes('YYYY') || !tokens.includes('MM') || !tokens.includes('DD')) {
    return `"${format}" must be rfc3339, unix, unix_ms or a pattern with YYYY, MM and DD`;
  }
  return new Set(tokens).size === tokens.length ? undefined : `"${format}" repeats a token`;
}

const escape = (s: string): string => s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

function parsePattern(format: string, value: string): number | undefined {
  const parts: Partial<Parts> = {};
  const order: Array<keyof Parts> = [];
  let re = '';
  let last = 0;
  for (const m of format.matchAll(TOKEN_RE)) {
    re += escape(format.slice(last, m.index)) + TOKENS[m[0]]!.re;
    order.push(TOKENS[m[0]]!.part);
    last = m.index! + m[0].length;
  }
  const match = new RegExp(`^${re}${escape(format.slice(last))}$`).exec(value);
  if (!match) return undefined;
  order.forEach((p, i) => (parts[p] = Number(match[i + 1])));
  const { year = 0, month = 1, day = 1, hour = 0, minute = 0, second = 0 } = parts;
  const ms = Date.UTC(year, month - 1, day, hour, minute, second);
  const d = new Date(ms);
  // Date.UTC rolls 02/31 over into March: a day that does not exist is not a date.
  return d.getUTCMonth() === month - 1 && d.getUTCDate() === day ? ms : undefined;
}

function formatPattern(format: string, ms: number): string {
  const d = new Date(ms);
  const pad = (n: number, w = 2): string => String(n).padStart(w, '0');
  const values: Record<string, string> = {
    YYYY: pad(d.getUTCFullYear(), 4),
    MM: pad(d.getUTCMonth() + 1),
    DD: pad(d.getUTCDate()),
    HH: pad(d.getUTCHours()),
    mm: pad(d.getUTCMinutes()),
    ss: pad(d.getUTCSeconds()),
  };
  return format.replace(TOKEN_RE, (t) => values[t]!);
}

const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;

/** Milliseconds since the epoch, or undefined when the value is not a date in `format`. */
export function parseDate(format: string, value: Json): number | undefined {
  if (format === 'unix' || format === 'unix_ms') {
    const n = typeof value === 'number' ? value : typeof value === 'string' && /^-?\d+(\.\d+)?$/.test(value) ? Number(value) : NaN;
    if (!Number.isFinite(n)) return undefined;
    return format === 'unix' ? Math.round(n * 1000) : n;
  }
  if (typeof value !== 'string') return undefined;
  if (format === 'rfc3339') {
    const ms = RFC3339.test(value) ? Date.parse(value) : NaN;
    return Number.isNaN(ms) ? undefined : ms;
  }
  return parsePattern(format, value);
}

export function formatDate(format: string, ms: number): Json {
  if (format === 'unix') return ms / 1000;
  if (format === 'unix_ms') return ms;
  if (format === 'rfc3339') return new Date(ms).toISOString().replace('.000Z', 'Z');
  return formatPattern(format, ms);
}
