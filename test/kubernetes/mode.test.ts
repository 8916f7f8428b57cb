// orlojd in Kubernetes mode against a real kube-apiserver: the walkthrough applied with
// kubectl, reconciled into CRD status, deliveries making run Tasks in the cluster, and the
// same objects through orlojctl.
import { expect } from 'chai';
import { join } from 'node:path';
import { ctl } from '../cli/ctl.js';
import { send } from '../helpers/deliveries.js';
import { dropNamespace, freshNamespace, installCrds, kubeCluster, kubectl, repoRoot } from '../helpers/kube.js';
import { LABEL_EVENT_ID } from '../../pkg/api/kinds/task.js';
import { CREATOR_GRACE_MS } from '../../pkg/controller/reconcilers/task.js';
import { eventually, Orlojd } from '../helpers/orlojd.js';

interface KubeObject {
  metadata: { name: string; creationTimestamp?: string; labels?: Record<string, string>; ownerReferences?: Array<{ kind: string; name: string }> };
  spec?: Record<string, unknown>;
  status?: { endpointPath?: string; phase?: string; conditions?: Array<{ type: string; status: string; reason: string; message: string }> };
}

const WEBHOOK = 'report-generic-webhook';
const EXAMPLE_SECRET = 'replace-me';

function kget<T = KubeObject>(ns: string, what: string): T {
  return JSON.parse(kubectl(['get', '-n', ns, what, '-o', 'json']).stdout) as T;
}

const ready = (o: KubeObject) => o.status?.conditions?.find((c) => c.type === 'Ready');

/** The webhook once Ready=True with an endpoint path, as the cluster has it. */
async function readyWebhook(ns: string, name = WEBHOOK): Promise<KubeObject> {
  return eventually(async () => {
    const w = kget(ns, `taskwebhooks/${name}`);
    return ready(w)?.status === 'True' && w.status?.endpointPath ? w : undefined;
  }, 20_000, 100);
}

describe('Kubernetes mode: orlojd as the controller of the CRDs', function () {
  this.timeout(120_000);
  let d: Orlojd;
  let ns: string;

  before(async () => {
    installCrds();
    ns = freshNamespace('mode');
    d = await Orlojd.start({ args: ['--storage', 'kubernetes', '--kubeconfig', kubeCluster().kubeconfig] });
  });

  after(async () => {
    await d?.destroy();
    dropNamespace(ns);
  });

  it('kubectl apply of the examples: get taskwebhooks shows ENDPOINT_PATH and READY=True; a signed delivery makes a run Task', async () => {
    kubectl(['apply', '-n', ns, '-R', '-f', join(repoRoot, 'examples', 'kubernetes')]);
    const w = await readyWebhook(ns);
    expect(w.status!.endpointPath).to.match(/^\/v1\/webhook-deliveries\/[A-Za-z0-9_-]{20,}$/);
    // The printer columns kubectl shows are the ones the reconciler filled in.
    const table = kubectl(['get', '-n', ns, 'taskwebhooks', WEBHOOK]).stdout;
    expect(table).to.match(/ENDPOINT_PATH/).and.to.match(/READY/);
    const row = table.split('\n').find((l) => l.startsWith(WEBHOOK))!;
    expect(row).to.include(w.status!.endpointPath!).and.to.match(/\bTrue\b/);

    const res = await send(d, w.status!.endpointPath!, { secret: EXAMPLE_SECRET, body: '{"report":"weekly"}', eventId: 'evt-kube-1' });
    expect(res.status).to.equal(202);
    const task = String(res.body.task);
    const made = kget(ns, `tasks/${task}`);
    expect(made.metadata.labels?.['orloj.dev/task-webhook']).to.equal(WEBHOOK);
    expect(made.metadata.ownerReferences?.[0]).to.include({ kind: 'TaskWebhook', name: WEBHOOK });
    expect(kubectl(['get', '-n', ns, 'tasks']).stdout).to.include(task);

    // The same event again is a duplicate: still one task for it.
    const again = await send(d, w.status!.endpointPath!, { secret: EXAMPLE_SECRET, body: '{"report":"weekly"}', eventId: 'evt-kube-1' });
    expect(again.status).to.equal(202);
    expect(again.body.duplicate).to.equal(true);
    const runs = kget<{ items: KubeObject[] }>(ns, 'tasks').items.filter((t) => t.metadata.labels?.['orloj.dev/webhook-event-id'] === 'evt-kube-1');
    expect(runs).to.have.length(1);
  });

  it('a missing template makes the webhook Ready=False with a reason; applying the template fixes it', async () => {
    const hook = {
      apiVersion: 'orloj.dev/v1', kind: 'TaskWebhook', metadata: { name: 'late-template' },
      spec: { task_ref: 'not-yet-there', auth: { profile: 'generic', secret_ref: 'webhook-shared-secret' } },
    };
    kubectl(['apply', '-n', ns, '-f', '-'], { input: JSON.stringify(hook) });
    const refused = await eventually(async () => {
      const c = ready(kget(ns, 'taskwebhooks/late-template'));
      return c?.status === 'False' ? c : undefined;
    }, 20_000, 100);
    expect(refused.reason).to.match(/Template|NotFound|Task/i);
    expect(refused.message).to.include('not-yet-there');

    const template = { apiVersion: 'orloj.dev/v1', kind: 'Task', metadata: { name: 'not-yet-there' }, spec: { mode: 'template', input: {} } };
    kubectl(['apply', '-n', ns, '-f', '-'], { input: JSON.stringify(template) });
    await readyWebhook(ns, 'late-template');
  });

  it('orlojctl sees what kubectl made, and kubectl what orlojctl applies', async () => {
    const listed = await ctl(d, ['get', 'task-webhooks', '-n', ns, '-o', 'name']);
    expect(listed.code).to.equal(0);
    expect(listed.stdout).to.include(`task-webhook/${WEBHOOK}`);

    const doc = ['apiVersion: orloj.dev/v1', 'kind: Task', 'metadata:', '  name: from-orlojctl', `  namespace: ${ns}`, 'spec:', '  mode: template', '  input: {topic: x}', ''].join('\n');
    const applied = await ctl(d, ['apply', '-f', '-'], { input: doc });
    expect(applied.code, applied.stderr).to.equal(0);
    const seen = kget(ns, 'tasks/from-orlojctl');
    expect(seen.spec).to.deep.include({ mode: 'template' });
  });

  it('updating the core Secret rotates the signing key', async () => {
    const w = await readyWebhook(ns);
    const rotated = 'rotated-value';
    kubectl(['patch', 'secret', '-n', ns, 'webhook-shared-secret', '--type', 'merge', '-p', JSON.stringify({ stringData: { next: rotated } })]);
    let n = 0;
    await eventually(async () => {
      const res = await send(d, w.status!.endpointPath!, { secret: rotated, body: '{}', eventId: `evt-rotate-${n++}` });
      return res.status === 202;
    }, 10_000, 50);
    // The old key is still a candidate until it is removed.
    const old = await send(d, w.status!.endpointPath!, { secret: EXAMPLE_SECRET, body: '{}', eventId: 'evt-old-key' });
    expect(old.status).to.equal(202);
    kubectl(['patch', 'secret', '-n', ns, 'webhook-shared-secret', '--type', 'json', '-p', JSON.stringify([{ op: 'remove', path: '/data/value' }])]);
    await eventually(async () => {
      const res = await send(d, w.status!.endpointPath!, { secret: EXAMPLE_SECRET, body: '{}', eventId: `evt-old-${n++}` });
      return res.status === 401;
    }, 10_000, 50);
  });

  it("a status-less Task labelled as a delivery's is left to its creator a few seconds, then gets its status", async () => {
    // Another replica's delivery writes a run Task and then its status; the leader's reconciler
    // waits for that instead of racing it. A Task that only looks like one still gets its status.
    const task = (name: string, labels: Record<string, string>) =>
      JSON.stringify({ apiVersion: 'orloj.dev/v1', kind: 'Task', metadata: { name, labels }, spec: { mode: 'run', input: {} } });
    kubectl(['apply', '-n', ns, '-f', '-'], { input: task('plain-run', {}) });
    kubectl(['apply', '-n', ns, '-f', '-'], { input: task('looks-delivered', { [LABEL_EVENT_ID]: 'evt-by-hand' }) });
    const phase = (name: string) => kget(ns, `tasks/${name}`).status?.phase;
    await eventually(async () => phase('plain-run') === 'Pending', 20_000, 100);
    const created = Date.parse(kget(ns, 'tasks/looks-delivered').metadata.creationTimestamp ?? '');
    await eventually(async () => phase('looks-delivered') === 'Pending', 30_000, 100);
    const statusAt = Date.now();
    // Within the same cluster clock: the status came no earlier than the creator's grace.
    expect(statusAt - created, 'written before the grace ran out').to.be.at.least(CREATOR_GRACE_MS - 1000);
  });
});
