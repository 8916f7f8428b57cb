// Files that hold credentials (the encryption key set, the generated admin token, the client
// config's tokens): owner-only, written whole and synced, never seen half-written.
import { closeSync, constants, fsyncSync, linkSync, lstatSync, mkdirSync, openSync, readFileSync, realpathSync, renameSync, rmSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

/**
 * Creates `path` with `text`, mode 0600, unless something already exists there (false).
 * The text goes to a new file of its own (`wx`) that is then linked into place: link()
 * never replaces or follows what exists at `path`, and no reader ever sees the file
 * half-written, even when two processes race. Both are synced before it returns, so what
 * is sealed with a new key never outlives the key.
 */
export function createPrivateFile(path: string, text: string): boolean {
  const tmp = `${path}.${uniqueSuffix()}.tmp`;
  writeNewSynced(tmp, text);
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

/**
 * Replaces the file at `path` (or the file a link there points at, so a linked config stays
 * linked) whole: the text goes to an owner-only file beside it, synced, then renamed over it,
 * so a crash leaves the old file or the new one, never a part of either. A missing directory
 * is made 0700.
 */
export function replacePrivateFile(path: string, text: string): void {
  const target = linkTarget(path);
  const dir = dirname(target);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const tmp = join(dir, `.${basename(target)}.${uniqueSuffix()}.tmp`);
  try {
    writeNewSynced(tmp, text);
    renameSync(tmp, target);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
  try {
    syncDir(dir);
  } catch {
    // Some platforms cannot open a directory: only the rename's durability is lost.
  }
}

let written = 0;

/**
 * A name no other writer uses at the same moment. It need not be secret: the temporary file is
 * created exclusively (`wx`), so nothing placed at that name in advance is followed or reused.
 * (Not node:crypto: loading it costs every orlojctl call that reads the client config ~10 ms.)
 */
const uniqueSuffix = (): string => `${process.pid}.${process.hrtime.bigint()}.${written++}`;

function linkTarget(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return path;
  }
}

/** A new file (never an existing one), mode 0600, with `text` synced to disk. */
function writeNewSynced(path: string, text: string): void {
  const fd = openSync(path, 'wx', 0o600);
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
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
