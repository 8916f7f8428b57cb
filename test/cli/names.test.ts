import { expect } from 'chai';
import { Orlojd } from '../helpers/orlojd.js';
import { ctl, deadServer } from './ctl.js';

describe('orlojctl: names on the command line', function () {
  this.timeout(60_000);
  let d: Orlojd;
  let down: string;
  before(async () => {
    d = await Orlojd.start();
    down = await deadServer();
  });
  after(async () => d?.destroy());

  // Against a server nobody listens on: a refusal that names the name proves nothing was sent.
  const commands = [
    ['get', 'tw', ''],
    ['get', 'tw', 'ok', ''],
    ['get', 'tw', '', '-w'],
    ['describe', 'tw', ''],
    ['wait', 'tw', '', '--for=delete'],
    ['wait', 'tw', '', '--for=condition=Ready'],
    ['delete', 'tw', ''],
    ['webhook', 'send', '', '-d', '{}'],
    ['webhook', 'rotate-endpoint', ''],
    ['create', 'secret', 'generic', '', '--from-literal', 'k=v'],
  ];

  it('refuses an empty name as kubectl does, before anything is sent', async () => {
    for (const args of commands) {
      const r = await ctl(d, [...args, '--server', down]);
      expect(r.stderr, args.join(' ')).to.equal('error: resource name may not be empty\n');
      expect(r.code, args.join(' ')).to.equal(1);
      expect(r.stdout).to.equal('');
    }
  });

  it('refuses . and .., which the URL would resolve to another path', async () => {
    for (const name of ['.', '..']) {
      const r = await ctl(d, ['get', 'tw', name, '--server', down]);
      expect(r.stderr).to.equal(`error: resource name may not be "${name}"\n`);
      expect(r.code).to.equal(1);
    }
  });

  it('still serves ordinary names', async () => {
    const r = await ctl(d, ['get', 'tw', 'missing']);
    expect(r.code).to.equal(1);
    expect(r.stderr).to.contain('NotFound');
  });
});
