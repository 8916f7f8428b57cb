import { expect } from 'chai';
import { resolveOptions } from '../../../pkg/receiver/profiles/index.js';
import { staticHeader } from '../../../pkg/receiver/profiles/static-header.js';
import { runProfileConformance, toRequest } from './conformance.js';

runProfileConformance(staticHeader, { signsBody: false, replayGuard: false });

describe('static-header profile', () => {
  const key = Buffer.from('s3cr3t-token');

  it('strips a configured prefix before comparing', () => {
    const opts = resolveOptions(staticHeader, { signatureHeader: 'Authorization', signaturePrefix: 'Bearer ' });
    expect(staticHeader.verify(toRequest({ Authorization: 'Bearer s3cr3t-token' }, ''), [key], opts, 0).ok).to.equal(true);
    const r = staticHeader.verify(toRequest({ Authorization: 's3cr3t-token' }, ''), [key], opts, 0);
    expect(r.ok).to.equal(false);
    if (!r.ok) expect(r.reason).to.not.include('s3cr3t');
  });

  it('compares non-ASCII tokens byte for byte as node delivers them (latin1-decoded)', () => {
    const opts = resolveOptions(staticHeader, {});
    const utf8Key = Buffer.from('pässwörd');
    const headers = staticHeader.sign(Buffer.alloc(0), utf8Key, opts, 0, 'e1');
    expect(staticHeader.verify(toRequest(headers, ''), [utf8Key], opts, 0).ok).to.equal(true);
  });
});
