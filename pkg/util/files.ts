// Files that hold credentials (the encryption key set, the generated admin token): created
// once, owner-only, and never through a link someone else put in their place.
import { randomBytes } from 'node:crypto';
import { closeSync, constants, fsyncSync, linkSync, lstatSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';

/**
 * Creates `path` with `text`, mode 0600, unless something already exists there (false).
 * The text goes to a new file of its own (`wx`) that is then linked into place: link()
 * never replaces or follows what exists at `path`, and no reader ever sees the file
 * half-written, even when two processes race. Both are synced before it returns, so what
 * is sealed with a new key never outlives the key.
 */
export function createPrivateFile(path: string, text: string): boolean {
  const tmp = `${path}.${randomBytes(6).toString('hex')}.tmp`;
  const fd = openSync(tmp, 'wx', 0o600);
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  try {
    linkSync(tmp, path);
    syncDir(dirname(path));
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    return false;
  } finally {
    rmSync(tmp, { force: true });
  }
}

function syncDir(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Reads a credential file orlojd created, refusing a symbolic link planted in its place. */
export function readPrivateFile(path: string): string {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ELOOP') throw new Error(`${path} is a symbolic link, not the file orlojd wrote: remove it`);
    throw e;
  }
  try {
    return readFileSync(fd, 'utf8');
  } finally {
    closeSync(fd);
  }
}

/** The file at `path`, created with `make()` first if nothing is there (or another process's, if it won the race). */
export function readOrCreatePrivateFile(path: string, make: () => string): { text: string; created: boolean } {
  const created = !lstatSync(path, { throwIfNoEntry: false }) && createPrivateFile(path, make());
  return { text: readPrivateFile(path), created };
}
