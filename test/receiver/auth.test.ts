import { expect } from 'chai';
import { bearer, pathToken, refuseAll, signature, staticHeader } from '../../pkg/receiver/auth.js';
import { getProfile, resolveOptions } from '../../pkg/receiver/profiles/index.js';
import { toRequest } from './profiles/conformance.js';

const KEY = Buffer.from('k-1');
const OTHER = Buffer.from('k-2');
const NOW = Date.UTC(2026, 11, 1);

describe('authenticators', () => {
  it('a static header must carry one of the keys, after its prefix', () => {
    const a = staticHeader('X-Account-Key', [OTHER, KEY]);
    expect(a.verify(toRequest({ 'X-Account-Key': 'k-1' }, ''), NOW)).to.deep.equal({ ok: true });
    expect(a.verify(toRequest({ 'X-Account-Key': 'k-3' }, ''), NOW)).to.deep.equal({ ok: false, reason: 'X-Account-Key mismatch' });
    expect(a.verify(toRequest({}, ''), NOW)).to.deep.equal({ ok: false, reason: 'missing header X-Account-Key' });
    expect(a.verify(toRequest({ 'X-Account-Key': '' }, ''), NOW).ok).to.equal(false);
  });

  it('a bearer key is the Authorization header after "Bearer "', () => {
    const a = bearer([KEY]);
    expect(a.verify(toRequest({ Authorization: 'Bearer k-1' }, ''), NOW).ok).to.equal(true);
    expect(a.verify(toRequest({ Authorization: 'k-1' }, ''), NOW).ok).to.equal(false);
    expect(a.verify(toRequest({ Authorization: 'Bearer ' }, ''), NOW).ok).to.equal(false);
  });

  it('a signature profile checks every key; a path token needs nothing more; refuseAll never passes', () => {
    const generic = getProfile('generic')!;
    const opts = resolveOptions(generic, {});
    const body = '{"a":1}';
    const req = toRequest(generic.sign(Buffer.from(body), KEY, opts, NOW, 'e-1'), body);
    expect(signature(generic, [OTHER, KEY], opts).verify(req, NOW).ok).to.equal(true);
    expect(signature(generic, [OTHER], opts).verify(req, NOW).ok).to.equal(false);
    expect(pathToken().verify(toRequest({}, ''), NOW).ok).to.equal(true);
    expect(refuseAll('no secret').verify(req, NOW)).to.deep.equal({ ok: false, reason: 'no secret' });
  });

  it('never names a key in a failure reason', () => {
    const reasons = [
      staticHeader('X-Key', [KEY]).verify(toRequest({ 'X-Key': 'k-9' }, ''), NOW),
      bearer([KEY]).verify(toRequest({ Authorization: 'Bearer k-9' }, ''), NOW),
    ].map((r) => (r.ok ? '' : r.reason));
    for (const r of reasons) expect(r).not.to.include('k-1').and.not.to.include('k-9');
  });
});
