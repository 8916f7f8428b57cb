import { VERSION } from '../../version.js';
import type { Args } from '../args.js';
import type { Command } from '../command.js';
import type { CliContext } from '../context.js';
import { CliError, ConnectionError } from '../errors.js';

async function run(ctx: CliContext, args: Args): Promise<number> {
  ctx.out(`Client Version: ${VERSION}\n`);
  if (args.bool('client')) return 0;
  try {
    const v = await ctx.client.get<{ version?: string }>('/version');
    ctx.out(`Server Version: ${v.version ?? 'unknown'}\n`);
    return 0;
  } catch (e) {
    if (!(e instanceof CliError)) throw e;
    const why = e instanceof ConnectionError ? e.message : `${ctx.client.server}: ${e.message}`;
    ctx.out(`Server Version: unreachable\n`);
    process.stderr.write(`error: ${why}\n`);
    return 1;
  }
}

export const versionCommand: Command = {
  name: 'version',
  summary: 'Print the client and server versions',
  usage: 'orlojctl version [--client]',
  flags: [{ name: 'client', type: 'bool', help: 'print the client version only (no server call)' }],
  run,
};
