import { sign as octokitSign, verify as octokitVerify } from '@octokit/webhooks-methods';
import { expect } from 'chai';
import { github } from '../../../pkg/receiver/profiles/github.js';
import { resolveOptions } from '../../../pkg/receiver/profiles/index.js';
import { NOW, runProfileConformance, toRequest } from './conformance.js';

runProfileConformance(github, { signsBody: true, replayGuard: false });

describe('github profile', () => {
  const opts = resolveOptions(github, {});
  // https://docs.github.com/en/webhooks/using-webhooks/validating-webhook-deliveries#testing-the-webhook-payload-validation
  const key = Buffer.from("It's a Secret to Everybody");
  const expected = 'sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17';

  it('matches the GitHub docs test vector', () => {
    const headers = github.sign(Buffer.from('Hello, World!'), key, opts, NOW, 'd1');
    expect(headers['X-Hub-Signature-256']).to.equal(expected);
    const req = toRequest({ 'X-Hub-Signature-256': expected, 'X-GitHub-Delivery': 'd1', 'X-GitHub-Event': 'push' }, 'Hello, World!');
    // No timestamp is signed: the signature alone tells a replay.
    expect(github.verify(req, [key], opts, NOW)).to.deep.equal({ ok: true, signature: Buffer.from(expected.slice('sha256='.length), 'hex'), signedAt: undefined });
    expect(github.eventId(req, opts)).to.equal('d1');
    expect(github.eventType(req, opts)).to.equal('push');
  });

  // Signatures made by GitHub's own library (@octokit/webhooks-methods), never by our signer.
  it('verifies what @octokit/webhooks-methods signs', async () => {
    const bodies = ['{}', 'Hello, World!', JSON.stringify({ ref: 'refs/heads/main', note: 'naïve ☃ 𝄞' }), 'x'.repeat(70_000)];
    const secrets = ["It's a Secret to Everybody", 'ünïcødé-secret'];
    for (const body of bodies) {
      for (const s of secrets) {
        const sig = await octokitSign(s, body);
        const req = toRequest({ 'X-Hub-Signature-256': sig, 'X-GitHub-Delivery': 'd1' }, body);
        expect(github.verify(req, [Buffer.from(s)], opts, NOW), `${s} / ${body.slice(0, 20)}`).to.deep.include({ ok: true, signature: Buffer.from(sig.slice(7), 'hex') });
        expect(github.verify(req, [Buffer.from(`${s}!`)], opts, NOW)).to.deep.equal({ ok: false, reason: 'signature mismatch' });
      }
    }
    expect(await octokitSign(key.toString(), 'Hello, World!')).to.equal(expected);
  });

  it('signs (for orlojctl webhook send) what @octokit/webhooks-methods verifies', async () => {
    const body = JSON.stringify({ action: 'opened', note: 'naïve ☃' });
    const sig = github.sign(Buffer.from(body), key, opts, NOW, 'd2')['X-Hub-Signature-256']!;
    expect(await octokitVerify(key.toString(), body, sig)).to.equal(true);
    expect(await octokitVerify('another secret', body, sig)).to.equal(false);
  });

  it('rejects the legacy sha1 prefix', () => {
    const req = toRequest({ 'X-Hub-Signature-256': expected.replace('sha256=', 'sha1=') }, 'Hello, World!');
    expect(github.verify(req, [key], opts, NOW).ok).to.equal(false);
  });
});
