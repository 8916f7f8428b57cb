import type { KindDef } from '../api/kind.js';
import { kinds, lookupKind } from '../api/registry.js';
import type { Args, FlagDef } from './args.js';
import type { CliContext } from './context.js';
import { CliError, UsageError } from './errors.js';

/** One orlojctl subcommand; main.ts keeps the table of them. */
export interface Command {
  name: string;
  summary: string;
  /** Usage lines shown by `orlojctl <name> --help` (flags are appended). */
  usage: string;
  flags: FlagDef[];
  /** Resolves to the exit code. */
  run(ctx: CliContext, args: Args): Promise<number>;
}

/**
 * A command as main.ts lists it: what `orlojctl --help` shows, and its module, imported only
 * when the command runs (a call then loads only what that command needs).
 */
export interface CommandEntry {
  name: string;
  summary: string;
  load(): Promise<Command>;
}

/** Any spelling the registry accepts (`tw`, `task-webhooks`, `TaskWebhook`, ...). */
export function resolveKind(name: string): KindDef {
  const def = lookupKind(name);
  if (!def) throw new CliError(`the server doesn't have a resource type "${name}" (known: ${kindNames()})`);
  return def;
}

export function kindNames(): string {
  return kinds.map((k) => k.plural).join(', ');
}

/** `--dry-run` flag shared by the writing commands. */
export const DRY_RUN: FlagDef = { name: 'dry-run', type: 'bool', help: 'ask the server what would happen, change nothing' };

export const FILENAME: FlagDef = { name: 'filename', short: 'f', type: 'list', arg: 'FILE|DIR|-', help: 'manifest file, directory, or - for stdin (repeatable)' };
export const RECURSIVE: FlagDef = { name: 'recursive', short: 'R', type: 'bool', help: 'accepted for kubectl compatibility: directories are always read recursively' };

export function needFiles(args: Args, command: string): string[] {
  const files = args.list('filename');
  if (!files.length) throw new UsageError('-f FILE|DIR|- is required', command);
  return files;
}
