#!/usr/bin/env node
// Writes crds/*.yaml from the kind registry (make crds).
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { kinds } from '../pkg/api/registry.js';
import { renderCrds } from '../pkg/crd/generate.js';

const dir = process.argv[2] ?? 'crds';
mkdirSync(dir, { recursive: true });
for (const [file, text] of renderCrds(kinds)) {
  writeFileSync(join(dir, file), text);
  process.stdout.write(`wrote ${join(dir, file)}\n`);
}
