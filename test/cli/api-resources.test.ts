import { expect } from 'chai';
import { kinds } from '../../pkg/api/registry.js';
import { Orlojd } from '../helpers/orlojd.js';
import { ctl, deadServer } from './ctl.js';

describe('orlojctl api-resources', function () {
  this.timeout(60_000);
  let d: Orlojd;
  before(async () => {
    d = await Orlojd.start();
  });
  after(async () => d?.destroy());

  const plurals = (pick: (namespaced: boolean) => boolean = () => true): string[] =>
    kinds
      .filter((k) => pick(k.namespaced))
      .map((k) => k.plural)
      .sort((a, b) => a.localeCompare(b));

  it("prints kubectl's table of every kind, sorted, with short names", async () => {
    const r = await ctl(d, ['api-resources']);
    expect(r.code, r.stderr).to.equal(0);
    const [header, ...rows] = r.stdout.trimEnd().split('\n');
    expect(header).to.match(/^NAME +SHORTNAMES +APIVERSION +NAMESPACED +KIND$/);
    expect(rows.map((l) => l.split(/ +/)[0])).to.deep.equal(plurals());
    expect(rows).to.include.members(['namespaces         ns           orloj.dev/v1   false        Namespace', 'tasks                           orloj.dev/v1   true         Task']);
    const tw = rows.find((l) => l.startsWith('task-webhooks '));
    expect(tw?.split(/ +/)).to.deep.equal(['task-webhooks', 'tw', 'orloj.dev/v1', 'true', 'TaskWebhook']);
    expect(rows.find((l) => l.startsWith('inbound-webhooks '))?.split(/ +/)).to.deep.equal(['inbound-webhooks', 'iw', 'orloj.dev/v1', 'true', 'InboundWebhook']);
  });

  it('-o name prints the names; --namespaced=true|false filters, without calling the server', async () => {
    const offline = ['--server', await deadServer()];
    const names = await ctl(d, ['api-resources', '-o', 'name', ...offline]);
    expect(names.code, names.stderr).to.equal(0);
    expect(names.stdout).to.equal(plurals().map((p) => `${p}\n`).join(''));
    const cluster = await ctl(d, ['api-resources', '--namespaced=false', '-o', 'name', ...offline]);
    expect(cluster.stdout).to.equal('namespaces\n');
    const namespaced = await ctl(d, ['api-resources', '--namespaced=true', '-o', 'name', ...offline]);
    expect(namespaced.stdout).to.equal(plurals((n) => n).map((p) => `${p}\n`).join(''));
    expect(namespaced.stdout).not.to.contain('namespaces');
    expect((await ctl(d, ['api-resources', '--namespaced', ...offline])).stdout).not.to.match(/^namespaces /m);
  });

  it('bad output formats, values and arguments are usage errors', async () => {
    const cases: Array<[string[], string]> = [
      [['-o', 'yaml'], 'unknown output format "yaml" (use name, or none for a table)'],
      [['--namespaced=maybe'], 'invalid value "maybe" for --namespaced'],
      [['tasks'], 'api-resources takes no arguments (got "tasks")'],
    ];
    for (const [args, message] of cases) {
      const r = await ctl(d, ['api-resources', ...args]);
      expect(r.code, args.join(' ')).to.equal(2);
      expect(r.stderr, args.join(' ')).to.contain(message);
      expect(r.stdout).to.equal('');
    }
  });
});
