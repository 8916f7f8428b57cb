import { readdirSync, readFileSync, statSync } from 'node:fs';
import { extname, join } from 'node:path';
import { parseAllDocuments } from './yaml.js';
import type { KindDef } from '../api/kind.js';
import { applyOrder, kindNamed, unknownKind } from '../api/registry.js';
import { CliError } from './errors.js';
import type { Obj } from './table.js';

/** One resource read from a file: where it came from, and its resolved kind. */
export interface Manifest {
  source: string;
  /** 1-based document number within its file. */
  doc: number;
  def: KindDef;
  obj: Obj;
}

const MANIFEST_EXT = new Set(['.yaml', '.yml', '.json']);

/**
 * Entry names a directory's `.orlojignore` lists, one a line (`#` comments): manifests that are
 * not for orlojctl, such as examples/kubernetes/, which kubectl applies in Kubernetes mode.
 */
function ignored(dir: string): Set<string> {
  let text: string;
  try {
    text = readFileSync(join(dir, '.orlojignore'), 'utf8');
  } catch {
    return new Set();
  }
  return new Set(text.split('\n').map((l) => l.replace(/#.*/, '').trim().replace(/\/$/, '')).filter(Boolean));
}

/** A directory stands for every manifest below it, so `apply -f examples/` takes the whole tree. */
function listDir(dir: string): string[] {
  const out: string[] = [];
  const skip = ignored(dir);
  for (const e of readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
    if (skip.has(e.name)) continue;
    const p = join(dir, e.name);
    if (e.isDirectory()) {
      out.push(...listDir(p));
    } else if (MANIFEST_EXT.has(extname(e.name).toLowerCase())) out.push(p);
  }
  return out;
}

function readSource(path: string): string {
  if (path === '-') return readFileSync(0, 'utf8');
  return readFileSync(path, 'utf8');
}

/** Files named by -f (DIR expands to every manifest below it; `-` is stdin). */
export function expandPaths(paths: string[]): string[] {
  const files: string[] = [];
  for (const p of paths) {
    if (p === '-') {
      files.push(p);
      continue;
    }
    let dir: boolean;
    try {
      dir = statSync(p).isDirectory();
    } catch {
      throw new CliError(`the path "${p}" does not exist`);
    }
    files.push(...(dir ? listDir(p) : [p]));
  }
  return files;
}

/** The line and message of a YAML error, without yaml's source excerpt. */
function yamlProblem(e: { message: string; linePos?: [{ line: number }, ...unknown[]] }): string {
  const msg = e.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
  return e.linePos ? `line ${e.linePos[0].line}: ${msg}` : msg;
}

function toManifests(source: string, doc: number, value: unknown, problems: string[]): Manifest[] {
  const where = `${source === '-' ? '<stdin>' : source}: document ${doc}`;
  if (value === null || value === undefined) return []; // an empty document (e.g. a trailing ---)
  if (typeof value !== 'object' || Array.isArray(value)) return void problems.push(`${where}: not an object`), [];
  const o = value as Obj;
  // `kind: List` (what `get -o yaml` prints for several objects) applies its items.
  if (typeof o.kind === 'string' && o.kind.endsWith('List') && Array.isArray(o.items)) {
    return (o.items as unknown[]).flatMap((item) => toManifests(source, doc, item, problems));
  }
  if (typeof o.kind !== 'string' || !o.kind) return void problems.push(`${where}: kind is required`), [];
  // Exact, as the server takes it: `kind: task` is refused with a pointer to `Task`.
  const def = kindNamed(o.kind);
  if (!def) return void problems.push(`${where}: ${unknownKind(o.kind)}`), [];
  const meta = o.metadata as Obj['metadata'] | undefined;
  if (!meta || typeof meta !== 'object' || typeof meta.name !== 'string' || !meta.name) {
    return void problems.push(`${where}: metadata.name is required`), [];
  }
  return [{ source: source === '-' ? '<stdin>' : source, doc, def, obj: o }];
}

/**
 * Reads and checks every document before anything is sent: one bad document fails the
 * whole set, so a typo never leaves a half-applied change.
 */
export function loadManifests(paths: string[]): Manifest[] {
  const problems: string[] = [];
  const out: Manifest[] = [];
  for (const file of expandPaths(paths)) {
    let text: string;
    try {
      text = readSource(file);
    } catch (e) {
      problems.push(`${file}: ${(e as Error).message}`);
      continue;
    }
    parseAllDocuments(text).forEach((d, i) => {
      if (d.errors.length) problems.push(...d.errors.map((e) => `${file === '-' ? '<stdin>' : file}: document ${i + 1}: ${yamlProblem(e)}`));
      else out.push(...toManifests(file, i + 1, d.toJS(), problems));
    });
  }
  if (problems.length) throw new CliError(problems.join('\nerror: '));
  if (!out.length) throw new CliError('no objects passed (the files hold no documents)');
  return out;
}

/** Namespaces first, then Secrets, Tasks, ...; file order within a kind (sort is stable). */
export function sortForApply(ms: Manifest[]): Manifest[] {
  return [...ms].sort((a, b) => applyOrder(a.def.kind) - applyOrder(b.def.kind));
}

export function manifestNamespace(m: Manifest, fallback: string): string {
  return m.obj.metadata.namespace || fallback;
}

/** `task-webhook/foo`: how the CLI names an object in its output. */
export function ref(def: KindDef, name: string): string {
  return `${def.singular}/${name}`;
}

export function where(m: Manifest): string {
  return `${m.source}: document ${m.doc}`;
}

/**
 * Requests under way at once within a group: enough to keep the server's group commits
 * full and both cores busy, few enough not to queue behind one another.
 */
export const PARALLEL = 16;

/**
 * Runs `fn` on every item, up to `parallel` at once within each run of items that share
 * `group(item)`; a run finishes before the next starts (later kinds reference earlier ones).
 * `done` sees each result in item order, as soon as those before it are in. An error `fn`
 * throws starts nothing new and is rethrown once the calls under way have ended.
 */
export async function inGroups<T, R>(items: T[], group: (t: T) => number, fn: (t: T) => Promise<R>, done: (t: T, r: R) => void, parallel = PARALLEL): Promise<void> {
  const results = new Map<number, R>();
  let printed = 0;
  let failure: { error: unknown } | undefined;
  for (let start = 0; start < items.length && !failure; ) {
    let end = start;
    while (end < items.length && group(items[end]!) === group(items[start]!)) end++;
    let next = start;
    const worker = async (): Promise<void> => {
      while (!failure && next < end) {
        const i = next++;
        try {
          results.set(i, await fn(items[i]!));
        } catch (error) {
          failure ??= { error };
        }
        for (; results.has(printed); printed++) done(items[printed]!, results.get(printed)!), results.delete(printed);
      }
    };
    await Promise.all(Array.from({ length: Math.min(parallel, end - start) }, worker));
    start = end;
  }
  if (failure) throw failure.error;
}
