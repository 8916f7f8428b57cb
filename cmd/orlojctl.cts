#!/usr/bin/env node
// The orlojctl command as installed. It starts in one process per command, so its start-up is its
// speed: make build bundles the CLI (pkg/cli) into one CommonJS file and compiles all of it ahead
// of time into V8's code cache beside it. This launcher runs the bundle from that cache, with no
// ES module loader, no per-module resolution and no parsing.
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { Script } from 'node:vm';

const BUNDLE = join(__dirname, 'orlojctl', 'cli.cjs');
const CODE_CACHE = `${BUNDLE}.cache`;

interface Cli {
  run(argv: string[], env: NodeJS.ProcessEnv): Promise<void>;
}
type ModuleFunction = (exports: object, require: NodeJS.Require, module: { exports: object }, filename: string, dirname: string) => void;

function compile(source: Buffer, cachedData?: Buffer): Script {
  // Node's own CommonJS wrapper, so the bundle sees what a required module sees.
  return new Script(`(function (exports, require, module, __filename, __dirname) {${source.toString()}\n})`, { filename: BUNDLE, cachedData });
}

/** V8's code for this source. V8 checks a cache against the length of its source only, so the
 * cache file starts with the whole source it was made from (a comparison costs less than a digest). */
function cachedCode(source: Buffer): Buffer | undefined {
  let cache: Buffer;
  try {
    cache = readFileSync(CODE_CACHE);
  } catch {
    return undefined; // no cache: V8 compiles as it goes
  }
  return cache.subarray(0, source.length).equals(source) ? cache.subarray(source.length) : undefined;
}

/** Runs the bundle's top level; `fromCache`: V8 took the code cache instead of compiling. */
export function load(): { cli: Cli; fromCache: boolean } {
  const source = readFileSync(BUNDLE);
  const cachedData = cachedCode(source);
  const script = compile(source, cachedData);
  const module = { exports: {} };
  (script.runInThisContext() as ModuleFunction).call(module.exports, module.exports, createRequire(BUNDLE), module, BUNDLE, dirname(BUNDLE));
  return { cli: module.exports as Cli, fromCache: cachedData !== undefined && !script.cachedDataRejected };
}

/** Run by make build after bundling: V8's code for every function of the bundle, not only its top level. */
export function writeCodeCache(): void {
  // Loaded here only: no command needs node:v8.
  const { setFlagsFromString } = require('node:v8') as typeof import('node:v8');
  const source = readFileSync(BUNDLE);
  setFlagsFromString('--no-lazy');
  const script = compile(source);
  // Back to the default before serialising: V8 refuses a cache made under other flags.
  setFlagsFromString('--lazy');
  writeFileSync(CODE_CACHE, Buffer.concat([source, script.createCachedData()]));
}

if (require.main === module) {
  let cli: Cli;
  try {
    cli = load().cli;
  } catch (e) {
    // Even a broken install reports one line, not a stack trace.
    process.stderr.write(`error: orlojctl failed to load: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}\n`);
    process.exit(1);
  }
  void cli.run(process.argv.slice(2), process.env);
}
