// orlojd's storage flags: --storage with its three kinds, and the Kubernetes-mode flags
// (--kubeconfig, --data-storage, --leader-election-namespace), each refused with a sentence
// where it means nothing.
import { spawnSync } from 'node:child_process';
import { expect } from 'chai';
import { parseDaemonOptions, UsageError, type DaemonOptions } from '../../pkg/daemon/options.js';
import { ORLOJD } from '../helpers/orlojd.js';
import { refusedStart } from '../helpers/refusal.js';

const PG = 'postgres://orloj@db:5432/orloj';

function parse(args: string[], env: NodeJS.ProcessEnv = {}): DaemonOptions {
  const opts = parseDaemonOptions(args, env);
  if (opts === 'help') throw new Error('parsed as --help');
  return opts;
}

function refusal(args: string[], env: NodeJS.ProcessEnv = {}): string {
  try {
    parseDaemonOptions(args, env);
  } catch (e) {
    expect(e).to.be.instanceOf(UsageError);
    return (e as Error).message;
  }
  throw new Error(`${args.join(' ')} was accepted`);
}

describe('orlojd storage flags', () => {
  it('keeps sqlite as the default, with its data in the same store', () => {
    const o = parse([]);
    expect(o).to.include({ storage: 'sqlite', dataStorage: 'sqlite' });
    expect(o.kubeconfig).to.equal(undefined);
    expect(o.leaseNamespace).to.equal(undefined);
  });

  it('keeps postgres as today: its data in PostgreSQL, a URL required and checked', () => {
    expect(parse(['--storage', 'postgres', '--postgres-url', PG])).to.include({ storage: 'postgres', dataStorage: 'postgres', postgresUrl: PG });
    expect(refusal(['--storage', 'postgres'])).to.equal('--storage postgres needs --postgres-url URL (or ORLOJ_POSTGRES_URL)');
    expect(refusal(['--storage', 'postgres', '--postgres-url', 'host=db'])).to.equal('--postgres-url must be a postgres://user@host:port/database URL');
  });

  it('takes --storage kubernetes with its data in SQLite unless told otherwise', () => {
    const o = parse(['--storage', 'kubernetes']);
    expect(o).to.include({ storage: 'kubernetes', dataStorage: 'sqlite' });
    expect(o.postgresUrl).to.equal(undefined);
    expect(parse([], { ORLOJ_STORAGE: 'kubernetes' })).to.include({ storage: 'kubernetes', dataStorage: 'sqlite' });
  });

  it('takes the Kubernetes flags, flags over ORLOJ_ variables', () => {
    const o = parse(['--storage', 'kubernetes', '--kubeconfig', '/etc/orloj/kubeconfig', '--data-storage', 'postgres', '--postgres-url', PG, '--leader-election-namespace', 'orloj-system']);
    expect(o).to.include({ storage: 'kubernetes', dataStorage: 'postgres', postgresUrl: PG, kubeconfig: '/etc/orloj/kubeconfig', leaseNamespace: 'orloj-system' });
    const env = { ORLOJ_STORAGE: 'kubernetes', ORLOJ_DATA_STORAGE: 'postgres', ORLOJ_POSTGRES_URL: PG, ORLOJ_LEADER_ELECTION_NAMESPACE: 'from-env' };
    expect(parse([], env)).to.include({ dataStorage: 'postgres', postgresUrl: PG, leaseNamespace: 'from-env' });
    expect(parse(['--data-storage', 'sqlite', '--leader-election-namespace', 'from-flag'], env)).to.include({ dataStorage: 'sqlite', leaseNamespace: 'from-flag' });
  });

  it('needs a valid URL for PostgreSQL data storage, as --storage postgres does', () => {
    expect(refusal(['--storage', 'kubernetes', '--data-storage', 'postgres'])).to.equal('--data-storage postgres needs --postgres-url URL (or ORLOJ_POSTGRES_URL)');
    expect(refusal(['--storage', 'kubernetes', '--data-storage', 'postgres', '--postgres-url', 'host=db password=hunter2'])).to.equal('--postgres-url must be a postgres://user@host:port/database URL');
  });

  it('refuses kinds it does not know', () => {
    expect(refusal(['--storage', 'etcd'])).to.equal('--storage must be sqlite, postgres or kubernetes, got "etcd"');
    expect(refusal(['--storage', 'kubernetes', '--data-storage', 'kubernetes'])).to.equal('--data-storage must be sqlite or postgres, got "kubernetes"');
    expect(refusal([], { ORLOJ_STORAGE: 'kubernetes', ORLOJ_DATA_STORAGE: 'mysql' })).to.equal('--data-storage must be sqlite or postgres, got "mysql"');
  });

  it('refuses the Kubernetes flags without --storage kubernetes', () => {
    expect(refusal(['--data-storage', 'postgres', '--postgres-url', PG])).to.equal('--data-storage applies only with --storage kubernetes (storage is sqlite)');
    expect(refusal(['--storage', 'postgres', '--postgres-url', PG, '--data-storage', 'sqlite'])).to.equal('--data-storage applies only with --storage kubernetes (storage is postgres)');
    expect(refusal(['--kubeconfig', '/k'])).to.equal('--kubeconfig applies only with --storage kubernetes (storage is sqlite)');
    expect(refusal(['--leader-election-namespace', 'ns'])).to.equal('--leader-election-namespace applies only with --storage kubernetes (storage is sqlite)');
    expect(refusal([], { ORLOJ_LEADER_ELECTION_NAMESPACE: 'ns' })).to.equal('--leader-election-namespace applies only with --storage kubernetes (storage is sqlite)');
  });

  it('refuses a PostgreSQL URL that Kubernetes mode with SQLite data would ignore', () => {
    expect(refusal(['--storage', 'kubernetes', '--postgres-url', PG])).to.equal('--postgres-url applies only with --data-storage postgres under --storage kubernetes');
    // One in the environment may be meant for other processes: it is not an error.
    expect(parse(['--storage', 'kubernetes'], { ORLOJ_POSTGRES_URL: PG })).to.include({ dataStorage: 'sqlite' });
  });

  it('refuses a lease namespace that cannot be a namespace, and an empty kubeconfig path', () => {
    for (const bad of ['Orloj', 'a_b', 'a-', 'a'.repeat(64), '']) {
      expect(refusal(['--storage', 'kubernetes', '--leader-election-namespace', bad])).to.equal(`--leader-election-namespace must be a Kubernetes namespace name, got "${bad}"`);
    }
    expect(parse(['--storage', 'kubernetes', '--leader-election-namespace', 'a'.repeat(63)]).leaseNamespace).to.equal('a'.repeat(63));
    expect(refusal(['--storage', 'kubernetes', '--kubeconfig', ''])).to.equal('--kubeconfig needs a PATH');
  });

  it('orlojd refuses such a combination with exit code 2 and a sentence, and its help names the flags', () => {
    const out = refusedStart(`/tmp/orloj-storage-options-${process.pid}`, { args: ['--data-storage', 'postgres'] }, true);
    expect(out).to.include('--data-storage applies only with --storage kubernetes (storage is sqlite)');
    const help = spawnSync(process.execPath, [ORLOJD, '--help'], { encoding: 'utf8' });
    expect(help.status).to.equal(0);
    for (const flag of ['--storage KIND', '--kubeconfig PATH', '--data-storage KIND', '--leader-election-namespace NS']) expect(help.stdout).to.include(`  ${flag}`);
    expect(help.stdout).to.include('kubernetes (resources are CRDs in a cluster)');
  });
});
