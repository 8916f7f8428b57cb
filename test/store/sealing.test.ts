import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { parseKeySet } from '../../pkg/store/keys.js';
import { BodyCodec, fingerprint, KeySet, seal, sealedWith, unseal } from '../../pkg/store/sealing.js';

const key = (id: string) => ({ id, key: randomBytes(32) });

describe('store: sealing', () => {
  const [k1, k2] = [key('k1'), key('k2')];
  const keys = new KeySet([k2, k1]);

  it('seals with the first key (version, key id, IV, tag), opens with any key of the set', () => {
    const sealed = seal(keys, '{"data":{"k":"djE="}}', 'Secret default/s');
    expect(sealed).to.match(/^orloj:enc:v1:k2:[A-Za-z0-9+/]+=*$/);
    expect(sealed).not.to.include('djE=');
    expect(Buffer.from(sealed.split(':').pop()!, 'base64').length).to.equal(12 + 16 + 21);
    expect(seal(keys, 'same', 'c')).not.to.equal(seal(keys, 'same', 'c'));
    const byOld = seal(new KeySet([k1]), 'old', 'Secret default/s');
    expect(sealedWith(byOld)).to.equal('k1');
    expect(unseal(keys, byOld, 'Secret default/s')).to.equal('old');
  });

  it('opens a value only for the object it was sealed for, and not once altered', () => {
    const sealed = seal(keys, 'v', 'Secret default/a');
    expect(() => unseal(keys, sealed, 'Secret default/b')).to.throw('encryption key "k2" does not open Secret default/b');
    const flipped = Buffer.from(sealed.split(':').pop()!, 'base64');
    flipped[flipped.length - 1]! ^= 1;
    expect(() => unseal(keys, `orloj:enc:v1:k2:${flipped.toString('base64')}`, 'Secret default/a')).to.throw('does not open');
    expect(() => unseal(new KeySet([k1]), sealed, 'Secret default/a')).to.throw('Secret default/a is sealed with encryption key "k2", which is not in the key set');
  });

  it('stores only sensitive kinds sealed, reads plain bodies of older data dirs, and knows which are stale', () => {
    const codec = new BodyCodec(keys, ['Secret']);
    const stored = codec.encode('Secret', 'default', 's', { data: { k: 'djE=' } });
    expect(codec.decode('Secret', 'default', 's', stored)).to.deep.equal({ data: { k: 'djE=' } });
    expect(codec.encode('Task', 'default', 't', { mode: 'run' })).to.equal('{"mode":"run"}');
    expect(codec.decode('Secret', 'default', 'old', '{"data":{}}')).to.deep.equal({ data: {} });
    expect(codec.isStale('Secret', stored)).to.equal(false);
    expect(codec.isStale('Secret', '{"data":{}}')).to.equal(true);
    expect(codec.isStale('Secret', new BodyCodec(new KeySet([k1]), ['Secret']).encode('Secret', 'default', 's', {}))).to.equal(true);
    expect(codec.isStale('Task', '{}')).to.equal(false);
  });

  it('parses key sets: [id:]base64, by commas or lines, comments; ids default to a fingerprint', () => {
    const [a, b] = [randomBytes(32), randomBytes(32)];
    const set = parseKeySet(`# keys\nnew:${a.toString('base64')}  # since May\n${b.toString('base64')}\n`, 'file');
    expect(set.keys.map((k) => k.id)).to.deep.equal(['new', fingerprint(b)]);
    expect(parseKeySet(`${b.toString('base64')},new:${a.toString('base64')}`, 'env').primary.id).to.equal(fingerprint(b));
    expect(() => parseKeySet(`x:${a.toString('base64')},x:${b.toString('base64')}`, 'env')).to.throw('two encryption keys have the same id');
  });
});
