#!/usr/bin/env node
// Loaded dynamically so even a broken install reports one line, not a module stack trace.
import('../pkg/cli/main.js').then(
  (m) => m.run(process.argv.slice(2), process.env),
  (e: unknown) => {
    process.stderr.write(`error: orlojctl failed to load: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}\n`);
    process.exit(1);
  },
);
