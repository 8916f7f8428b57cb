// The data dir holds the store, the encryption keys and the admin token: it is 0700 and
// its files 0600, checked at every start, since a copy or an archive may have loosened them.
import { chmodSync, lstatSync, mkdirSync, readdirSync, statSync, type Stats } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';

const octal = (mode: number): string => `0${(mode & 0o777).toString(8)}`;

/** Takes group and other permissions off `path`; one orlojd cannot change (another user's) stops the start. */
function tighten(path: string, st: Stats, log: Logger): void {
  if ((st.mode & 0o077) === 0) return;
  const want = st.mode & 0o700;
  try {
    chmodSync(path, want);
  } catch (e) {
    const why = (e as NodeJS.ErrnoException).code ?? (e as Error).message;
    throw new Error(`${path} is open to other users (mode ${octal(st.mode)}) and orlojd cannot make it ${octal(want)} (${why}): chmod it, or run orlojd as its owner`);
  }
  log.warn({ path, from: octal(st.mode), to: octal(want) }, 'tightened a data dir mode that let other users in');
}

/** Creates the data dir owner-only, or tightens it and what it holds. */
export function secureDataDir(dir: string, log: Logger): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  tighten(dir, statSync(dir), log);
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    const st = lstatSync(path);
    // A symbolic link has no mode of its own, and chmod would change what it points at.
    if (!st.isSymbolicLink()) tighten(path, st, log);
  }
}
