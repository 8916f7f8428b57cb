import { expect } from 'chai';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { kinds } from '../../pkg/api/registry.js';
import { isCrdKind, renderCrds } from '../../pkg/crd/generate.js';
import { distRoot } from '../helpers/orlojd.js';

const crdDir = join(distRoot, '..', 'crds');

describe('crds/', function () {
  it('are current: `make crds` would write exactly what is committed', () => {
    const want = renderCrds(kinds);
    const have = readdirSync(crdDir).filter((f) => f.endsWith('.yaml'));
    expect(have.sort()).to.deep.equal([...want.keys()].sort());
    for (const [file, text] of want) {
      expect(readFileSync(join(crdDir, file), 'utf8'), `${file} is stale: run make crds`).to.equal(text);
    }
  });

  it('exist for the six resource kinds only: Secret and Namespace are core kinds in a cluster', () => {
    const names = [...renderCrds(kinds).values()].map((text) => parse(text).spec.names.kind);
    expect(names.sort()).to.deep.equal(['Collection', 'InboundWebhook', 'Source', 'Task', 'TaskWebhook', 'Trigger']);
    expect(kinds.filter((k) => !isCrdKind(k)).map((k) => k.kind).sort()).to.deep.equal(['Namespace', 'Secret']);
  });

  it('keep no default the API server would refuse, and no uniqueItems', () => {
    const text = [...renderCrds(kinds).values()].join('\n');
    expect(text).not.to.include('uniqueItems');
    expect(text).not.to.match(/default: ""/);
    const tw = parse(renderCrds(kinds.filter((k) => k.kind === 'TaskWebhook')).values().next().value!);
    const auth = tw.spec.versions[0].schema.openAPIV3Schema.properties.spec.properties.auth;
    expect(auth.required).to.deep.equal(['secret_ref']);
    expect(auth).not.to.have.property('default');
  });

  it('are structural CRDs with a status subresource and the printer columns of the CLI', () => {
    for (const def of kinds.filter(isCrdKind)) {
      const crd = parse(renderCrds([def]).values().next().value!);
      expect(crd.kind).to.equal('CustomResourceDefinition');
      expect(crd.spec.names.kind).to.equal(def.kind);
      expect(crd.spec.scope).to.equal(def.namespaced ? 'Namespaced' : 'Cluster');
      const v = crd.spec.versions[0];
      expect(v.subresources).to.deep.equal({ status: {} });
      expect(v.additionalPrinterColumns.map((c: { name: string }) => c.name)).to.include.members(def.columns.map((c) => c.name));
      expect(JSON.stringify(v.schema)).not.to.include('"additionalProperties":true');
    }
  });
});
