// Leader election on a coordination.k8s.io/v1 Lease in a real kube-apiserver: one leader
// among replicas, a hand-over within a retry period on close(), a take-over only once the
// Lease of a killed leader expires, and a leader cut off from the API server stepping down
// before anyone else can lead. Durations are short (3 s lease, 2 s deadline, 0.5 s retry).
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, connect, type AddressInfo, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { loadKubeConfig } from '../../pkg/store/kubernetes/kubeconfig.js';
import { LEASE_NAME, LeaseElector, type LeaseElectorOptions } from '../../pkg/store/kubernetes/lease-elector.js';
import { kubeCluster, kubectl } from '../helpers/kube.js';
import { eventually } from '../helpers/orlojd.js';

const LEASE_MS = 3000;
const RENEW_MS = 2000;
const RETRY_MS = 500;
const CHILD = join(dirname(fileURLToPath(import.meta.url)), 'lease-elector-child.js');

let leaseNo = 0;
const leaseName = () => `test-leader-${process.pid}-${++leaseNo}`;
const holderOf = (name: string) => kubectl(['get', 'lease', name, '-n', 'default', '-o', 'jsonpath={.spec.holderIdentity}']).stdout;

/** Each change of one elector's leadership, with when it happened. */
interface Watched {
  elector: LeaseElector;
  changes: Array<{ leader: boolean; at: number }>;
}

describe('LeaseElector (kube-apiserver)', function () {
  this.timeout(60_000);
  const open: LeaseElector[] = [];
  const children: ChildProcess[] = [];

  async function elector(name: string, kubeconfig = kubeCluster().kubeconfig, extra: Partial<LeaseElectorOptions> = {}): Promise<Watched> {
    const kc = await loadKubeConfig({ kubeconfig, env: {} });
    const e = await LeaseElector.start(kc, { namespace: 'default', name, leaseDurationMs: LEASE_MS, renewDeadlineMs: RENEW_MS, retryPeriodMs: RETRY_MS, ...extra });
    open.push(e);
    const w: Watched = { elector: e, changes: [] };
    e.onChange((leader) => w.changes.push({ leader, at: Date.now() }));
    return w;
  }

  const leaders = (ws: Watched[]) => ws.filter((w) => w.elector.isLeader());
  const becameLeader = (w: Watched) => w.changes.find((c) => c.leader)?.at;
  /** Not the `false` a listener is told at once: the first one after leading. */
  const steppedDownAt = (w: Watched) => w.changes.find((c, i) => !c.leader && w.changes.slice(0, i).some((p) => p.leader))?.at;

  before(() => kubeCluster());

  afterEach(async () => {
    await Promise.all(open.splice(0).map((e) => e.close()));
    for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  });

  it('makes exactly one of two replicas the leader, named in the Lease, and keeps it so', async () => {
    const name = leaseName();
    const ws = [await elector(name), await elector(name)];
    const [leader] = await eventually(async () => leaders(ws).length === 1 && leaders(ws), 10_000);
    expect(holderOf(name)).to.equal(leader!.elector.identity);
    // Several renewals later (the Lease is renewed every retry period) the same one leads, alone.
    const renewed = kubectl(['get', 'lease', name, '-n', 'default', '-o', 'jsonpath={.spec.renewTime}']).stdout;
    await eventually(async () => kubectl(['get', 'lease', name, '-n', 'default', '-o', 'jsonpath={.spec.renewTime}']).stdout !== renewed, 5000, 100);
    expect(leaders(ws)).to.deep.equal([leader]);
    expect(ws.map((w) => w.changes.filter((c) => c.leader).length).sort()).to.deep.equal([0, 1]);
    expect(holderOf(name)).to.equal(leader!.elector.identity);
    const spec = JSON.parse(kubectl(['get', 'lease', name, '-n', 'default', '-o', 'jsonpath={.spec}']).stdout) as Record<string, unknown>;
    expect(spec).to.include({ leaseDurationSeconds: LEASE_MS / 1000 });
  });

  it('tells a listener the current state at once, then each change', async () => {
    const name = leaseName();
    const w = await elector(name);
    await eventually(async () => w.elector.isLeader(), 10_000);
    const seen: boolean[] = [];
    w.elector.onChange((leader) => seen.push(leader));
    await eventually(async () => seen.length > 0);
    expect(seen).to.deep.equal([true]);
    await w.elector.close();
    expect(seen).to.deep.equal([true, false]);
    expect(w.elector.isLeader()).to.equal(false);
  });

  it('hands over within about a retry period when the leader closes, releasing the Lease', async () => {
    const name = leaseName();
    const ws = [await elector(name), await elector(name)];
    const [leader] = await eventually(async () => leaders(ws).length === 1 && leaders(ws), 10_000);
    const follower = ws.find((w) => w !== leader)!;
    await leader!.elector.close();
    const closedAt = Date.now();
    // Stepped down before close() returned, so before the other could start leading.
    expect(steppedDownAt(leader!)).to.be.at.most(closedAt);
    await eventually(async () => follower.elector.isLeader(), 5000);
    expect(becameLeader(follower)! - closedAt).to.be.below(RETRY_MS + 1000);
    expect(holderOf(name)).to.equal(follower.elector.identity);
  });

  it('takes over from a killed leader once its Lease expires, not before', async () => {
    const name = leaseName();
    const child = spawn(process.execPath, [CHILD, kubeCluster().kubeconfig, name, String(LEASE_MS), String(RENEW_MS), String(RETRY_MS)], { stdio: ['ignore', 'pipe', 'inherit'] });
    children.push(child);
    let out = '';
    child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
    await eventually(async () => out.includes('leading'), 15_000);
    const identity = (JSON.parse(out.split('\n')[0]!) as { identity: string }).identity;
    expect(holderOf(name)).to.equal(identity);
    const follower = await elector(name);
    // Follows while the child renews.
    const renewed = kubectl(['get', 'lease', name, '-n', 'default', '-o', 'jsonpath={.spec.renewTime}']).stdout;
    await eventually(async () => kubectl(['get', 'lease', name, '-n', 'default', '-o', 'jsonpath={.spec.renewTime}']).stdout !== renewed, 5000, 100);
    expect(follower.elector.isLeader()).to.equal(false);
    child.kill('SIGKILL');
    await once(child, 'exit');
    const killedAt = Date.now();
    await eventually(async () => follower.elector.isLeader(), LEASE_MS + RETRY_MS + 5000);
    const waited = becameLeader(follower)! - killedAt;
    // The child renewed at most a retry period before it died; its Lease held for LEASE_MS after that.
    expect(waited).to.be.at.least(LEASE_MS - RETRY_MS - 250);
    expect(waited).to.be.below(LEASE_MS + RETRY_MS + 1000);
    expect(holderOf(name)).to.equal(follower.elector.identity);
  });

  it('steps a leader cut off from the API server down before another replica can lead', async () => {
    const name = leaseName();
    const cut = await cuttableKubeconfig();
    try {
      const isolated = await elector(name, cut.kubeconfig);
      await eventually(async () => isolated.elector.isLeader(), 10_000);
      const other = await elector(name);
      cut.cut();
      const cutAt = Date.now();
      await eventually(async () => other.elector.isLeader(), LEASE_MS + RETRY_MS + 5000);
      const steppedDown = steppedDownAt(isolated);
      expect(steppedDown, 'the cut-off leader stepped down').to.be.a('number');
      expect(steppedDown! - cutAt).to.be.below(RENEW_MS + 500);
      expect(steppedDown!).to.be.below(becameLeader(other)!);
      expect(holderOf(name)).to.equal(other.elector.identity);
    } finally {
      await Promise.all(open.splice(0).map((e) => e.close()));
      cut.close();
    }
  });

  it('names the Lease orlojd-leader and each replica uniquely by host and pid', async () => {
    const kc = await loadKubeConfig({ kubeconfig: kubeCluster().kubeconfig, env: {} });
    const k8s = await import('@kubernetes/client-node');
    const api = kc.makeApiClient(k8s.CoordinationV1Api);
    const micro = (d: Date) => new k8s.V1MicroTime(d.getTime());
    // Constructed, not started: no requests, no timers.
    const [a, b] = [new LeaseElector(api, micro, { namespace: 'default' }), new LeaseElector(api, micro, { namespace: 'default' })];
    expect(a.name).to.equal(LEASE_NAME);
    expect(a.identity).to.match(new RegExp(`_${process.pid}_[0-9a-f]{8}$`));
    expect(a.identity).not.to.equal(b.identity);
    expect(() => new LeaseElector(api, micro, { namespace: 'default', leaseDurationMs: 2000, renewDeadlineMs: 2000 })).to.throw('retry period < renew deadline < lease duration');
  });
});

/**
 * A kubeconfig whose server is a TCP relay to the cluster: cut() stops the relay and drops
 * its connections, cutting off whoever uses it and no one else.
 */
async function cuttableKubeconfig(): Promise<{ kubeconfig: string; cut: () => void; close: () => void }> {
  const target = new URL(kubeCluster().server);
  const sockets = new Set<Socket>();
  const relay: Server = createServer((client) => {
    const upstream = connect(Number(target.port), target.hostname);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.once('close', () => sockets.delete(s));
      s.on('error', () => s.destroy());
    }
    client.pipe(upstream).pipe(client);
  });
  relay.listen(0, '127.0.0.1');
  await once(relay, 'listening');
  const { port } = relay.address() as AddressInfo;
  const dir = mkdtempSync(join(tmpdir(), 'orloj-lease-'));
  const kubeconfig = join(dir, 'kubeconfig');
  const { token } = kubeCluster();
  writeFileSync(kubeconfig, [
    'apiVersion: v1', 'kind: Config',
    `clusters: [{name: relay, cluster: {server: "https://127.0.0.1:${port}", insecure-skip-tls-verify: true}}]`,
    `users: [{name: relay, user: {token: "${token}"}}]`,
    'contexts: [{name: relay, context: {cluster: relay, user: relay}}]',
    'current-context: relay', '',
  ].join('\n'));
  const cut = () => {
    relay.close();
    for (const s of sockets) s.destroy();
  };
  return { kubeconfig, cut, close: () => (cut(), rmSync(dir, { recursive: true, force: true })) };
}
