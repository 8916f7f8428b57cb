// orlojctl edit: an object opened in $EDITOR as YAML and written back with a PUT at the
// resourceVersion it was read at, as kubectl edit does. A refusal the user can fix (400, 422)
// reopens the file with the error on top; anything else stops, keeping the edited copy.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deepEqual } from '../../util/json.js';
import type { Args } from '../args.js';
import { nsQuery, resourcePath } from '../client.js';
import type { Command } from '../command.js';
import type { CliContext } from '../context.js';
import { CliError, ServerError } from '../errors.js';
import { ref } from '../manifests.js';
import type { Obj } from '../table.js';
import { parse as parseYaml, stringify } from '../yaml.js';
import { oneTarget, refuseAllNamespaces, type Target } from './patch.js';

const HEADER = [
  '# Please edit the object below. Lines beginning with a \'#\' will be ignored,',
  '# and an empty file will abort the edit. If an error occurs while saving this file will be',
  '# reopened with the relevant failures.',
  '#',
].join('\n');

/** ORLOJ_EDITOR, EDITOR, VISUAL, else vi; split on spaces (`code -w`), or run by sh when it quotes. */
export function editorCommand(env: NodeJS.ProcessEnv): { cmd: string; args: string[] } {
  const editor = [env.ORLOJ_EDITOR, env.EDITOR, env.VISUAL].find((e) => e && e.trim()) ?? 'vi';
  if (/["'\\]/.test(editor)) return { cmd: 'sh', args: ['-c', `${editor} "$1"`, 'sh'] };
  const [cmd, ...args] = editor.trim().split(/\s+/);
  return { cmd: cmd!, args };
}

function openEditor(file: string): void {
  const { cmd, args } = editorCommand(process.env);
  const r = spawnSync(cmd, [...args, file], { stdio: 'inherit' });
  if (r.error) throw new CliError(`cannot start the editor "${cmd}": ${(r.error as NodeJS.ErrnoException).code ?? r.error.message}`);
  if (r.status !== 0) throw new CliError(`the editor "${cmd}" exited with ${r.status ?? r.signal}: edit cancelled, no changes made`);
}

/**
 * The text without the comment lines above the object (the header, and the error of a reopened
 * file); further down a `#` line may be data, inside a block scalar.
 */
function withoutComments(text: string): string {
  const lines = text.split('\n');
  const first = lines.findIndex((l) => l.trim() !== '' && !l.trimStart().startsWith('#'));
  return first < 0 ? '' : lines.slice(first).join('\n');
}

const commented = (message: string): string => message.split('\n').map((l) => `# ${l}`.trimEnd()).join('\n');

/** Parses the edited text; a YAML problem, or a change of what names the object, is an error to show. */
function readEdited(text: string, original: Obj): { obj?: Obj; problem?: string } {
  let value: unknown;
  try {
    value = parseYaml(text);
  } catch (e) {
    return { problem: `the file is not valid YAML: ${(e as Error).message.split('\n')[0]}` };
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return { problem: 'the file must hold one object' };
  const obj = value as Obj;
  const same = (a: unknown, b: unknown): boolean => a === b;
  if (!same(obj.kind, original.kind) || !same(obj.metadata?.name, original.metadata.name) || !same(obj.metadata?.namespace, original.metadata.namespace)) {
    return { problem: 'the kind, name and namespace of an object cannot be edited (create a new object instead)' };
  }
  return { obj };
}

class Session {
  readonly dir = mkdtempSync(join(tmpdir(), 'orlojctl-edit-'));
  readonly file: string;
  keep = false;

  constructor(t: Target) {
    this.file = join(this.dir, `${t.def.singular}-${t.name}.yaml`);
  }

  /** Writes `text` (owner-only), opens the editor, returns what was saved. */
  edit(text: string): string {
    rmSync(this.file, { force: true });
    writeFileSync(this.file, text, { mode: 0o600, flag: 'wx' });
    openEditor(this.file);
    return readFileSync(this.file, 'utf8');
  }

  /** A failure that leaves the user's changes on disk, saying where. */
  kept(message: string): CliError {
    this.keep = true;
    return new CliError(`${message}\nA copy of your changes has been stored to "${this.file}"`);
  }

  close(): void {
    if (!this.keep) rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Runs `f`; a failure of the editor after a first round keeps what the user had edited. */
function keepOnFailure(s: Session, f: () => string): string {
  try {
    return f();
  } catch (e) {
    throw e instanceof CliError ? s.kept(e.message) : e;
  }
}

async function editLoop(ctx: CliContext, t: Target, s: Session): Promise<number> {
  const path = resourcePath(t.def, t.name);
  const query = nsQuery(t.def, ctx.namespace);
  const original = await ctx.client.get<Obj>(path, query);
  let text = `${HEADER}\n${stringify(original, { lineWidth: 0 })}`;
  let failed: { obj: Obj | undefined; error: string } | undefined;
  for (;;) {
    const saved = withoutComments(failed ? keepOnFailure(s, () => s.edit(text)) : s.edit(text));
    if (!saved.trim()) return void ctx.out('Edit cancelled, saved file was empty.\n'), 0;
    const { obj, problem } = readEdited(saved, original);
    if (obj && deepEqual(obj, original)) return void ctx.out('Edit cancelled, no changes made.\n'), 0;
    // Saved again as it was reopened: the user gives up on the error shown.
    if (failed && (obj ? deepEqual(obj, failed.obj) : saved === withoutComments(text))) {
      throw s.kept(`${failed.error}\nerror: Edit cancelled, no valid changes were saved.`);
    }
    const error = problem ?? (await put(ctx, t, obj!, original, s));
    if (error === undefined) return 0;
    failed = { obj, error };
    text = `${HEADER}\n${commented(error)}\n#\n${saved.replace(/^\n+/, '')}`;
  }
}

/** PUTs the edited object at the original version: undefined when it held, the refusal to show when the user can fix it. */
async function put(ctx: CliContext, t: Target, obj: Obj, original: Obj, s: Session): Promise<string | undefined> {
  const body = { ...obj, metadata: { ...obj.metadata, resourceVersion: original.metadata.resourceVersion } };
  try {
    const reply = await ctx.client.request('PUT', resourcePath(t.def, t.name), nsQuery(t.def, ctx.namespace), body);
    const unchanged = reply.headers.get('x-orloj-result') === 'unchanged';
    ctx.out(`${ref(t.def, t.name)} ${unchanged ? 'unchanged (status and system metadata are not written by edit)' : 'edited'}\n`);
    return undefined;
  } catch (e) {
    if (!(e instanceof ServerError)) throw e;
    if (e.code === 400 || e.code === 422) return e.message;
    if (e.code === 409) throw s.kept(`${e.message}\n${ref(t.def, t.name)} was changed by someone else while you edited it: run edit again to start from the new version.`);
    throw s.kept(e.message);
  }
}

async function run(ctx: CliContext, args: Args): Promise<number> {
  refuseAllNamespaces(ctx, 'edit');
  const t = oneTarget(args.positionals, 'edit');
  if (t.def.redact) {
    throw new CliError(
      `edit does not open ${t.def.plural}: it would write their values to disk. Change one with a manifest (spec.stringData) and ` +
        `\`orlojctl apply -f FILE\`, or \`orlojctl patch ${t.def.singular} ${t.name} --patch-file FILE\` with {"spec":{"stringData":{"KEY":"VALUE"}}}; ` +
        `its labels and annotations with \`orlojctl label\` and \`orlojctl annotate\`.`,
    );
  }
  const s = new Session(t);
  try {
    return await editLoop(ctx, t, s);
  } finally {
    s.close();
  }
}

export const editCommand: Command = {
  name: 'edit',
  summary: 'Edit an object in $EDITOR and save it back at the version read (409 if it changed meanwhile)',
  usage: [
    'orlojctl edit KIND NAME',
    'orlojctl edit KIND/NAME',
    '',
    'The editor is $ORLOJ_EDITOR, $EDITOR or $VISUAL (vi when none is set), e.g. EDITOR="code -w".',
    'Secrets are not opened: their values would be written to disk.',
  ].join('\n'),
  flags: [],
  run,
};
