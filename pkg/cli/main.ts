import { commandIndex, flagHelp, parseArgs } from './args.js';
import type { Command, CommandEntry } from './command.js';
import { GLOBAL_FLAGS, makeContext } from './context.js';
import { CliError, UsageError, describeError } from './errors.js';

/**
 * Every subcommand, by name and summary (what `orlojctl --help` lists); a command's module is
 * imported only when that command runs, so a call loads what it needs and nothing else. A new
 * command (`webhook send|rotate-endpoint`, `promote`, ...) is a file under commands/ and one
 * entry here, its summary the same as its module's (a test compares them); `get deliveries`
 * plugs into commands/get.ts.
 */
export const commands: CommandEntry[] = [
  {
    name: 'apply',
    summary: 'Create or update resources from YAML/JSON files (multi-document), in dependency order',
    load: async () => (await import('./commands/apply.js')).applyCommand,
  },
  {
    name: 'get',
    summary: 'List resources or show one, as a table, YAML, JSON or names; -w follows changes',
    load: async () => (await import('./commands/get.js')).getCommand,
  },
  {
    name: 'describe',
    summary: 'Show a resource in detail (metadata, spec, status, conditions, recent deliveries and events), or one delivery end to end',
    load: async () => (await import('./commands/describe.js')).describeCommand,
  },
  {
    name: 'explain',
    summary: "Describe a kind's fields, from the schema the server validates with",
    load: async () => (await import('./commands/explain.js')).explainCommand,
  },
  {
    name: 'delete',
    summary: 'Delete resources by kind and name, by label selector or all of a kind, or those named in files',
    load: async () => (await import('./commands/delete.js')).deleteCommand,
  },
  {
    name: 'edit',
    summary: 'Edit an object in $EDITOR and save it back at the version read (409 if it changed meanwhile)',
    load: async () => (await import('./commands/edit.js')).editCommand,
  },
  {
    name: 'patch',
    summary: "Change an object's spec, labels or annotations with a merge or JSON patch",
    load: async () => (await import('./commands/patch.js')).patchCommand,
  },
  {
    name: 'label',
    summary: 'Set or remove labels of objects (k=v, k-)',
    load: async () => (await import('./commands/label.js')).labelCommand,
  },
  {
    name: 'annotate',
    summary: 'Set or remove annotations of objects (k=v, k-)',
    load: async () => (await import('./commands/label.js')).annotateCommand,
  },
  {
    name: 'diff',
    summary: 'Show what apply would change (exit 0: none, 1: differences, 2: error)',
    load: async () => (await import('./commands/diff.js')).diffCommand,
  },
  {
    name: 'wait',
    summary: 'Wait until resources meet a condition (or are deleted)',
    load: async () => (await import('./commands/wait.js')).waitCommand,
  },
  {
    name: 'create',
    summary: 'Create a Secret from literal values or files, or an InboundWebhook or Trigger from flags',
    load: async () => (await import('./commands/create.js')).createCommand,
  },
  {
    name: 'webhook',
    summary: "Send a delivery signed with a webhook's own secret and scheme, or rotate its endpoint",
    load: async () => (await import('./commands/webhook.js')).webhookCommand,
  },
  {
    name: 'inbound-webhook',
    summary: "Show an InboundWebhook's delivery records, newest first, or redeliver a hydration that failed",
    load: async () => (await import('./commands/inbound-webhook.js')).inboundWebhookCommand,
  },
  {
    name: 'trigger',
    summary: "Redeliver a Trigger's dead-lettered change, or resume a Trigger its destination stopped (410 Gone)",
    load: async () => (await import('./commands/trigger.js')).triggerCommand,
  },
  {
    name: 'promote',
    summary: "Copy a preview namespace's receivers and triggers (and what they reference) into a production namespace, all or nothing",
    load: async () => (await import('./commands/promote.js')).promoteCommand,
  },
  {
    name: 'api-resources',
    summary: 'List the resource types: name, short names, API version, whether namespaced, kind',
    load: async () => (await import('./commands/api-resources.js')).apiResourcesCommand,
  },
  {
    name: 'config',
    summary: 'Show and edit the client config: contexts (server, token, namespace) and which one is current',
    load: async () => (await import('./commands/config.js')).configCommand,
  },
  {
    name: 'completion',
    summary: 'Print a bash or zsh completion script: commands, flags, kinds and object names',
    load: async () => (await import('./commands/completion.js')).completionCommand,
  },
  {
    name: 'version',
    summary: 'Print the client and server versions',
    load: async () => (await import('./commands/version.js')).versionCommand,
  },
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
    process.stdout.write(c ? commandUsage(await c.load()) : usage());
    return 0;
  }
  const entry = commands.find((c) => c.name === name);
  if (!entry) throw new UsageError(`unknown command "${name}"`);
  const cmd = await entry.load();
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
