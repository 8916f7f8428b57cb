import { expect } from 'chai';
import { Webhook } from 'standardwebhooks';
import { resolveOptions } from '../../../pkg/receiver/profiles/index.js';
import { standardWebhooks } from '../../../pkg/receiver/profiles/standard-webhooks.js';
import { runProfileConformance, toRequest } from './conformance.js';

runProfileConformance(standardWebhooks, {
  signsBody: true,
  replayGuard: true,
  mergeSignatures: (a, b) => ({ ...b, 'webhook-signature': `${a['webhook-signature']} ${b['webhook-signature']}` }),
});

describe('standard-webhooks profile', () => {
  const opts = resolveOptions(standardWebhooks, {});
  // From the standard-webhooks reference library tests.
  const secret = Buffer.from('whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw');
  const id = 'msg_p5jXN8AQM9LWM0D4loKWxJek';
  const ts = 1614265330;
  const payload = '{"test": 2432232314}';
  const expected = 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=';
  const request = (sig: string) => toRequest({ 'webhook-id': id, 'webhook-timestamp': String(ts), 'webhook-signature': sig }, payload);

  it('matches the reference library vector', () => {
    expect(standardWebhooks.sign(Buffer.from(payload), secret, opts, ts * 1000, id)['webhook-signature']).to.equal(expected);
    expect(standardWebhooks.verify(request(expected), [secret], opts, ts * 1000)).to.include({ ok: true });
    expect(standardWebhooks.eventId(request(expected), opts)).to.equal(id);
  });

  it('accepts the same secret without the whsec_ prefix', () => {
    const bare = Buffer.from('MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw');
    expect(standardWebhooks.verify(request(expected), [bare], opts, ts * 1000).ok).to.equal(true);
  });

  // Signatures made by the reference library itself (standardwebhooks on npm), never by our signer.
  it('verifies what the reference library signs, for any id, time, payload and secret form', () => {
    const payloads = ['', '{}', payload, JSON.stringify({ type: 'invoice.paid', note: 'naïve ☃ 𝄞' }), 'x'.repeat(70_000)];
    const ids = [id, 'msg_2', 'a.b.c'];
    const times = [ts, 1_700_000_000, 2_000_000_001];
    for (const p of payloads) {
      for (const msgId of ids) {
        for (const t of times) {
          const sig = new Webhook(secret.toString()).sign(msgId, new Date(t * 1000), p);
          const req = toRequest({ 'webhook-id': msgId, 'webhook-timestamp': String(t), 'webhook-signature': sig }, p);
          expect(standardWebhooks.verify(req, [secret], opts, t * 1000), `${msgId} ${t} ${p.slice(0, 20)}`).to.include({ ok: true });
          // A bare base64 secret is the same key to the library.
          expect(new Webhook('MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw').sign(msgId, new Date(t * 1000), p)).to.equal(sig);
        }
      }
    }
    const other = new Webhook('whsec_' + Buffer.from('another key').toString('base64')).sign(id, new Date(ts * 1000), payload);
    expect(standardWebhooks.verify(request(other), [secret], opts, ts * 1000)).to.deep.equal({ ok: false, reason: 'signature mismatch' });
  });

  it('signs (for orlojctl webhook send) what the reference library verifies', () => {
    const now = Date.now();
    const headers = standardWebhooks.sign(Buffer.from(payload), secret, opts, now, id);
    expect(new Webhook(secret.toString()).verify(payload, headers)).to.deep.equal(JSON.parse(payload));
    const wrong = new Webhook('whsec_' + Buffer.from('another key').toString('base64'));
    expect(() => wrong.verify(payload, headers)).to.throw('No matching signature found');
  });

  it('ignores other versions and accepts the v1 entry among them', () => {
    const v1a = 'v1a,hnO3f9T8Ytu9HwrXslvumlUpqtNVqkhqw/enGzPCXe5BdqzCInXqYXFymVJaA7AZdpXwVLPo3mNl8EM+m7TBAg==';
    expect(standardWebhooks.verify(request(`${v1a} ${expected}`), [secret], opts, ts * 1000).ok).to.equal(true);
    expect(standardWebhooks.verify(request(v1a), [secret], opts, ts * 1000).ok).to.equal(false);
  });

  it('rejects a delivery whose webhook-id was changed (the id is signed)', () => {
    const req = toRequest({ 'webhook-id': 'msg_other', 'webhook-timestamp': String(ts), 'webhook-signature': expected }, payload);
    expect(standardWebhooks.verify(req, [secret], opts, ts * 1000)).to.deep.equal({ ok: false, reason: 'signature mismatch' });
  });

  it('uses the raw bytes of a secret that is not base64', () => {
    const raw = Buffer.from('not base64!');
    // The reference library's raw-key format signs with exactly these bytes.
    const sig = new Webhook(raw, { format: 'raw' }).sign(id, new Date(ts * 1000), payload);
    expect(standardWebhooks.verify(request(sig), [raw], opts, ts * 1000)).to.include({ ok: true });
    const headers = standardWebhooks.sign(Buffer.from(payload), raw, opts, ts * 1000, id);
    expect(headers['webhook-signature']).to.equal(sig);
  });
});
