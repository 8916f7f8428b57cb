// A throwaway PostgreSQL cluster in a temp dir on a free loopback port, for tests and benches.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { appendFileSync, chownSync, closeSync, existsSync, mkdtempSync, openSync, readdirSync, readFileSync, realpathSync, rmSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join, resolve as resolvePath, sep } from 'node:path';
import postgres from 'postgres';

/** The superuser initdb creates; trust auth, so URLs carry no password. */
export const PG_USER = 'orloj';

export interface PgServer {
  port: number;
  /** The postmaster's pid (its backends are its children). */
  pid: number;
  dir: string;
  /** URL of `database` (default: the `postgres` maintenance database). */
  url(database?: string): string;
  /** pg_ctl stop -m fast (immediate if that fails), removes the temp dir, awaits the postmaster's exit. */
  stop(): Promise<void>;
  /** The same, blocking: for process 'exit' handlers. */
  stopSync(): void;
}

/** initdb and pg_ctl from one installation: PATH first, else the highest /usr/lib/postgresql/N/bin. */
export function findPgBin(): string | undefined {
  for (const d of (process.env.PATH ?? '').split(delimiter)) {
    const initdb = join(d, 'initdb');
    if (!d || !existsSync(initdb)) continue;
    // Through symlinks (Debian's /usr/local/bin ones), so pg_ctl and postgres match initdb's version.
    const real = join(realpathSync(initdb), '..');
    if (existsSync(join(real, 'pg_ctl'))) return real;
  }
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root) ? readdirSync(root).filter((v) => existsSync(join(root, v, 'bin', 'initdb'))) : [];
  versions.sort((a, b) => Number(b) - Number(a) || b.localeCompare(a));
  return versions[0] ? join(root, versions[0], 'bin') : undefined;
}

interface RunAs {
  wrap: string[];
  uid: number;
  gid: number;
}

/** PostgreSQL refuses to run as root: as root, run its tools as the `postgres` user (else nobody). */
function runAs(): RunAs | undefined {
  if (process.getuid?.() !== 0) return undefined;
  for (const user of ['postgres', 'nobody']) {
    const uid = spawnSync('id', ['-u', user], { encoding: 'utf8' });
    const gid = spawnSync('id', ['-g', user], { encoding: 'utf8' });
    if (uid.status !== 0 || gid.status !== 0) continue;
    const [u, g] = [Number(uid.stdout.trim()), Number(gid.stdout.trim())];
    // setpriv execs in place, so the postmaster is our child itself; runuser would stand between.
    const hasSetpriv = spawnSync('sh', ['-c', 'command -v setpriv'], { stdio: 'ignore' }).status === 0;
    const wrap = hasSetpriv ? ['setpriv', `--reuid=${u}`, `--regid=${g}`, '--clear-groups'] : ['runuser', '-u', user, '--'];
    return { wrap, uid: u, gid: g };
  }
  throw new Error('running as root, and neither a postgres nor a nobody user exists to run PostgreSQL as');
}

/** Whether a user other than the owner can reach `dir` (every ancestor searchable by others). */
function othersCanEnter(dir: string): boolean {
  const parts = resolvePath(dir).split(sep);
  return parts.every((_, i) => (statSync(parts.slice(0, i + 1).join(sep) || sep).mode & 0o001) !== 0);
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

function run(argv: string[], cwd: string): { status: number | null; out: string } {
  const r = spawnSync(argv[0]!, argv.slice(1), { cwd, encoding: 'utf8', env: { ...process.env, LC_ALL: 'C' } });
  return { status: r.status, out: `${r.stdout ?? ''}${r.stderr ?? ''}${r.error ? String(r.error) : ''}` };
}

/** Polls `select 1` until it answers (true) or the postmaster has exited (false). */
async function acceptsConnections(url: string, timeoutMs: number, exited: () => boolean): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const sql = postgres(url, { max: 1, connect_timeout: 2, onnotice: () => {} });
    try {
      await sql`select 1`;
      return true;
    } catch (err) {
      if (exited()) return false;
      if (Date.now() > deadline) throw new Error(`PostgreSQL at ${url} did not accept connections: ${String(err)}`);
    } finally {
      await sql.end({ timeout: 1 });
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

export interface StartOptions {
  /** Whose death stops the cluster (a detached watchdog), for when no exit handler gets to run. */
  ownerPid?: number;
  /** postgresql.conf settings over the test defaults (a benchmark wants durable ones). */
  settings?: Record<string, string>;
}

/** initdb and a postmaster in a fresh temp dir; resolves once it answers `select 1` over TCP. */
export async function startPostgres(opts: StartOptions = {}): Promise<PgServer> {
  const bin = findPgBin();
  if (!bin) throw new Error('PostgreSQL not found (no initdb in PATH or /usr/lib/postgresql/*/bin): run `make postgres-server`');
  const as = runAs();
  const wrap = as?.wrap ?? [];
  // The user PostgreSQL runs as has to reach it, which a private TMPDIR would not let it.
  const dir = mkdtempSync(join(as && !othersCanEnter(tmpdir()) ? '/tmp' : tmpdir(), 'orloj-pg-'));
  if (as) chownSync(dir, as.uid, as.gid);
  const data = join(dir, 'data');
  const log = join(dir, 'server.log');
  const pgCtl = (...args: string[]) => [...wrap, join(bin, 'pg_ctl'), '-D', data, ...args];
  let watchdog: number | undefined;
  let child: ChildProcess | undefined;
  let stopped = false;
  const stopSync = (): void => {
    if (stopped) return;
    stopped = true;
    if (existsSync(join(data, 'postmaster.pid'))) {
      if (run(pgCtl('stop', '-m', 'fast', '-w', '-t', '20'), dir).status !== 0) run(pgCtl('stop', '-m', 'immediate', '-w'), dir);
    }
    // Not yet up (no pid file) or deaf to pg_ctl: an immediate shutdown by signal.
    if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGQUIT');
    rmSync(dir, { recursive: true, force: true });
    if (watchdog) {
      try {
        process.kill(-watchdog, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }
  };
  try {
    const init = run([...wrap, join(bin, 'initdb'), '-D', data, '-U', PG_USER, '--auth=trust', '-E', 'UTF8', '--no-locale', '--no-sync', '--no-instructions'], dir);
    if (init.status !== 0) throw new Error(`initdb failed:\n${init.out}`);
    // A test cluster holds nothing worth keeping: no fsync, no commit flush, no torn-page
    // protection makes each commit a memory write, as a crash would only lose throwaway data.
    appendFileSync(
      join(data, 'postgresql.conf'),
      [
        '',
        "listen_addresses = '127.0.0.1'",
        `unix_socket_directories = '${dir}'`,
        'fsync = off',
        'synchronous_commit = off',
        'full_page_writes = off',
        'max_connections = 300',
        ...Object.entries(opts.settings ?? {}).map(([k, v]) => `${k} = ${v}`),
        '',
      ].join('\n'),
    );
    for (let attempt = 1; ; attempt++) {
      const port = await freePort();
      // The postmaster as our own child rather than pg_ctl start's orphan: this process reaps it
      // on stop, so no <defunct> postgres lingers until init gets to it.
      const argv = [...wrap, join(bin, 'postgres'), '-D', data, '-p', String(port)];
      const out = openSync(log, 'w');
      const postmaster = (child = spawn(argv[0]!, argv.slice(1), { cwd: dir, stdio: ['ignore', out, out], env: { ...process.env, LC_ALL: 'C' } }));
      closeSync(out);
      // Tests' event loops must not wait for it; stop() holds the loop open until it is reaped.
      postmaster.unref();
      let exited = false;
      const gone = new Promise<void>((resolve) => postmaster.once('exit', () => resolve()));
      void gone.then(() => (exited = true));
      const server: PgServer = {
        port,
        pid: postmaster.pid!,
        dir,
        url: (database = 'postgres') => `postgres://${PG_USER}@127.0.0.1:${port}/${database}`,
        stop: async () => {
          stopSync();
          if (exited) return;
          postmaster.ref();
          let timer: NodeJS.Timeout | undefined;
          await Promise.race([gone, new Promise((r) => (timer = setTimeout(r, 5000)))]);
          clearTimeout(timer);
          postmaster.unref();
        },
        stopSync,
      };
      watchdog ??= opts.ownerPid ? spawnWatchdog(opts.ownerPid, pgCtl('stop', '-m', 'immediate'), dir) : undefined;
      if (await acceptsConnections(server.url(), 60_000, () => exited)) return server;
      const why = readFileSync(log, 'utf8');
      // Another process may take the port between our probe and the postmaster's bind.
      if (attempt < 5 && /already in use/i.test(why)) continue;
      throw new Error(`PostgreSQL did not start:\n${why.split('\n').slice(-20).join('\n')}`);
    }
  } catch (err) {
    stopSync();
    throw err;
  }
}

/** A detached shell that stops the cluster once `pid` is gone, should it die by a signal. */
function spawnWatchdog(pid: number, stop: string[], dir: string): number | undefined {
  const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
  const script = `while kill -0 ${pid} 2>/dev/null; do sleep 1; done; [ -f ${q(join(dir, 'data', 'postmaster.pid'))} ] && ${stop.map(q).join(' ')}; rm -rf ${q(dir)}`;
  const child = spawn('sh', ['-c', script], { cwd: dir, detached: true, stdio: 'ignore' });
  child.unref();
  return child.pid;
}
