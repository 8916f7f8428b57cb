import { ApiError } from './errors.js';

/** One requirement of a Kubernetes label selector: `a=b`, `a!=b`, `a in (x,y)`, `a notin (x)`, `a`, `!a`. */
export type Requirement =
  | { key: string; op: 'in' | 'notin'; values: string[] }
  | { key: string; op: 'exists' | '!exists' };

/** Requirements one selector may hold: each is a subquery. */
export const MAX_REQUIREMENTS = 32;

export function parseSelector(text: string | undefined): Requirement[] {
  if (!text || !text.trim()) return [];
  const reqs: Requirement[] = [];
  // Split on commas that are not inside parentheses.
  for (const part of text.split(/,(?![^(]*\))/)) {
    const s = part.trim();
    let m: RegExpMatchArray | null;
    if ((m = s.match(/^([^\s!=()]+)\s*(==|=|!=)\s*([^\s,()]*)$/))) {
      reqs.push({ key: m[1]!, op: m[2] === '!=' ? 'notin' : 'in', values: [m[3]!] });
    } else if ((m = s.match(/^([^\s!=()]+)\s+(in|notin)\s*\(([^)]*)\)$/))) {
      reqs.push({ key: m[1]!, op: m[2] as 'in' | 'notin', values: m[3]!.split(',').map((v) => v.trim()) });
    } else if ((m = s.match(/^!\s*([^\s!=()]+)$/))) {
      reqs.push({ key: m[1]!, op: '!exists' });
    } else if ((m = s.match(/^([^\s!=()]+)$/))) {
      reqs.push({ key: m[1]!, op: 'exists' });
    } else {
      throw new ApiError('BadRequest', `invalid label selector "${text.length > 200 ? `${text.slice(0, 200)}…` : text}"`);
    }
  }
  const values = reqs.reduce((n, r) => n + ('values' in r ? r.values.length : 1), 0);
  if (reqs.length > MAX_REQUIREMENTS || values > MAX_REQUIREMENTS * 8) {
    throw new ApiError('BadRequest', `a label selector may hold at most ${MAX_REQUIREMENTS} requirements and ${MAX_REQUIREMENTS * 8} values`);
  }
  return reqs;
}

export function matchesSelector(labels: Record<string, string> | undefined, reqs: Requirement[]): boolean {
  const l = labels ?? {};
  return reqs.every((r) => {
    const has = Object.prototype.hasOwnProperty.call(l, r.key);
    switch (r.op) {
      case 'exists':
        return has;
      case '!exists':
        return !has;
      case 'in':
        return has && r.values.includes(l[r.key]!);
      case 'notin':
        return !has || !r.values.includes(l[r.key]!);
    }
  });
}
