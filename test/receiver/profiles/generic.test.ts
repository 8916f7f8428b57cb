import { expect } from 'chai';
import { hmacSha256 } from '../../../pkg/receiver/crypto.js';
import { generic } from '../../../pkg/receiver/profiles/generic.js';
import { resolveOptions } from '../../../pkg/receiver/profiles/index.js';
import { NOW, runProfileConformance, toRequest } from './conformance.js';

runProfileConformance(generic, {
  signsBody: true,
  replayGuard: true,
  mergeSignatures: (a, b) => ({ ...b, 'X-Signature': `${a['X-Signature']}, ${b['X-Signature']}` }),
});

describe('generic profile', () => {
  const key = Buffer.from('generic-secret');
  const opts = resolveOptions(generic, {});
  const body = '{"hello":"world"}';
  const request = (ts: string, sig = hmacSha256(key, ts, '.', body).toString('hex')) =>
    toRequest({ 'X-Timestamp': ts, 'X-Signature': `sha256=${sig}` }, body);

  it('accepts unix seconds, unix milliseconds and RFC 3339 timestamps, signing the exact header string', () => {
    const formats = [
      String(NOW / 1000),
      String(NOW),
      new Date(NOW).toISOString(),
      '2026-11-23T18:00:00Z',
      '2026-11-23T19:30:00.123456+01:30',
      '2026-11-23T13:00:00-05:00',
    ];
    for (const ts of formats) expect(generic.verify(request(ts), [key], opts, NOW), ts).to.deep.equal({ ok: true });
  });

  it('rejects an RFC 3339 timestamp outside the skew', () => {
    expect(generic.verify(request('2026-11-23T18:05:01Z'), [key], opts, NOW).ok).to.equal(false);
    expect(generic.verify(request('2026-11-23T17:54:59Z'), [key], opts, NOW).ok).to.equal(false);
  });

  it('accepts space-separated signatures and upper-case hex', () => {
    const ts = String(NOW / 1000);
    const good = hmacSha256(key, ts, '.', body).toString('hex');
    const req = toRequest({ 'X-Timestamp': ts, 'X-Signature': `sha256=${'0'.repeat(64)} sha256=${good.toUpperCase()}` }, body);
    expect(generic.verify(req, [key], opts, NOW).ok).to.equal(true);
  });

  it('applies spec overrides for headers, prefix and skew', () => {
    const o = resolveOptions(generic, { signatureHeader: 'X-Sig', signaturePrefix: 'v1=', timestampHeader: 'X-Ts', maxSkewSeconds: 30 });
    const headers = generic.sign(Buffer.from(body), key, o, NOW, 'e1');
    expect(headers).to.have.keys('X-Sig', 'X-Ts', 'X-Event-Id');
    expect(headers['X-Sig']).to.match(/^v1=[0-9a-f]{64}$/);
    expect(generic.verify(toRequest(headers, body), [key], o, NOW + 29_000).ok).to.equal(true);
    expect(generic.verify(toRequest(headers, body), [key], o, NOW + 31_000)).to.deep.equal({ ok: false, reason: 'timestamp outside allowed skew of 30s' });
  });
});
