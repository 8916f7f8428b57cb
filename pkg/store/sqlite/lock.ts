import { closeSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
};

/**
 * One orlojd per data dir: two writers on one SQLite file would each think their revision
 * counter is the store's. The lock is a file naming the holder's pid, taken exclusively; a
 * holder that died (kill -9) leaves a stale file, which the next start takes over.
 * Returns the release function.
 */
export function lockDataDir(dataDir: string): () => void {
  const path = join(dataDir, 'orlojd.lock');
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(path, 'wx', 0o600);
      writeSync(fd, String(process.pid));
      closeSync(fd);
      return () => rmSync(path, { force: true });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const holder = Number(readFileSync(path, 'utf8').trim());
      if (Number.isInteger(holder) && holder > 0 && holder !== process.pid && alive(holder)) {
        throw new Error(`the data dir ${dataDir} is in use by another orlojd (pid ${holder}); stop it or start this one with another --data-dir`);
      }
      rmSync(path, { force: true }); // stale: its holder is gone
    }
  }
  throw new Error(`could not lock the data dir ${dataDir}`);
}
