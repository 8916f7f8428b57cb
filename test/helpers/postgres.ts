// One PostgreSQL server per mocha process, started on first use (or ORLOJ_TEST_POSTGRES_URL's),
// and an empty database per caller on it.
import { randomBytes } from 'node:crypto';
import postgres from 'postgres';
import { startPostgres, type PgServer } from './postgres-server.js';

let server: Promise<PgServer> | undefined;
/** The started cluster, synchronously reachable for the exit handler. */
let running: PgServer | undefined;
let admin: postgres.Sql | undefined;
let adminUrl: Promise<string> | undefined;
/** Set by the end-of-run hook: a later hook's dropDatabase must not start a new cluster. */
let ended = false;

/** The shared server's URL (its `postgres` database), starting the cluster on first call. */
export function postgresAdminUrl(): Promise<string> {
  adminUrl ??= (async () => {
    const external = process.env.ORLOJ_TEST_POSTGRES_URL;
    if (external) return external;
    server = startPostgres({ ownerPid: process.pid });
    running = await server;
    return running.url();
  })();
  return adminUrl;
}

async function adminSql(): Promise<postgres.Sql> {
  // idle_timeout: an idle admin connection must not keep a mocha run without --exit alive.
  admin ??= postgres(await postgresAdminUrl(), { max: 2, idle_timeout: 5, onnotice: () => {} });
  return admin;
}

function withDatabase(url: string, name: string): string {
  const u = new URL(url);
  u.pathname = `/${name}`;
  return u.toString();
}

let seq = 0;

/** CREATE DATABASE with a name no other caller (or mocha process) gets; returns its URL. */
export async function freshDatabase(prefix = 'orloj'): Promise<string> {
  if (!/^[a-z_][a-z0-9_]{0,39}$/.test(prefix)) throw new Error(`database prefix must be a lowercase identifier of at most 40 characters, got "${prefix}"`);
  const name = `${prefix}_${process.pid}_${++seq}_${randomBytes(3).toString('hex')}`.slice(0, 63);
  const sql = await adminSql();
  // template0: nobody connects to it, so concurrent creates never find their template in use.
  await sql.unsafe(`CREATE DATABASE "${name}" TEMPLATE template0`);
  return withDatabase(await postgresAdminUrl(), name);
}

/** DROP DATABASE … WITH (FORCE): connections still open to it are ended. */
export async function dropDatabase(url: string): Promise<void> {
  // The cluster is gone, and the database with it (an external server's would remain).
  if (ended && !process.env.ORLOJ_TEST_POSTGRES_URL) return;
  const name = decodeURIComponent(new URL(url).pathname.slice(1));
  const sql = await adminSql();
  await sql.unsafe(`DROP DATABASE IF EXISTS "${name.replace(/"/g, '""')}" WITH (FORCE)`);
}

/** Ends the admin connections and stops the cluster this process started, if any. */
export async function stopPostgres(): Promise<void> {
  ended = true;
  const [a, s] = [admin, server];
  admin = server = running = adminUrl = undefined;
  await a?.end({ timeout: 5 });
  await (await s?.catch(() => undefined))?.stop();
}

// A root-level after hook: registered while mocha loads whichever test file imports this first,
// it runs at the end of the whole run, failed tests or not. Outside mocha (benches) there is none.
if (typeof after === 'function') after(stopPostgres);

// Should the run end without the hook (an uncaught error, process.exit): a blocking stop.
process.on('exit', () => running?.stopSync());
