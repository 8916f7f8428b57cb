import { spawnSync } from 'node:child_process';
import { expect } from 'chai';
import { ORLOJD } from './orlojd.js';

export interface RefusalOptions {
  args?: string[];
  env?: NodeJS.ProcessEnv;
  /** Run as this user (the test must run as root). */
  uid?: number;
  gid?: number;
}

/**
 * Starts orlojd on `dataDir` and expects it to refuse: exit code 1 (2 with `usage`) and a
 * sentence, not a stack trace. Returns what it printed. One that starts anyway is killed
 * after 15 s and fails the test.
 */
export function refusedStart(dataDir: string, opts: RefusalOptions = {}, usage = false): string {
  const r = spawnSync(process.execPath, [ORLOJD, '--listen', '127.0.0.1:0', '--data-dir', dataDir, '--log-level', 'warn', ...(opts.args ?? [])], {
    env: { ...process.env, ORLOJ_CONFIG: `${dataDir}.config.json`, ...opts.env },
    encoding: 'utf8',
    timeout: 15_000,
    uid: opts.uid,
    gid: opts.gid,
  });
  const out = `${r.stdout}${r.stderr}`;
  expect(r.status, `orlojd did not refuse to start:\n${out}`).to.equal(usage ? 2 : 1);
  expect(out).not.to.match(/\n\s+at /);
  return out;
}
