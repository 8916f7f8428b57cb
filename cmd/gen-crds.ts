#!/usr/bin/env node
// Writes crds/*.yaml from the kind registry (make crds).
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { kinds } from '../pkg/api/registry.js';
import { GROUP, renderCrds } from '../pkg/crd/generate.js';

const dir = process.argv[2] ?? 'crds';
mkdirSync(dir, { recursive: true });
const crds = renderCrds(kinds);
// A kind that is no longer a CRD must not stay behind for `kubectl apply -f crds/`.
for (const file of readdirSync(dir)) {
  if (file.startsWith(`${GROUP}_`) && file.endsWith('.yaml') && !crds.has(file)) {
    rmSync(join(dir, file));
    process.stdout.write(`removed ${join(dir, file)}\n`);
  }
}
for (const [file, text] of crds) {
  writeFileSync(join(dir, file), text);
  process.stdout.write(`wrote ${join(dir, file)}\n`);
}
