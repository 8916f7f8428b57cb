// deploy/: the ServiceAccount, RBAC and Deployment for orlojd in a cluster, on a real
// kube-apiserver: the manifests are accepted, and orlojd's identity may do exactly what it needs.
import { expect } from 'chai';
import { join } from 'node:path';
import { dropNamespace, freshNamespace, installCrds, kubectl, repoRoot } from '../helpers/kube.js';

const dir = join(repoRoot, 'deploy');
const SA = 'system:serviceaccount:orloj-system:orlojd';
const KINDS = ['collections', 'inboundwebhooks', 'sources', 'tasks', 'taskwebhooks', 'triggers'];
/** Every identity may review its own access: not ours to grant or take away. */
const SELF_REVIEW = { 'selfsubjectaccessreviews.authorization.k8s.io': 'create', 'selfsubjectrulesreviews.authorization.k8s.io': 'create' };

/** `kubectl auth can-i` as orlojd's ServiceAccount: true for yes. */
function canI(args: string[]): boolean {
  const r = kubectl(['auth', 'can-i', ...args, `--as=${SA}`], { allowFail: true });
  expect(r.stdout.trim(), `can-i ${args.join(' ')}: ${r.stderr}`).to.be.oneOf(['yes', 'no']);
  return r.stdout.trim() === 'yes';
}

/** What the ServiceAccount may do on resources in a namespace (`can-i --list`): resource → verbs. */
function rules(ns: string): Record<string, string> {
  const lines = kubectl(['auth', 'can-i', '--list', `--as=${SA}`, '-n', ns]).stdout.trim().split('\n').slice(1);
  const out: Record<string, string> = {};
  for (const line of lines) {
    const m = /^(\S+)\s+\[\]\s+\[\]\s+\[(.*)\]$/.exec(line.trim());
    if (m) out[m[1]!] = m[2]!;
  }
  return out;
}

describe('deploy/ (orlojd in a cluster)', function () {
  this.timeout(120000);

  before(() => installCrds());

  it('kubectl apply --dry-run=server -f deploy/ accepts every object', () => {
    // A dry run creates nothing, so the objects that live in orloj-system need it to exist.
    kubectl(['apply', '-f', join(dir, 'namespace.yaml')]);
    const out = kubectl(['apply', '--dry-run=server', '-f', dir]).stdout;
    for (const o of ['deployment.apps/orlojd', 'service/orlojd', 'serviceaccount/orlojd', 'clusterrole.rbac.authorization.k8s.io/orlojd', 'clusterrolebinding.rbac.authorization.k8s.io/orlojd',
      'role.rbac.authorization.k8s.io/orlojd-leader-election', 'rolebinding.rbac.authorization.k8s.io/orlojd-leader-election', 'clusterrole.rbac.authorization.k8s.io/orlojd-secret-writer']) {
      expect(out).to.match(new RegExp(`^${o.replace(/\./g, '\\.')} \\S+ \\(server dry run\\)$`, 'm'));
    }
  });

  it('the Deployment: 2 replicas of orlojd --storage kubernetes --data-storage postgres, the URL from a Secret, probes on /healthz and /readyz', () => {
    kubectl(['apply', '-f', dir]);
    const d = JSON.parse(kubectl(['get', '-n', 'orloj-system', 'deployment', 'orlojd', '-o', 'json']).stdout);
    expect(d.spec.replicas).to.equal(2);
    const c = d.spec.template.spec.containers[0];
    expect(d.spec.template.spec.serviceAccountName).to.equal('orlojd');
    expect([...c.command, ...c.args].join(' ')).to.include('orlojd --storage kubernetes --data-storage postgres');
    expect(c.env.find((e: { name: string }) => e.name === 'ORLOJ_POSTGRES_URL').valueFrom.secretKeyRef).to.deep.equal({ name: 'orlojd', key: 'postgres-url' });
    expect(c.livenessProbe.httpGet.path).to.equal('/healthz');
    expect(c.readinessProbe.httpGet.path).to.equal('/readyz');
  });

  it('grants orlojd exactly its rules: the six kinds and their status, reading Secrets and Namespaces, its Lease', () => {
    const everywhere: Record<string, string> = {
      ...SELF_REVIEW,
      ...Object.fromEntries(KINDS.map((k) => [`${k}.orloj.dev`, 'get list watch create update patch delete'])),
      ...Object.fromEntries(KINDS.map((k) => [`${k}.orloj.dev/status`, 'get update patch'])),
      secrets: 'get list watch',
      namespaces: 'get list watch',
    };
    expect(rules('orloj-system')).to.deep.equal({ ...everywhere, 'leases.coordination.k8s.io': 'get create update' });
    expect(rules('default')).to.deep.equal(everywhere);
  });

  it('kubectl auth can-i: yes for what orlojd does', () => {
    for (const args of [
      ['get', 'taskwebhooks.orloj.dev', '-n', 'default'],
      ['watch', 'tasks.orloj.dev', '--all-namespaces'],
      ['create', 'tasks.orloj.dev', '-n', 'team-a'],
      ['delete', 'tasks.orloj.dev', '-n', 'team-a'],
      ['patch', 'triggers.orloj.dev', '--subresource=status', '-n', 'default'],
      ['update', 'inboundwebhooks.orloj.dev', '--subresource=status', '-n', 'default'],
      ['list', 'secrets', '--all-namespaces'],
      ['watch', 'namespaces'],
      ['create', 'leases.coordination.k8s.io', '-n', 'orloj-system'],
      ['update', 'leases.coordination.k8s.io/orlojd-leader', '-n', 'orloj-system'],
    ]) expect(canI(args), args.join(' ')).to.equal(true);
  });

  it('kubectl auth can-i: no for what it does not', () => {
    for (const args of [
      ['delete', 'secrets', '-n', 'default'],
      ['create', 'secrets', '-n', 'default'],
      ['update', 'secrets', '-n', 'kube-system'],
      ['create', 'namespaces'],
      ['delete', 'namespaces'],
      ['deletecollection', 'tasks.orloj.dev', '-n', 'default'],
      ['delete', 'taskwebhooks.orloj.dev', '--subresource=status', '-n', 'default'],
      ['update', 'leases.coordination.k8s.io', '-n', 'default'],
      ['delete', 'leases.coordination.k8s.io', '-n', 'orloj-system'],
      ['create', 'events', '-n', 'default'],
      ['get', 'configmaps', '-n', 'orloj-system'],
      ['create', 'pods', '-n', 'orloj-system'],
      ['update', 'customresourcedefinitions.apiextensions.k8s.io'],
    ]) expect(canI(args), args.join(' ')).to.equal(false);
  });

  it('writes Secrets only in a namespace that binds orlojd-secret-writer', () => {
    const ns = freshNamespace('secret-writer');
    try {
      expect(canI(['create', 'secrets', '-n', ns])).to.equal(false);
      kubectl(['create', 'rolebinding', 'orlojd-secrets', '-n', ns, '--clusterrole=orlojd-secret-writer', '--serviceaccount=orloj-system:orlojd']);
      for (const verb of ['create', 'update', 'patch', 'delete']) expect(canI([verb, 'secrets', '-n', ns]), verb).to.equal(true);
      expect(canI(['delete', 'secrets', '-n', 'default'])).to.equal(false);
    } finally {
      dropNamespace(ns);
    }
  });
});
