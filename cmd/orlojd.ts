#!/usr/bin/env node
import { startDaemon } from '../pkg/daemon/daemon.js';
import { USAGE, UsageError, parseDaemonOptions } from '../pkg/daemon/options.js';

async function main(): Promise<void> {
  const opts = parseDaemonOptions(process.argv.slice(2), process.env);
  if (opts === 'help') {
    process.stdout.write(USAGE);
    return;
  }
  const daemon = await startDaemon(opts);
  let stopping = false;
  const stop = (signal: NodeJS.Signals): void => {
    if (stopping) return;
    stopping = true;
    daemon.close(signal).then(
      () => process.exit(0),
      (e: unknown) => {
        process.stderr.write(`orlojd: shutdown failed: ${(e as Error).message}\n`);
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

main().catch((e: unknown) => {
  const msg = e instanceof UsageError ? e.message : `orlojd: ${(e as Error).message}`;
  process.stderr.write(`${msg}\n`);
  process.exit(e instanceof UsageError ? 2 : 1);
});
