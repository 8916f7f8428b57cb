// examples/kubernetes/: the walkthrough's objects for kubectl, on a real kube-apiserver.
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { loadManifests } from '../../pkg/cli/manifests.js';
import { dropNamespace, freshNamespace, installCrds, kubectl, repoRoot } from '../helpers/kube.js';

const dir = join(repoRoot, 'examples', 'kubernetes');

interface Doc {
  kind: string;
  metadata: { name: string };
  spec?: Record<string, unknown>;
}

const docs = (path: string): Doc[] => parseAllDocuments(readFileSync(path, 'utf8')).map((d) => d.toJS() as Doc);

describe('examples/kubernetes/ (kubectl apply -R)', function () {
  this.timeout(120000);
  let ns: string;

  before(() => {
    installCrds();
    ns = freshNamespace('examples');
  });
  after(() => {
    dropNamespace(ns);
  });

  it('applies: a core Secret, the template Task and the TaskWebhooks', () => {
    const out = kubectl(['apply', '-R', '-f', dir, '-n', ns]).stdout;
    expect(out).to.include('secret/webhook-shared-secret created');
    expect(out).to.include('task.orloj.dev/weekly-report-template created');
    expect(out).to.include('taskwebhook.orloj.dev/report-generic-webhook created').and.include('taskwebhook.orloj.dev/report-github-push created');
    const secret = JSON.parse(kubectl(['get', '-n', ns, 'secret', 'webhook-shared-secret', '-o', 'json']).stdout) as { type: string; data: Record<string, string> };
    expect(secret.type).to.equal('Opaque');
    expect(Buffer.from(secret.data.value!, 'base64').toString()).to.equal('replace-me');
    const refs = kubectl(['get', '-n', ns, 'tw', '-o', 'jsonpath={range .items[*]}{.spec.auth.secret_ref} {.spec.task_ref}{"\\n"}{end}']).stdout.trim().split('\n');
    expect(refs).to.deep.equal(['webhook-shared-secret weekly-report-template', 'webhook-shared-secret weekly-report-template']);
  });

  it('holds the same Task and TaskWebhooks as examples/resources/ (the embedded walkthrough)', () => {
    const res = join(repoRoot, 'examples', 'resources');
    const embedded = [
      ...docs(join(res, 'tasks', 'weekly_report_template_task.yaml')),
      ...docs(join(res, 'task-webhooks', 'generic_webhook.yaml')),
      ...docs(join(res, 'task-webhooks', 'github_webhook.yaml')),
    ];
    const here = [...docs(join(dir, 'task.yaml')), ...docs(join(dir, 'task-webhooks.yaml'))];
    expect(here).to.deep.equal(embedded);
  });

  it('is passed over by orlojctl apply -f examples/ (examples/.orlojignore)', () => {
    const sources = loadManifests([join(repoRoot, 'examples')]).map((m) => m.source);
    expect(sources.filter((s) => s.startsWith(dir))).to.deep.equal([]);
    expect(sources).to.include(join(repoRoot, 'examples', 'resources', 'task-webhooks', 'generic_webhook.yaml'));
  });
});
