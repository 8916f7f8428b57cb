import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStore } from '../../pkg/store/factory.js';
import { loadKeys } from '../../pkg/store/keys.js';
import { filesContaining, withBase64 } from '../helpers/files.js';
import { put, secret, templateTask } from '../helpers/fixtures.js';
import { eventually, Orlojd } from '../helpers/orlojd.js';
import { refusedStart } from '../helpers/refusal.js';

const unique = (what: string): string => `${what}-${randomBytes(12).toString('hex')}`;
const newKey = (): string => randomBytes(32).toString('base64');
const revealed = async (d: Orlojd, name: string): Promise<string> => {
  const s = (await d.api('GET', `/v1/secrets/${name}?reveal=true`)).body;
  return Buffer.from(s.spec.data.k, 'base64').toString();
};
/** A Secret at its reconciler's fixpoint: every write its apply causes has committed. */
const settled = (d: Orlojd, name: string) =>
  eventually(async () => {
    const s = (await d.api('GET', `/v1/secrets/${name}`)).body;
    return s.status?.observedGeneration === s.metadata?.generation && s;
  });
describe('store: Secret values at rest', function () {
  let d: Orlojd;
  before(async () => {
    d = await Orlojd.start();
  });
  after(async () => d.destroy());

  it('are in no file of the data dir (db, WAL, anything) after apply, update and delete, nor in events, logs or the change log', async () => {
    // The control: a Task's input is stored plain, and the scan finds it wherever it landed.
    const marker = unique('marker');
    await put(d, templateTask('plain', { note: marker }));
    const [first, second] = [unique('first'), unique('second')];
    const values = [...withBase64(first), ...withBase64(second)];
    await put(d, { ...secret('s', { k: first }), metadata: { name: 's', labels: { app: 'rest' } } });
    await settled(d, 's');
    expect(filesContaining(d.dataDir, [marker])).not.to.deep.equal([]);
    expect(filesContaining(d.dataDir, values)).to.deep.equal([]);
    await put(d, { ...secret('s', { k: second }), metadata: { name: 's', labels: { app: 'rest' } } });
    await settled(d, 's');
    expect(await revealed(d, 's')).to.equal(second);
    expect(filesContaining(d.dataDir, values)).to.deep.equal([]);
    expect((await d.api('DELETE', '/v1/secrets/s')).status).to.equal(200);
    expect(filesContaining(d.dataDir, values)).to.deep.equal([]);
    const events = (await d.api('GET', '/v1/events?kind=Secret')).text;
    for (const v of values) expect(events + d.logs).not.to.include(v);
    await d.stop();
    expect(filesContaining(d.dataDir, values)).to.deep.equal([]);
    const store = await openStore({ storage: 'sqlite', dataDir: d.dataDir, keys: loadKeys(d.dataDir).keys });
    try {
      const log = JSON.stringify(await store.control.changes(0, 1000));
      expect(log).to.include('"name":"s"');
      for (const v of values) expect(log).not.to.include(v);
    } finally {
      await store.close();
    }
    await d.restart();
  });

  it('are sealed with a key kept owner-only in the data dir, made on first start and kept across restarts', async () => {
    const path = join(d.dataDir, 'encryption.key');
    expect(statSync(path).mode & 0o777).to.equal(0o600);
    const text = readFileSync(path, 'utf8');
    expect(text.split('\n').filter((l) => l && !l.startsWith('#'))).to.have.length(1);
    await d.restart();
    expect(readFileSync(path, 'utf8')).to.equal(text);
  });

  it('are sealed again with a new first line of the key file, after which the old key can go', async () => {
    await put(d, secret('rotated', { k: 'rotate-me' }));
    await d.stop();
    const path = join(d.dataDir, 'encryption.key');
    const old = readFileSync(path, 'utf8');
    writeFileSync(path, `next:${newKey()}\n${old}`);
    await d.restart();
    expect(d.logs).to.match(/"count":1,"key":"next","msg":"sealed Secrets with the primary encryption key"/);
    await d.stop();
    writeFileSync(path, readFileSync(path, 'utf8').split('\n')[0]!);
    await d.restart();
    expect(await revealed(d, 'rotated')).to.equal('rotate-me');
  });
});

describe('store: ORLOJ_ENCRYPTION_KEY', function () {
  let d: Orlojd;
  const [a, b] = [newKey(), newKey()];
  before(async () => {
    d = await Orlojd.start({ env: { ORLOJ_ENCRYPTION_KEY: a } });
  });
  after(async () => d.destroy());

  it('rotates with new,old: every Secret is sealed again with the new key, and the old key can go', async () => {
    await put(d, secret('s1', { k: 'one' }));
    await put(d, secret('s2', { k: 'two' }));
    await d.restart({ env: { ORLOJ_ENCRYPTION_KEY: `${b},${a}` } });
    expect(d.logs).to.include('"count":2');
    const rv = (await d.api('GET', '/v1/secrets/s1')).body.metadata.resourceVersion;
    await d.restart({ env: { ORLOJ_ENCRYPTION_KEY: b } });
    expect([await revealed(d, 's1'), await revealed(d, 's2')]).to.deep.equal(['one', 'two']);
    // Nothing left to seal: a start with the same keys writes nothing.
    expect((await d.api('GET', '/v1/secrets/s1')).body.metadata.resourceVersion).to.equal(rv);
  });

  it('refuses to start without the key the data was sealed with, saying which Secret and key', async () => {
    await d.stop();
    const out = refusedStart(d.dataDir, { env: { ORLOJ_ENCRYPTION_KEY: a } });
    expect(out).to.match(/orlojd: cannot open the stored Secrets with the encryption keys from ORLOJ_ENCRYPTION_KEY: Secret default\/s[12] is sealed with encryption key "[0-9a-f]{12}", which is not in the key set/);
    expect(refusedStart(d.dataDir)).to.include('encryption.key: Secret default/s');
    expect(existsSync(join(d.dataDir, 'encryption.key')), 'a key file made for nothing').to.equal(false);
    await d.restart({ env: { ORLOJ_ENCRYPTION_KEY: b } });
  });

  it('refuses a malformed key, saying what is wrong without echoing it', async () => {
    const short = randomBytes(16).toString('base64');
    const cases: Array<[string, RegExp]> = [
      ['not base64!', /orlojd: ORLOJ_ENCRYPTION_KEY: key 1 is not base64; make one with: openssl rand -base64 32/],
      [short, /ORLOJ_ENCRYPTION_KEY: key 1 is 16 bytes, not 32/],
      [`${a},${short}`, /key 2 is 16 bytes/],
      [`bad id!:${a}`, /key 1 has an invalid id/],
      [' , ', /ORLOJ_ENCRYPTION_KEY holds no encryption key/],
    ];
    const dir = mkdtempSync(join(tmpdir(), 'orloj-keys-'));
    try {
      for (const [value, message] of cases) {
        const out = refusedStart(join(dir, 'data'), { env: { ORLOJ_ENCRYPTION_KEY: value } });
        expect(out).to.match(message);
        expect(out).not.to.include(short);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
