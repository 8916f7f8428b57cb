import { commandIndex, flagHelp, parseArgs } from './args.js';
import type { Command } from './command.js';
import { applyCommand } from './commands/apply.js';
import { createCommand } from './commands/create.js';
import { deleteCommand } from './commands/delete.js';
import { describeCommand } from './commands/describe.js';
import { diffCommand } from './commands/diff.js';
import { getCommand } from './commands/get.js';
import { inboundWebhookCommand } from './commands/inbound-webhook.js';
import { promoteCommand } from './commands/promote.js';
import { triggerCommand } from './commands/trigger.js';
import { versionCommand } from './commands/version.js';
import { waitCommand } from './commands/wait.js';
import { webhookCommand } from './commands/webhook.js';
import { GLOBAL_FLAGS, makeContext } from './context.js';
import { CliError, UsageError, describeError } from './errors.js';

/**
 * Every subcommand. A new one (`webhook send|rotate-endpoint`, `promote`, ...) is a file
 * under commands/ and one line here; `get deliveries` plugs into commands/get.ts.
 */
export const commands: Command[] = [
  applyCommand,
  getCommand,
  describeCommand,
  deleteCommand,
  diffCommand,
  waitCommand,
  createCommand,
  webhookCommand,
  inboundWebhookCommand,
  triggerCommand,
  promoteCommand,
  versionCommand,
];

function usage(): string {
  const w = Math.max(...commands.map((c) => c.name.length));
  return [
    'orlojctl: the command line for orlojd, the Orloj webhook control plane.',
    '',
    'Usage: orlojctl [global flags] COMMAND [args]',
    '',
    'Commands:',
    ...commands.map((c) => `  ${c.name.padEnd(w)}  ${c.summary}`),
    '',
    'Global flags:',
    flagHelp(GLOBAL_FLAGS),
    '',
    "Run 'orlojctl COMMAND --help' for a command's usage.",
    '',
  ].join('\n');
}

function commandUsage(c: Command): string {
  return `${c.summary}\n\nUsage:\n${c.usage.replace(/^/gm, '  ')}\n\nFlags:\n${flagHelp(c.flags)}\n\nGlobal flags:\n${flagHelp(GLOBAL_FLAGS)}\n`;
}

export async function main(argv: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const i = commandIndex(argv, GLOBAL_FLAGS);
  if (i < 0) {
    const help = parseArgs(argv, GLOBAL_FLAGS).bool('help');
    (help ? process.stdout : process.stderr).write(usage());
    return help ? 0 : 2;
  }
  const name = argv[i]!;
  if (name === 'help') {
    const c = commands.find((x) => x.name === argv[i + 1]);
    process.stdout.write(c ? commandUsage(c) : usage());
    return 0;
  }
  const cmd = commands.find((c) => c.name === name);
  if (!cmd) throw new UsageError(`unknown command "${name}"`);
  const args = parseArgs([...argv.slice(0, i), ...argv.slice(i + 1)], [...GLOBAL_FLAGS, ...cmd.flags], cmd.name);
  if (args.bool('help')) {
    process.stdout.write(commandUsage(cmd));
    return 0;
  }
  return cmd.run(makeContext(args, env), args);
}

/** Runs the CLI and exits once stdout and stderr are flushed; errors never show a stack. */
export async function run(argv: string[], env: NodeJS.ProcessEnv): Promise<void> {
  // A closed pipe (`orlojctl get ... | head`) ends the output, not with a stack trace.
  process.stdout.on('error', () => process.exit(0));
  let code: number;
  try {
    code = await main(argv, env);
  } catch (e) {
    process.stderr.write(`${describeError(e)}\n`);
    if (e instanceof UsageError) process.stderr.write(`See 'orlojctl ${e.command ? `${e.command} ` : ''}--help' for usage.\n`);
    code = e instanceof CliError ? e.exitCode : 1;
  }
  let pending = 2;
  const done = (): void => void (--pending === 0 && process.exit(code));
  process.stdout.write('', done);
  process.stderr.write('', done);
}
