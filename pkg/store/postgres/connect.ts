// Connections to the shared store. 64-bit columns (revisions, ids, times in ms) come back
// as numbers: every value we keep fits in 2^53.
import postgres, { type Sql } from 'postgres';

export type { Sql };

/** Why the store cannot be opened, in words an operator can act on; `retry` when waiting may help. */
export class PostgresUnavailable extends Error {
  override readonly name = 'PostgresUnavailable';
  constructor(message: string, readonly retry: boolean) {
    super(message);
  }
}

const int8 = { to: 20, from: [20], serialize: (n: number) => String(n), parse: (s: string) => Number(s) };

/** The server and database a URL names, never its password. */
export function describeUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.hostname}:${u.port || '5432'}${u.pathname}`;
  } catch {
    return 'the given URL';
  }
}

export function connect(url: string, max = 10): Sql {
  return postgres(url, {
    max,
    types: { int8 },
    onnotice: () => undefined,
    // Statements are prepared once per connection: the hot path sends only parameters.
    prepare: true,
    connect_timeout: 5,
    idle_timeout: 0,
    // Kept: the elector's lock lives in its connection's session.
    max_lifetime: null,
    connection: { application_name: 'orlojd' },
  });
}

/** Checks that the database answers; a missing database or bad credentials are not retried. */
export async function reach(sql: Sql, url: string): Promise<void> {
  try {
    await sql`SELECT 1`;
  } catch (e) {
    const code = (e as { code?: string }).code;
    const where = describeUrl(url);
    if (code === '3D000') throw new PostgresUnavailable(`database ${where} does not exist: create it (createdb) or fix --postgres-url`, false);
    if (code === '28P01' || code === '28000') throw new PostgresUnavailable(`PostgreSQL at ${where} refused the credentials (${code})`, false);
    throw new PostgresUnavailable(`cannot reach PostgreSQL at ${where}: ${code ?? (e as Error).message}`, true);
  }
}
