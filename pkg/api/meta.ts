import type { Cause } from './errors.js';

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
const LABEL_NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;

export const DEFAULT_NAMESPACE = 'default';

export function nameProblem(name: unknown): string | undefined {
  if (typeof name !== 'string' || name === '') return 'is required';
  if (name.length > 63) return 'must be no more than 63 characters';
  if (!DNS1123_LABEL.test(name)) {
    return "must be a DNS-1123 label: lower case alphanumeric characters or '-', starting and ending with an alphanumeric character";
  }
  return undefined;
}

export function isValidLabelValue(v: string): boolean {
  return v.length <= 63 && LABEL_VALUE.test(v);
}

/** `prefix/name` label keys as in Kubernetes: optional DNS subdomain prefix, 63-char name. */
export function labelKeyProblem(key: string): string | undefined {
  const slash = key.lastIndexOf('/');
  const name = slash >= 0 ? key.slice(slash + 1) : key;
  const prefix = slash >= 0 ? key.slice(0, slash) : '';
  if (prefix && (prefix.length > 253 || !/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(prefix))) return 'prefix must be a DNS subdomain';
  if (name.length > 63 || !LABEL_NAME.test(name)) return 'name part must be 63 characters or less, alphanumeric, with - _ . inside';
  return undefined;
}

export function stringMapProblems(path: string, m: unknown, checkLabels: boolean): Cause[] {
  if (m === undefined) return [];
  if (m === null || typeof m !== 'object' || Array.isArray(m)) return [{ field: path, message: 'must be a map of strings' }];
  const causes: Cause[] = [];
  for (const [k, v] of Object.entries(m)) {
    if (typeof v !== 'string') causes.push({ field: `${path}.${k}`, message: 'must be a string' });
    else if (checkLabels && !isValidLabelValue(v)) causes.push({ field: `${path}.${k}`, message: 'invalid label value' });
    const kp = checkLabels ? labelKeyProblem(k) : undefined;
    if (kp) causes.push({ field: `${path}.${k}`, message: `invalid label key: ${kp}` });
  }
  return causes;
}

/** Now, to the second, as object timestamps show it. */
export const now = (): string => new Date().toISOString().replace(/\.\d+Z$/, 'Z');
