// crds/ as committed, installed on a real kube-apiserver: what kubectl users meet.
import { expect } from 'chai';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { kinds } from '../../pkg/api/registry.js';
import { crdPlural, isCrdKind } from '../../pkg/crd/generate.js';
import { dropNamespace, freshNamespace, installCrds, kubectl, repoRoot } from '../helpers/kube.js';

interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string };
  spec: Record<string, unknown>;
}

const crdKinds = kinds.filter(isCrdKind);

/** Every object of a CRD kind in examples/resources/ (Orloj Secrets are core Secrets here). */
function exampleObjects(): Manifest[] {
  const dir = join(repoRoot, 'examples', 'resources');
  const files = readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.yaml'));
  const docs = files.flatMap((f) => parseAllDocuments(readFileSync(join(dir, f), 'utf8')).map((d) => d.toJS() as Manifest));
  return docs.filter((d) => crdKinds.some((k) => k.kind === d.kind));
}

/** Where `have` lacks or differs from a value of `want` (defaults may add more), or undefined. */
function missing(want: unknown, have: unknown, path = 'spec'): string | undefined {
  if (want === null || typeof want !== 'object') return want === have ? undefined : `${path}: ${JSON.stringify(have)} != ${JSON.stringify(want)}`;
  if (have === null || typeof have !== 'object') return `${path}: missing`;
  if (Array.isArray(want) && (!Array.isArray(have) || have.length !== want.length)) return `${path}: ${JSON.stringify(have)} != ${JSON.stringify(want)}`;
  for (const [k, v] of Object.entries(want)) {
    const m = missing(v, (have as Record<string, unknown>)[k], `${path}.${k}`);
    if (m) return m;
  }
  return undefined;
}

// kubectl's JSON output, untyped: the assertions read it field by field.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const getJson = (args: string[]): Record<string, any> => JSON.parse(kubectl([...args, '-o', 'json']).stdout);

describe('crds/ on a real kube-apiserver', function () {
  this.timeout(120000);
  let ns: string;

  before(() => {
    installCrds();
    ns = freshNamespace('crd-install');
  });
  after(() => {
    dropNamespace(ns);
  });

  it('install with kubectl apply -f crds/: every CRD Established, structural, names accepted', () => {
    for (const def of crdKinds) {
      const crd = getJson(['get', 'crd', `${crdPlural(def)}.orloj.dev`]);
      const conditions = Object.fromEntries((crd.status.conditions as { type: string; status: string }[]).map((c) => [c.type, c.status]));
      expect(conditions, def.kind).to.include({ Established: 'True', NamesAccepted: 'True' });
      expect(conditions, `${def.kind} must be structural`).not.to.have.property('NonStructuralSchema');
    }
  });

  it('kubectl get crd names the six orloj.dev kinds and no Secret or Namespace', () => {
    const names = kubectl(['get', 'crd', '-o', 'name']).stdout.split('\n').filter((n) => n.endsWith('.orloj.dev'));
    expect(names.sort()).to.deep.equal(
      ['collections', 'inboundwebhooks', 'sources', 'tasks', 'taskwebhooks', 'triggers'].map((p) => `customresourcedefinition.apiextensions.k8s.io/${p}.orloj.dev`),
    );
  });

  it('accept the example objects of every kind as written: nothing pruned, defaults filled in', () => {
    const objects = exampleObjects();
    expect(new Set(objects.map((o) => o.kind))).to.have.keys(crdKinds.map((k) => k.kind));
    kubectl(['apply', '-n', ns, '-f', '-'], { input: JSON.stringify({ apiVersion: 'v1', kind: 'List', items: objects }) });
    for (const o of objects) {
      const stored = getJson(['get', '-n', ns, `${o.kind.toLowerCase()}.orloj.dev/${o.metadata.name}`]);
      expect(missing(o.spec, stored.spec), `${o.kind}/${o.metadata.name}`).to.equal(undefined);
    }
    const tw = getJson(['get', '-n', ns, 'taskwebhooks', 'report-generic-webhook']);
    expect(tw.spec.auth).to.include({ max_skew_seconds: 300 });
    expect(tw.spec).to.include({ suspend: false, history_limit: 1000, max_body_bytes: 1048576 });
  });

  const refusals: [string, Manifest, RegExp][] = [
    ['a TaskWebhook without auth', { apiVersion: 'orloj.dev/v1', kind: 'TaskWebhook', metadata: { name: 'no-auth' }, spec: { task_ref: 't' } }, /spec\.auth: Required value/],
    [
      'a TaskWebhook with an unknown profile',
      { apiVersion: 'orloj.dev/v1', kind: 'TaskWebhook', metadata: { name: 'bad-profile' }, spec: { task_ref: 't', auth: { secret_ref: 's', profile: 'bogus' } } },
      /spec\.auth\.profile: Unsupported value: "bogus"/,
    ],
    [
      'a Trigger naming an event twice',
      { apiVersion: 'orloj.dev/v1', kind: 'Trigger', metadata: { name: 'twice' }, spec: { collection: 'c', url: 'https://example.com/x', events: ['create', 'create'] } },
      /spec\.events\[1\]: Duplicate value: "create"/,
    ],
    ['a TaskWebhook whose max_body_bytes is not an integer', { apiVersion: 'orloj.dev/v1', kind: 'TaskWebhook', metadata: { name: 'big' }, spec: { task_ref: 't', auth: { secret_ref: 's' }, max_body_bytes: 'lots' } }, /spec\.max_body_bytes: Invalid value/],
  ];
  for (const [what, obj, why] of refusals) {
    it(`refuse ${what}`, () => {
      // --validate=false: the API server itself refuses it, not kubectl's check from the schema it publishes.
      const r = kubectl(['apply', '--validate=false', '-n', ns, '-f', '-'], { input: JSON.stringify(obj), allowFail: true });
      expect(r.status, r.stdout).to.not.equal(0);
      expect(r.stderr).to.match(why);
      expect(kubectl(['get', '-n', ns, `${obj.kind.toLowerCase()}.orloj.dev`, obj.metadata.name], { allowFail: true }).status).to.not.equal(0);
    });
  }

  it('kubectl get taskwebhooks shows the printer columns, -o wide the counters too', () => {
    const header = (args: string[]): string[] => kubectl(['get', '-n', ns, 'taskwebhooks', ...args]).stdout.split('\n')[0]!.trim().split(/\s+/);
    expect(header([])).to.deep.equal(['NAME', 'PROFILE', 'TASK', 'ENDPOINT_PATH', 'READY', 'AGE']);
    expect(header(['-o', 'wide'])).to.deep.equal(['NAME', 'PROFILE', 'TASK', 'ENDPOINT_PATH', 'READY', 'ACCEPTED', 'DUPLICATE', 'REJECTED', 'LAST_ERROR', 'AGE']);
    const row = kubectl(['get', '-n', ns, 'taskwebhooks', 'report-generic-webhook', '--no-headers']).stdout.trim().split(/\s+/);
    expect(row.slice(0, 3)).to.deep.equal(['report-generic-webhook', 'generic', 'weekly-report-template']);
  });

  it('answer to the short names: tw, iw, col, src, trg', () => {
    const short: Record<string, string> = { tw: 'taskwebhook', iw: 'inboundwebhook', col: 'collection', src: 'source', trg: 'trigger' };
    for (const [name, singular] of Object.entries(short)) {
      const listed = kubectl(['get', '-n', ns, name, '-o', 'name']).stdout.trim().split('\n');
      expect(listed.length, name).to.be.greaterThan(0);
      for (const l of listed) expect(l, name).to.match(new RegExp(`^${singular}\\.orloj\\.dev/`));
    }
  });

  it('write status only through /status, keeping fields the schema does not name', () => {
    const patch = JSON.stringify({ status: { phase: 'Ready', endpointPath: '/v1/webhook-deliveries/x', note: 'kept' } });
    kubectl(['patch', '-n', ns, 'tw', 'report-github-push', '--type=merge', '-p', patch]);
    expect(getJson(['get', '-n', ns, 'tw', 'report-github-push']).status).to.equal(undefined);
    kubectl(['patch', '-n', ns, 'tw', 'report-github-push', '--subresource=status', '--type=merge', '-p', patch]);
    expect(getJson(['get', '-n', ns, 'tw', 'report-github-push']).status).to.deep.equal(JSON.parse(patch).status);
  });
});
