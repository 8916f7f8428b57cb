export interface Op {
  op: ' ' | '-' | '+';
  line: string;
}

/** Line diff from a longest common subsequence (inputs are small manifests). */
export function diffLines(a: string[], b: string[]): Op[] {
  const n = a.length;
  const m = b.length;
  const lcs = Array.from({ length: n + 1 }, () => new Uint32Array(m + 1));
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) lcs[i]![j] = a[i] === b[j] ? lcs[i + 1]![j + 1]! + 1 : Math.max(lcs[i + 1]![j]!, lcs[i]![j + 1]!);
  }
  const ops: Op[] = [];
  let i = 0;
  let j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && a[i] === b[j]) ops.push({ op: ' ', line: a[i++]! }), j++;
    else if (j >= m || (i < n && lcs[i + 1]![j]! >= lcs[i]![j + 1]!)) ops.push({ op: '-', line: a[i++]! });
    else ops.push({ op: '+', line: b[j++]! });
  }
  return ops;
}

/** A unified diff (`---`/`+++`, `@@` hunks with `context` lines), or '' when equal. */
export function unifiedDiff(from: string, to: string, fromName: string, toName: string, context = 3): string {
  const split = (s: string): string[] => (s ? s.replace(/\n$/, '').split('\n') : []);
  const ops = diffLines(split(from), split(to));
  const changed = ops.flatMap((o, k) => (o.op === ' ' ? [] : [k]));
  if (!changed.length) return '';
  const out = [`--- ${fromName}`, `+++ ${toName}`];
  let g = 0;
  while (g < changed.length) {
    // Changes closer than two contexts apart share a hunk.
    let last = g;
    while (last + 1 < changed.length && changed[last + 1]! - changed[last]! <= 2 * context) last++;
    const start = Math.max(0, changed[g]! - context);
    const end = Math.min(ops.length, changed[last]! + context + 1);
    const before = ops.slice(0, start);
    const hunk = ops.slice(start, end);
    const count = (xs: Op[], skip: Op['op']): number => xs.filter((o) => o.op !== skip).length;
    const oldLen = count(hunk, '+');
    const newLen = count(hunk, '-');
    const oldStart = count(before, '+') + (oldLen ? 1 : 0);
    const newStart = count(before, '-') + (newLen ? 1 : 0);
    out.push(`@@ -${oldStart},${oldLen} +${newStart},${newLen} @@`, ...hunk.map((o) => o.op + o.line));
    g = last + 1;
  }
  return `${out.join('\n')}\n`;
}
