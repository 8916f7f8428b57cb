import { expect } from 'chai';
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
  // Known answers from outside the code under test:
  //   printf '%s.%s' "$TS" '{"hello":"world"}' | openssl dgst -sha256 -hmac generic-secret
  const vectors: Record<string, string> = {
    '1795456800': '16a778d44f8442f71ac553adfcbef9ad4e1a877bcb3e04b3ba3fcee6a9024462',
    '1795456800000': '663b1130f366d4ff5c6cfc227fdd6d00fbe0d826198fe6d55969ab710143c925',
    '2026-11-23T18:00:00.000Z': '399e4affd1d298523cc9ef563534d01b5df24bdb25bd43f3036d1173dc1e158e',
    '2026-11-23T18:00:00Z': '1818e10a7d9cda6dff4750292908e9f2ffef98eddc1408ebe9e69304a8383112',
    '2026-11-23T19:30:00.123456+01:30': 'bb6fe82b131f3937abed5da9dc2ea0ddc157419877e61fb60a2a05bbdbc709e3',
    '2026-11-23T13:00:00-05:00': '3c56da2ab0ad2ac8823e6786e5f31a26997202486f054768f125e9976acae023',
    '2026-11-23T18:05:01Z': 'f3693bb5ea470d6a1d75f5df983f8b8dea190771bf2fefe8b6059b3742dd7db5',
    '2026-11-23T17:54:59Z': '01f2a89231532256ccfd39a778357428ef9e7b4cc9fe9fd7393cab05b499ab3a',
  };
  const request = (ts: string, sig = vectors[ts]!) => toRequest({ 'X-Timestamp': ts, 'X-Signature': `sha256=${sig}` }, body);

  it('accepts unix seconds, unix milliseconds and RFC 3339 timestamps, signing the exact header string', () => {
    expect(String(NOW / 1000)).to.equal('1795456800');
    const formats = ['1795456800', '1795456800000', '2026-11-23T18:00:00.000Z', '2026-11-23T18:00:00Z', '2026-11-23T19:30:00.123456+01:30', '2026-11-23T13:00:00-05:00'];
    for (const ts of formats) {
      const r = generic.verify(request(ts), [key], opts, NOW);
      expect(r, ts).to.include({ ok: true });
      // It names the instant the timestamp signs (the replay memory orders signatures by it).
      expect(r.ok && r.signedAt, ts).to.be.within(NOW, NOW + 999);
    }
    // The signature covers the header string as sent, not the instant it names.
    expect(generic.verify(request('2026-11-23T18:00:00Z', vectors['1795456800']), [key], opts, NOW)).to.deep.equal({ ok: false, reason: 'signature mismatch' });
  });

  it('signs the known answer', () => {
    expect(generic.sign(Buffer.from(body), key, opts, NOW, 'e1')).to.deep.equal({
      'X-Event-Id': 'e1', 'X-Timestamp': '1795456800', 'X-Signature': `sha256=${vectors['1795456800']}`,
    });
  });

  it('rejects an RFC 3339 timestamp outside the skew', () => {
    expect(generic.verify(request('2026-11-23T18:05:01Z'), [key], opts, NOW)).to.deep.equal({ ok: false, reason: 'timestamp outside allowed skew of 300s' });
    expect(generic.verify(request('2026-11-23T17:54:59Z'), [key], opts, NOW)).to.deep.equal({ ok: false, reason: 'timestamp outside allowed skew of 300s' });
  });

  it('accepts space-separated signatures and upper-case hex', () => {
    const good = vectors['1795456800']!;
    const req = toRequest({ 'X-Timestamp': '1795456800', 'X-Signature': `sha256=${'0'.repeat(64)} sha256=${good.toUpperCase()}` }, body);
    expect(generic.verify(req, [key], opts, NOW).ok).to.equal(true);
  });

  it('applies spec overrides for headers, prefix and skew', () => {
    const o = resolveOptions(generic, { signatureHeader: 'X-Sig', signaturePrefix: 'v1=', timestampHeader: 'X-Ts', maxSkewSeconds: 30 });
    const headers = generic.sign(Buffer.from(body), key, o, NOW, 'e1');
    expect(headers).to.deep.equal({ 'X-Sig': `v1=${vectors['1795456800']}`, 'X-Ts': '1795456800', 'X-Event-Id': 'e1' });
    expect(generic.verify(toRequest(headers, body), [key], o, NOW + 29_000).ok).to.equal(true);
    expect(generic.verify(toRequest(headers, body), [key], o, NOW + 31_000)).to.deep.equal({ ok: false, reason: 'timestamp outside allowed skew of 30s' });
  });
});
