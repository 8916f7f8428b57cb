import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

/**
 * What `strings | grep` over every file under `dir` would find: for each needle found in
 * a file's bytes (the database, its WAL and shared memory, anything), `file: needle`.
 */
export function filesContaining(dir: string, needles: string[]): string[] {
  const hits: string[] = [];
  for (const name of readdirSync(dir, { recursive: true }) as string[]) {
    const path = join(dir, name);
    let bytes: Buffer;
    try {
      if (!statSync(path).isFile()) continue;
      bytes = readFileSync(path);
    } catch {
      continue; // gone meanwhile (a WAL removed on close)
    }
    for (const n of needles) if (bytes.includes(n)) hits.push(`${name}: ${n}`);
  }
  return hits;
}

/** `value` and its base64 form, as a Secret stores it. */
export const withBase64 = (value: string): string[] => [value, Buffer.from(value).toString('base64')];
