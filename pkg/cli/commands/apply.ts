import type { Args } from '../args.js';
import { nsQuery, resourcePath } from '../client.js';
import { DRY_RUN, FILENAME, RECURSIVE, needFiles, type Command } from '../command.js';
import type { CliContext } from '../context.js';
import { ServerError, UsageError } from '../errors.js';
import { loadManifests, manifestNamespace, ref, sortForApply, where } from '../manifests.js';

async function run(ctx: CliContext, args: Args): Promise<number> {
  if (args.positionals.length) throw new UsageError(`unexpected argument "${args.positionals[0]}" (files go after -f)`, 'apply');
  // Parse and resolve every document first: a bad one stops everything before any write.
  const manifests = sortForApply(loadManifests(needFiles(args, 'apply')));
  const dryRun = args.bool('dry-run');
  let failed = 0;
  for (const m of manifests) {
    const name = m.obj.metadata.name;
    const query = { ...nsQuery(m.def, manifestNamespace(m, ctx.namespace)), dryRun: dryRun ? 'true' : undefined };
    try {
      const reply = await ctx.client.request('PUT', resourcePath(m.def, name), query, m.obj);
      const result = reply.headers.get('x-orloj-result') ?? (reply.status === 201 ? 'created' : 'configured');
      ctx.out(`${ref(m.def, name)} ${result}${dryRun ? ' (dry run)' : ''}\n`);
    } catch (e) {
      // A server refusal is about this document only: report it and go on with the rest.
      if (!(e instanceof ServerError)) throw e;
      process.stderr.write(`${where(m)}: ${e.message}\n`);
      failed++;
    }
  }
  return failed ? 1 : 0;
}

export const applyCommand: Command = {
  name: 'apply',
  summary: 'Create or update resources from YAML/JSON files (multi-document), in dependency order',
  usage: 'orlojctl apply -f FILE|DIR|- [-f ...] [-R] [--dry-run]',
  flags: [FILENAME, RECURSIVE, DRY_RUN],
  run,
};
